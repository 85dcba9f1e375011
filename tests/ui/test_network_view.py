"""The network diagram: its nodes per architecture, edge buckets, clicks, hover and selection."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.core.network import NetworkSpec, split_params
from app.ui.network_view import MAX_EDGES, WIDTH_BUCKETS, QtNetworkView


@pytest.fixture(name="view")
def network_view(qtbot):
    widget = QtNetworkView()
    qtbot.addWidget(widget)
    widget.resize(500, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def random_params(spec: NetworkSpec, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=spec.n_params)


def node_index(view: QtNetworkView, column: int, row: int) -> int:
    return int(np.flatnonzero((view.node_column == column) & (view.node_row == row))[0])


def pixel_of(view: QtNetworkView, x: float, y: float) -> QPoint:
    """Viewport pixel of the view point (x, y)."""
    return view.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y)))


def segments(view: QtNetworkView, positive: bool, bucket: int) -> np.ndarray:
    """The edges drawn by one bucket as rows (x0, y0, x1, y1)."""
    xs, ys = view.edge_curves[(positive, bucket)].getData()
    if xs is None or len(xs) == 0:
        return np.empty((0, 4))
    return np.column_stack([xs[0::2], ys[0::2], xs[1::2], ys[1::2]])


@pytest.mark.parametrize("widths", [(1,), (4, 4), (3, 5, 2), (64,) * 8])
def test_one_node_per_neuron_and_one_edge_per_weight(view, widths):
    spec = NetworkSpec(widths)
    view.show_network(spec, random_params(spec))
    assert len(view.nodes.data) == 2 + sum(widths) + 1
    sizes = spec.layer_sizes
    n_edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    drawn = sum(len(segments(view, p, b)) for p in (True, False) for b in range(WIDTH_BUCKETS))
    assert drawn == min(n_edges, MAX_EDGES)
    assert ("strongest" in view.plotItem.titleLabel.text) == (n_edges > MAX_EDGES)


def test_a_big_network_shows_its_strongest_weights(view):
    spec = NetworkSpec((64,) * 8)
    params = random_params(spec) * 1e-3
    view.show_network(spec, params)
    strong = np.random.default_rng(1).choice(view.weight_index, MAX_EDGES, replace=False)
    params[strong] = np.where(np.arange(MAX_EDGES) % 2, 1.0, -1.0)
    view.show_network(spec, params)
    top = WIDTH_BUCKETS - 1
    assert len(segments(view, True, top)) + len(segments(view, False, top)) == MAX_EDGES


def test_changing_architecture_rebuilds_nodes_and_labels(view):
    for widths in [(4, 4), (3, 5, 2), (1,), (4, 4)]:
        spec = NetworkSpec(widths)
        view.show_network(spec, random_params(spec))
        assert len(view.nodes.data) == 2 + sum(widths) + 1
        texts = sorted(label.toPlainText() for label in view.labels)
        assert texts == sorted(["x", "y", "out", *(f"L{k + 1}" for k in range(len(widths)))])


def test_edges_are_bucketed_by_sign_and_relative_size(view):
    spec = NetworkSpec((2,))
    w_hidden = [[0.5, -3.0], [0.1, 1.0]]  # (out, in): the strongest weight goes from input y to neuron 1
    params = np.array([*np.ravel(w_hidden), 0.2, -0.4, 2.0, -0.05, 0.0])
    view.show_network(spec, params)
    y_input, first_neuron = view.node_xy[1], view.node_xy[node_index(view, 1, 0)]
    strongest = segments(view, False, WIDTH_BUCKETS - 1)
    np.testing.assert_allclose(strongest, [[*y_input, *first_neuron]])
    assert len(segments(view, True, WIDTH_BUCKETS - 1)) == 0
    output = view.node_xy[-1]
    assert [*first_neuron, *output] in segments(view, True, 4).tolist()  # 2.0 / 3.0 -> bucket 4 of 6
    assert len(segments(view, False, 0)) == 1  # -0.05
    widths = [view.edge_curves[(False, b)].opts["pen"].widthF() for b in range(WIDTH_BUCKETS)]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_click_on_hidden_neuron_emits_its_layer_and_index(qtbot, view):
    spec = NetworkSpec((3, 5, 2))
    view.show_network(spec, random_params(spec))
    for layer, neuron in [(0, 0), (1, 3), (2, 1)]:
        x, y = view.node_xy[node_index(view, layer + 1, neuron)]
        with qtbot.waitSignal(view.neuronClicked, timeout=1000) as blocker:
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pixel_of(view, x, y))
        assert blocker.args == [layer, neuron]


def test_clicks_on_empty_space_inputs_or_output_emit_nothing(qtbot, view):
    spec = NetworkSpec((4, 4))
    view.show_network(spec, random_params(spec))
    clicked = []
    view.neuronClicked.connect(lambda layer, neuron: clicked.append((layer, neuron)))
    empty = (0.5, 0.45)
    for x, y in [empty, view.node_xy[0], view.node_xy[1], view.node_xy[-1]]:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pixel_of(view, x, y))
    assert clicked == []


def test_hover_names_neuron_with_its_bias(view):
    spec = NetworkSpec((4, 4))
    params = random_params(spec)
    view.show_network(spec, params)
    x, y = view.node_xy[node_index(view, 2, 3)]
    view.scene().sigMouseMoved.emit(view.view_box.mapViewToScene(QPointF(x, y)))
    bias = split_params(spec, params)[1][1][3]
    assert view.hover_text == f"L2 N4: bias {bias:.3g}"
    view.scene().sigMouseMoved.emit(view.view_box.mapViewToScene(QPointF(0.5, 0.45)))
    assert view.hover_text == ""


def test_selection_enlarges_and_outlines_one_neuron_and_fades_the_others(view):
    spec = NetworkSpec((4, 4))
    view.show_network(spec, random_params(spec))
    chosen, other = node_index(view, 1, 2), node_index(view, 2, 0)
    before = view.nodes.data["size"].copy()
    view.set_selected(0, 2)
    data = view.nodes.data
    assert data["size"][chosen] > before[chosen] and data["size"][other] == before[other]
    assert data["pen"][chosen].widthF() > data["pen"][other].widthF()
    assert data["brush"][other].color().alpha() < data["brush"][chosen].color().alpha() == 255
    view.set_selected(None, None)
    np.testing.assert_array_equal(view.nodes.data["size"], before)
    assert view.nodes.data["brush"][other].color().alpha() == 255


def test_selection_survives_epochs_and_is_dropped_when_the_neuron_disappears(view):
    spec = NetworkSpec((4, 4))
    view.show_network(spec, random_params(spec))
    view.set_selected(1, 3)
    view.show_network(spec, random_params(spec, seed=1))
    assert view.selected == (1, 3)
    view.show_network(NetworkSpec((4,)), random_params(NetworkSpec((4,))))
    assert view.selected is None


def test_largest_network_renders_with_few_graphics_items(view):
    spec = NetworkSpec((64,) * 8)
    view.show_network(spec, random_params(spec))
    assert not view.grab().isNull()
    assert len(view.view_box.addedItems) < 30


@pytest.mark.parametrize("widths", [(4, 4), (12, 12, 12, 12)])
def test_every_node_fits_in_a_narrow_dock(qtbot, view, widths):
    """A title wider than the dock once widened the plot beyond it, cutting off the output node."""
    view.resize(260, 240)
    spec = NetworkSpec(widths)
    view.show_network(spec, random_params(spec))
    qtbot.wait(10)
    radius = view.nodes.data["size"] / 2
    left, right = (
        pixel_of(view, view.node_xy[:, 0].min(), 0).x(),
        pixel_of(view, view.node_xy[:, 0].max(), 0).x(),
    )
    assert left - radius.max() >= 0 and right + radius.max() <= view.viewport().width()


def test_a_smaller_network_after_one_with_a_deep_neuron_off(view):
    """The old network's switched-off neurons are not looked up in the new one (the soak met an IndexError:
    a neuron of hidden layer 4 off, then a network of one hidden layer lit by set_active)."""
    from app.core.network import split_params

    deep = NetworkSpec((3, 3, 3, 3), "tanh")
    params = random_params(deep)
    layers = split_params(deep, params)
    layers[4][0][:, 1] = 0.0  # hidden layer 4's neuron 2 reaches nothing
    flat = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in layers])
    view.show_network(deep, flat)
    assert view.switched_off == {(3, 1)}
    small = NetworkSpec((2,), "tanh")
    view.show_network(small, random_params(small))
    view.set_active(np.array([True, False]))
    assert view.switched_off == frozenset()
    assert len(view.nodes.data) == sum(small.layer_sizes)
