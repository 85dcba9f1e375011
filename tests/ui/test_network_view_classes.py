"""The network diagram's outputs for more than two classes (issue 23): one node per class in the class's
colour, named beside it, the column headed "out"; two classes keep their one grey "out" node."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from app.core.network import MAX_CLASSES, NetworkSpec
from app.ui.class_colours import CLASS_PALETTE
from app.ui.network_view import NAME_CHARS, OUTPUT_RGB, QtNetworkView
from tests.ui.test_network_view import network_view, random_params  # noqa: F401 - the view fixture


def node_rgbs(view: QtNetworkView, nodes: np.ndarray) -> list[tuple[int, int, int]]:
    colours = [view.nodes.data["brush"][k].color() for k in nodes]
    return [(c.red(), c.green(), c.blue()) for c in colours]


def outputs(view: QtNetworkView) -> np.ndarray:
    return np.flatnonzero(view.node_column == view.node_column.max())


def pixel_box(view: QtNetworkView, item):
    """An item's rectangle in the view's viewport pixels."""
    return view.mapFromScene(item.sceneBoundingRect()).boundingRect()


def hover(view: QtNetworkView, x: float, y: float) -> str:
    view.scene().sigMouseMoved.emit(view.view_box.mapViewToScene(QPointF(x, y)))
    return view.hover_text


def test_three_classes_have_an_output_node_each_in_its_colour_and_named_beside_it(view):
    spec = NetworkSpec((4, 4), classes=3)
    params = random_params(spec)
    view.set_class_names(("red", "blue", "class 3"))
    view.show_network(spec, params)
    last = outputs(view)
    assert len(last) == 3 and node_rgbs(view, last) == list(CLASS_PALETTE[:3])
    assert [label.toPlainText() for label in view.name_labels] == ["red", "blue", "class 3"]
    texts = sorted(label.toPlainText() for label in view.labels)
    assert texts == sorted(["x", "y", "L1", "L2", "out", "red", "blue", "class 3"])
    assert view.out_label is None  # "out" heads the column instead of sitting inside a node
    viewport = view.viewport().rect()
    for k, label in zip(last, view.name_labels, strict=True):
        box = pixel_box(view, label)
        node = view.mapFromScene(view.view_box.mapViewToScene(QPointF(*view.node_xy[k])))
        radius = view.nodes.data["size"][k] / 2
        assert viewport.contains(box) and box.left() >= node.x() + radius  # right of its node, in view
        assert abs(box.center().y() - node.y()) <= 2  # level with it
    bias = params[-3:]  # the output layer's biases are the last parameters
    x, y = view.node_xy[last[2]]
    assert hover(view, x, y) == f"Output 3, class 3: bias {bias[2]:.3g}"


def test_names_follow_the_samples_and_long_ones_are_cut_short(view):
    spec = NetworkSpec((3,), classes=4)
    view.show_network(spec, random_params(spec))  # no names yet: the default ones
    assert [label.toPlainText() for label in view.name_labels] == ["red", "blue", "class 3", "class 4"]
    labels = list(view.name_labels)
    long_name = "Iris versicolor"
    view.set_class_names(("setosa", "virginica", long_name, "other"))
    assert view.name_labels == labels  # the same items, new texts
    shown = [label.toPlainText() for label in view.name_labels]
    assert shown[:2] == ["setosa", "virginica"] and shown[2] == long_name[: NAME_CHARS - 1] + "…"
    x, y = view.node_xy[outputs(view)[2]]
    assert long_name in hover(view, x, y)
    viewport = view.viewport().rect()
    assert all(viewport.contains(pixel_box(view, label)) for label in view.name_labels)


def test_two_classes_keep_one_grey_output_named_out_inside_it(view):
    spec = NetworkSpec((4, 4))
    view.set_class_names(("red", "blue"))
    view.show_network(spec, random_params(spec))
    last = outputs(view)
    assert len(last) == 1 and node_rgbs(view, last) == [OUTPUT_RGB]
    assert view.name_labels == [] and view.out_label.toPlainText() == "out"
    assert view.out_label.pos() == QPointF(*view.node_xy[last[0]])  # inside its node
    assert hover(view, *view.node_xy[last[0]]) == ""  # as before: the one output has no tooltip


def test_the_class_count_changing_rebuilds_the_outputs(view):
    for classes in (3, 2, MAX_CLASSES, 2):
        spec = NetworkSpec((4, 4), classes=classes)
        view.show_network(spec, random_params(spec))
        assert len(outputs(view)) == (1 if classes == 2 else classes)
        assert len(view.name_labels) == (0 if classes == 2 else classes)
        assert sorted(label.toPlainText() for label in view.labels).count("out") == 1


@pytest.mark.parametrize("classes", [3, MAX_CLASSES])
@pytest.mark.parametrize("size", [(250, 150), (266, 270), (500, 360)])
def test_named_outputs_read_well_at_any_size(qtbot, view, classes, size):
    """Every label inside the plot and clear of the legend above it, the names of neighbour outputs clear
    of each other (but for eight in the smallest dock: 15 pixels each, their lines touch), every node inside
    the view."""
    view.resize(*size)
    spec = NetworkSpec((12, 12), classes=classes)
    view.show_network(spec, random_params(spec))
    qtbot.wait(10)
    legend = view.plotItem.titleLabel.sceneBoundingRect()
    plot = view.view_box.sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
    for label in view.labels:
        rect = label.sceneBoundingRect()
        assert plot.contains(rect) and not rect.intersects(legend), label.toPlainText()
    glyphs = [label.sceneBoundingRect().adjusted(0, 4, 0, -4) for label in view.name_labels]  # 4 px padding
    if classes == 3 or size[1] > 150:
        assert all(a.bottom() <= b.top() for a, b in zip(glyphs, glyphs[1:], strict=False))
    radius = view.nodes.data["size"] / 2
    for (x, y), r in zip(view.node_xy, radius, strict=True):
        centre = view.view_box.mapViewToScene(QPointF(x, y))
        assert plot.contains(centre.x() - r, centre.y()) and plot.contains(centre.x() + r, centre.y())
    view.grab().save(f"/tmp/network_view_classes_{classes}_{size[0]}x{size[1]}.png")
