"""The influence panel and neuron selection, driven through the main window."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.core.influence import influence
from app.ui.influence_maps import MAX_DOT, MIN_DOT, SIZE_STEPS, TITLE_PIXELS


@pytest.fixture
def window(shown_window):
    w = shown_window(80)
    w.frames.render_frame()
    return w


def dot_sizes(panel, j):
    drawn = np.concatenate([dots.data["size"] for dots in panel.map_items[j]["dots"]])
    assert sorted(drawn) == sorted(panel.sizes[:, j])
    return panel.sizes[:, j]


def test_one_plot_per_neuron_with_dot_area_proportional_to_influence(window):
    panel = window.influence_panel
    assert len(panel.plots) == 4
    expected = influence(
        window.model.spec,
        window.model.history.params_at(80),
        window.model.samples.points,
        window.model.samples.labels,
    )
    np.testing.assert_allclose(panel.values, expected[0])
    for j in range(4):
        sizes = dot_sizes(panel, j)
        column = expected[0][:, j]
        assert sizes[np.argmax(column)] == pytest.approx(MAX_DOT)
        # diameter grows with the square root of influence (area proportional), in SIZE_STEPS steps
        expected_diameter = MIN_DOT + (MAX_DOT - MIN_DOT) * np.sqrt(column / column.max())
        np.testing.assert_allclose(sizes, expected_diameter, atol=(MAX_DOT - MIN_DOT) / SIZE_STEPS / 2 + 1e-9)


def test_panel_follows_the_displayed_epoch(window):
    panel = window.influence_panel
    window.model.scrub_to(5)
    window.frames.render_frame()
    early = panel.values.copy()
    expected = influence(
        window.model.spec,
        window.model.history.params_at(5),
        window.model.samples.points,
        window.model.samples.labels,
    )
    np.testing.assert_allclose(early, expected[0])
    window.model.scrub_to(70)
    window.frames.render_frame()
    assert not np.allclose(early, panel.values)


def test_options_layer_accumulated_bias_and_scale(window):
    panel = window.influence_panel
    points, labels = window.model.samples.points, window.model.samples.labels
    panel.layer_box.setCurrentIndex(1)
    np.testing.assert_allclose(
        panel.values, influence(window.model.spec, window.model.history.params_at(80), points, labels)[1]
    )
    panel.bias_box.setChecked(False)
    no_bias = influence(
        window.model.spec, window.model.history.params_at(80), points, labels, include_bias=False
    )[1]
    np.testing.assert_allclose(panel.values, no_bias)
    panel.bias_box.setChecked(True)
    panel.layer_box.setCurrentIndex(0)
    window.model.scrub_to(30)
    window.frames.render_frame()
    panel.mode_box.setCurrentIndex(1)
    squares = sum(
        influence(window.model.spec, window.model.history.params_at(e), points, labels)[0] ** 2
        for e in range(31)
    )
    np.testing.assert_allclose(panel.values, np.sqrt(squares), rtol=1e-9)
    panel.mode_box.setCurrentIndex(0)
    panel.scale_box.setChecked(False)  # one scale for the layer: only the global maximum gets the biggest dot
    biggest = [dot_sizes(panel, j).max() for j in range(4)]
    top = int(np.argmax(panel.values.max(axis=0)))
    assert biggest[top] == pytest.approx(MAX_DOT)
    assert sum(b == pytest.approx(MAX_DOT) for b in biggest) == 1


def test_clicking_a_small_plot_selects_the_neuron_everywhere(qtbot, window):
    panel = window.influence_panel
    box = panel.plots[2]
    centre = box.mapViewToScene(box.viewRect().center())
    qtbot.mouseClick(panel.plots_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.plots_widget.mapFromScene(centre))  # fmt: skip
    assert window.model.selected == (0, 2)
    assert window.canvas.selected == (0, 2) and panel.selected == (0, 2)
    window.canvas.refresh()
    widths = [line.opts["pen"].widthF() for line in window.canvas.neuron_lines]
    assert widths[2] > max(widths[:2] + widths[3:])
    assert window.canvas.neuron_lines[0].opts["pen"].color().alpha() < 255
    window.model.toggle_neuron(0, 2)  # clicking it again clears
    assert window.model.selected is None and window.canvas.selected is None


def test_hovering_a_sample_describes_its_influence_on_every_neuron(window):
    panel = window.influence_panel
    i = int(np.argmax(panel.values[:, 1]))
    box = panel.plots[1]
    scene = box.mapViewToScene(QPointF(*window.model.samples.points[i]))
    assert panel.sample_near(1, scene) == i
    text = panel.describe_sample(i)
    for j in range(4):
        assert f"N{j + 1} " in text
    assert f"{panel.values[i, 1]:.3g}" in text


def test_held_out_samples_are_not_in_the_influence_maps(qtbot, window):
    window.controls.test_fraction_box.setValue(0.25)
    window.frames.render_frame()
    training_part = window.model.samples.split(0.25, window.model.config.seed)[0]
    assert window.influence_panel.values.shape == (training_part.n, 4)


def test_a_large_sample_set_draws_only_the_most_influential_dots(qtbot):
    """Found by the soak run: 50,000 per-point sizes took pyqtgraph a second per map and froze the window."""
    from app.core.dataset import SampleSet
    from app.core.geometry import Rect
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec
    from app.core.torch_model import init_params
    from app.ui.influence_panel import MAX_DOTS, QtInfluencePanel

    rng = np.random.default_rng(0)
    samples = SampleSet(rng.normal(size=(3 * MAX_DOTS, 2)), rng.integers(0, 2, 3 * MAX_DOTS))
    spec = NetworkSpec((2,))
    panel = QtInfluencePanel()
    qtbot.addWidget(panel)
    panel.show()
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
    panel.show_state(spec, history, 0, samples, Rect(-4, 4, -4, 4))
    assert panel.refresh()
    for j, items in enumerate(panel.map_items):
        drawn = np.concatenate([dots.data["size"] for dots in items["dots"]])
        assert len(drawn) == MAX_DOTS
        assert drawn.min() >= np.sort(panel.sizes[:, j])[-MAX_DOTS] - 1e-9  # the largest ones
    assert "most influential" in panel.status_label.text() and panel.status_label.isVisible()


def test_a_wide_layer_redraws_a_few_maps_per_streaming_frame_and_all_when_sharp(qtbot, monkeypatch):
    """Found by the soak run: 64 maps redrawn at every frame held the window for over half a second."""
    import app.ui.influence_panel as module
    from app.core.dataset import make_preset
    from app.core.geometry import Rect
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec
    from app.core.torch_model import init_params

    spec = NetworkSpec((20,))
    panel = module.QtInfluencePanel()
    qtbot.addWidget(panel)
    panel.show()
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
    samples = make_preset("xor")
    panel.show_state(spec, history, 0, samples, Rect(-3, 3, -3, 3))
    drawn = []
    real = module.QtInfluencePanel._draw  # noqa: SLF001 - records which maps a frame draws
    monkeypatch.setattr(module.QtInfluencePanel, "_draw",
                        lambda self, *args: (drawn.append(list(args[-1])), real(self, *args)))  # fmt: skip
    monkeypatch.setattr(module, "PREVIEW_INTERVAL_S", 0.0)
    assert panel.refresh(preview=True) and panel.refresh(preview=True) and panel.refresh(preview=True)
    assert [len(maps) for maps in drawn] == [module.MAPS_PER_PREVIEW] * 3
    assert sorted(set(sum(drawn, []))) == list(range(20))  # in turn, every map is reached
    assert panel.refresh(preview=False) and list(drawn[-1]) == list(range(20))


def test_each_maps_name_sits_just_above_its_picture(window):
    panel = window.influence_panel
    for box, items in zip(panel.plots, panel.map_items, strict=True):
        rect = items["rect"]
        (_, _), (ymin, ytop) = box.viewRange()
        title = items["title_item"]
        assert "L1 N" in title.toPlainText()
        # the name's band is right above the picture, inside the view, about TITLE_PIXELS high
        top = title.pos().y()
        assert rect.ymax < top <= ytop + 1e-9
        assert (top - rect.ymax) / box.viewPixelSize()[1] == pytest.approx(TITLE_PIXELS, rel=0.15)


def test_while_training_the_window_redraws_a_wide_layer_in_turn_even_in_sharp_frames(
    shown_window, monkeypatch
):
    """An 8x64 network's 64 maps at once held the window ~0.1 s at every frame without a new epoch."""
    import app.ui.influence_panel as module
    from app.core.network import NetworkSpec

    window = shown_window(0, spec=NetworkSpec((20,)))
    window.frames.stop()
    monkeypatch.setattr(module, "PREVIEW_INTERVAL_S", 0.0)
    drawn = []
    real = module.QtInfluencePanel._draw  # noqa: SLF001 - records which maps a frame draws
    monkeypatch.setattr(module.QtInfluencePanel, "_draw",
                        lambda self, *args: (drawn.append(list(args[-1])), real(self, *args)))  # fmt: skip

    def display_tick():
        window.frames.show_influence()  # something new to show
        window.frames.next_frame_at = 0.0
        window.frames.tick()
        return drawn[-1]

    window.frames.render_frame()
    assert not window.canvas.dirty  # nothing changes on the canvas: the display tick draws a sharp frame
    window.frames.training = True  # as while training
    assert len(display_tick()) == module.MAPS_PER_PREVIEW
    window.frames.training = False
    assert display_tick() == list(range(20))  # once training stops, the sharp frame draws every map
