"""Scrubbing through training: the timeline, keys, Play, Live, the loss plot cursor, deeper-layer curves."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.core.fields import layer_field
from app.core.network import NetworkSpec, split_params
from app.ui.main_window import MainWindow

EPOCHS = 120


@pytest.fixture
def trained(shown_window):
    return shown_window(EPOCHS)


def handle_centre(slider) -> QPoint:
    return slider.handle_rect().center()  # where the handle is drawn, on the slider's epoch scale


def drawn_line_ends(window, j):
    xs, ys = window.canvas.neuron_lines[j].getData()
    return np.column_stack([xs[:2], ys[:2]])


def assert_lines_match_epoch(window, epoch):
    window.canvas.refresh()
    w, b = split_params(window.model.spec, window.model.history.params_at(epoch))[0]
    scale = max(1.0, window.canvas.view_rect().width)
    for j in range(len(b)):
        ends = drawn_line_ends(window, j)
        np.testing.assert_allclose(ends @ w[j] + b[j], 0.0, atol=1e-6 * scale)


def test_dragging_the_handle_scrubs_and_redraws_that_epoch(qtbot, trained):
    slider = trained.timeline.slider
    assert trained.model.live and slider.value() == EPOCHS
    start = handle_centre(slider)
    target = QPoint(slider.width() // 3, start.y())
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for x in np.linspace(start.x(), target.x(), 8).astype(int):
        qtbot.mouseMove(slider, QPoint(int(x), start.y()))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=target)
    epoch = trained.model.displayed_epoch
    assert 0 < epoch < EPOCHS * 0.6
    assert not trained.model.live and not trained.timeline.live_button.isChecked()
    assert trained.timeline.epoch_box.value() == epoch
    assert trained.epoch_label.text().startswith(f"Epoch {epoch} ")
    assert_lines_match_epoch(trained, epoch)
    qtbot.waitUntil(lambda: trained.loss_plot.cursor_epoch == epoch, timeout=2000)  # follows within a tick


def test_keys_step_page_and_jump(qtbot, trained):
    trained.model.scrub_to(50)
    trained.activateWindow()
    trained.canvas.setFocus()
    for key, expected in ((Qt.Key.Key_Right, 51), (Qt.Key.Key_Left, 50), (Qt.Key.Key_PageDown, 60),
                          (Qt.Key.Key_PageUp, 50), (Qt.Key.Key_Home, 0)):  # fmt: skip
        qtbot.keyClick(trained.canvas, key)
        assert trained.model.displayed_epoch == expected, key
        assert_lines_match_epoch(trained, expected)
    qtbot.keyClick(trained.canvas, Qt.Key.Key_End)
    assert trained.model.live and trained.model.displayed_epoch == EPOCHS


def test_typed_epoch_and_loss_plot_click_jump(qtbot, trained):
    box = trained.timeline.epoch_box
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "33")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert trained.model.displayed_epoch == 33 and trained.timeline.slider.value() == 33
    plot = trained.loss_plot.accuracy_plot.getViewBox()
    scene_point = plot.mapViewToScene(QPointF(trained.loss_plot.x_of(90), 0.5))  # x on the epoch scale
    qtbot.mouseClick(trained.loss_plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=trained.loss_plot.mapFromScene(scene_point))  # fmt: skip
    assert abs(trained.model.displayed_epoch - 90) <= 2
    qtbot.waitUntil(lambda: trained.loss_plot.cursor_epoch == trained.model.displayed_epoch, timeout=2000)


def test_play_replays_to_the_end_and_stops(qtbot, trained):
    trained.model.scrub_to(0)
    trained.timeline.play_speed.setValue(2000)
    qtbot.mouseClick(trained.timeline.play_button, Qt.MouseButton.LeftButton)
    assert trained.timeline.playing
    qtbot.waitUntil(lambda: not trained.timeline.playing, timeout=5000)
    assert trained.model.displayed_epoch == EPOCHS


def test_play_loops_when_asked(qtbot, trained):
    trained.timeline.loop_box.setChecked(True)
    trained.timeline.play_speed.setValue(600)
    seen = []
    trained.timeline.epochRequested.connect(seen.append)
    trained.model.scrub_to(0)
    trained.timeline.play_button.setChecked(True)
    qtbot.waitUntil(
        lambda: len(seen) > 5 and any(b < a for a, b in zip(seen, seen[1:], strict=False)), timeout=5000
    )
    trained.timeline.stop_playing()
    assert not trained.timeline.playing


def test_live_follows_training_and_a_drag_leaves_it(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.training.start()
    qtbot.waitUntil(lambda: w.model.displayed_epoch > 20, timeout=20000)
    assert w.model.live
    w.timeline.slider.setValue(5)  # the user's drag ends here
    assert not w.model.live and w.model.displayed_epoch == 5
    qtbot.wait(200)
    assert w.model.displayed_epoch == 5 and w.model.history.latest_epoch > 20  # training went on underneath
    qtbot.mouseClick(w.timeline.live_button, Qt.MouseButton.LeftButton)
    assert w.model.live
    qtbot.waitUntil(
        lambda: w.model.displayed_epoch == w.model.history.latest_epoch and w.model.displayed_epoch > 25,
        timeout=5000,
    )
    w.close()


def test_data_change_while_scrubbed_back_resumes_live_and_is_marked(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.training.start()
    qtbot.waitUntil(lambda: w.model.history.latest_epoch > 10, timeout=20000)
    w.model.scrub_to(3)
    w.add_sample(0.1, 0.2, 1)
    assert w.model.live
    qtbot.waitUntil(lambda: len(w.model.history.data_changes) == 1, timeout=5000)
    qtbot.waitUntil(lambda: w.timeline.slider.marks == w.model.history.data_changes, timeout=2000)
    w.close()


def test_deeper_layer_curves_are_zero_levels_of_that_epoch(qtbot, trained):
    trained.model.scrub_to(60)
    box = trained.controls.layer_boxes[0]
    box.setChecked(True)
    trained.canvas.refresh()
    curves = trained.canvas.deep_curves[1]
    assert len(curves) == 4
    params = trained.model.history.params_at(60)
    checked = 0
    for j, curve in enumerate(curves):
        xs, ys = curve.getData()
        finite = np.isfinite(xs)
        if not finite.any():
            continue
        z = np.array([layer_field(trained.model.spec, params, np.array([x]), np.array([y]), 1)[0, 0, j]
                      for x, y in zip(xs[finite][::7], ys[finite][::7], strict=True)])  # fmt: skip
        slope_scale = np.abs(split_params(trained.model.spec, params)[1][0][j]).sum() + 1.0
        step = trained.canvas.view_rect().width / 160
        assert np.abs(z).max() < slope_scale * step, j
        checked += 1
    assert checked >= 2
    box.setChecked(False)
    trained.canvas.refresh()
    assert 1 not in trained.canvas.deep_curves


def test_layer_toggles_follow_the_architecture(qtbot, trained):
    assert len(trained.controls.layer_boxes) == 1
    trained.training.set_spec(NetworkSpec((3, 5, 2)))
    assert [b.text() for b in trained.controls.layer_boxes] == ["Layer 2 curves", "Layer 3 curves"]
    trained.training.set_spec(NetworkSpec((6,)))
    assert trained.controls.layer_boxes == [] and not trained.controls.curves_group.isVisibleTo(trained)


def test_hovering_a_line_names_its_neuron(qtbot, trained):
    trained.canvas.refresh()
    ends = drawn_line_ends(trained, 2)
    middle = ends.mean(axis=0)
    assert trained.canvas.boundary_near(*middle) == (0, 2)

    def hover_names_the_neuron() -> bool:
        # Mapped again each time: a layout still pending (under load) may move the view after the first move.
        scene = trained.canvas.view_box.mapViewToScene(QPointF(*middle))
        qtbot.mouseMove(trained.canvas.viewport(), trained.canvas.mapFromScene(scene))
        return trained.canvas.hover_text.startswith("L1 N3: weights (")

    qtbot.waitUntil(hover_names_the_neuron, timeout=3000)
    w, b = split_params(trained.model.spec, trained.model.history.params_at(trained.model.displayed_epoch))[0]
    assert f"bias {b[2]:.3g}" in trained.canvas.hover_text
    far = trained.canvas.view_rect()
    assert trained.canvas.boundary_near(far.xmax + 1e6, far.ymax + 1e6) is None


def test_loss_plot_frames_its_curves_without_auto_range(trained):
    """The plot sets its ranges itself (auto-ranging repaints it a second time after every update): the
    x range spans the epochs and the log y range spans the recorded losses."""
    plot = trained.loss_plot.loss_plot
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert not any(plot.getViewBox().autoRangeEnabled())
    assert x0 <= 0 and x1 >= trained.loss_plot.x_of(EPOCHS)
    logs = np.log10(trained.model.history.loss)
    assert y0 <= logs.min() and y1 >= logs.max()
    assert y1 - y0 < 2 * (logs.max() - logs.min()) + 0.1  # framed, not lost in a huge range
