"""The main window driven as a user would: clicks on the canvas, Train/Pause/Reset, settings, closing."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.ui.main_window import MainWindow


@pytest.fixture
def window(shown_window):
    return shown_window()


def pixel_of(window, x, y) -> QPoint:
    """Viewport pixel of the data point (x, y) on the canvas."""
    scene = window.canvas.view_box.mapViewToScene(QPointF(x, y))
    return window.canvas.mapFromScene(scene)


def data_per_pixel(window) -> float:
    rect = window.canvas.view_rect()
    return rect.width / window.canvas.view_box.width()


def click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(window.canvas.viewport(), button, modifier, pixel_of(window, x, y))


def test_opens_with_title_and_default_samples(window):
    assert window.windowTitle() == "Unboxed"
    n = window.model.samples.n
    assert n == make_preset("clusters").n > 0
    shown = sum(len(dots.data) for dots in window.canvas.sample_dots)
    assert shown == n


@pytest.mark.parametrize(
    ("button", "modifier", "label"),
    [
        (Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, RED),
        (Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, BLUE),
        (Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, BLUE),
    ],
)
def test_click_adds_sample_of_class_at_point(qtbot, window, button, modifier, label):
    before = window.model.samples.n
    click(qtbot, window, 0.7, -0.4, button, modifier)
    assert window.model.samples.n == before + 1
    assert window.model.samples.labels[-1] == label
    np.testing.assert_allclose(window.model.samples.points[-1], [0.7, -0.4], atol=2 * data_per_pixel(window))
    dots = window.canvas.sample_dots[label]
    shown = np.column_stack([dots.data["x"], dots.data["y"]])
    assert np.isclose(shown, window.model.samples.points[-1]).all(axis=1).any()
    assert len(dots.data) == int(np.sum(window.model.samples.labels == label))


def test_train_advances_epochs_and_pause_stops(qtbot, window):
    qtbot.mouseClick(window.controls.train_button, Qt.MouseButton.LeftButton)
    assert window.training.running
    assert window.controls.train_button.text() == "Pause"
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 50, timeout=20000)
    qtbot.waitUntil(lambda: window.model.displayed_epoch > 0, timeout=2000)
    assert window.epoch_label.text().startswith(f"Epoch {window.model.displayed_epoch} ")
    assert "loss" in window.epoch_label.text() and "accuracy" in window.epoch_label.text()
    qtbot.mouseClick(window.controls.train_button, Qt.MouseButton.LeftButton)
    assert not window.training.running
    qtbot.wait(50)  # late chunks of the paused run arrive
    stopped_at = window.model.history.latest_epoch
    qtbot.wait(200)
    assert window.model.history.latest_epoch == stopped_at
    assert window.controls.train_button.text() == "Train"


def test_space_toggles_training(qtbot, window):
    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.training.running
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.training.running


def test_sample_added_while_training_is_used_without_restart(qtbot, window):
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 5, timeout=20000)
    epoch_before = window.model.history.latest_epoch
    click(qtbot, window, 0.0, 0.0)
    qtbot.waitUntil(lambda: len(window.model.history.data_changes) == 1, timeout=5000)
    assert window.model.history.data_changes[0] > epoch_before
    assert window.model.history.epochs[0] == 0  # same run: no reset happened
    window.training.pause()


def test_reset_goes_back_to_epoch_zero(qtbot, window):
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 20, timeout=20000)
    initial = window.model.history.params_at(0).copy()
    qtbot.mouseClick(window.controls.reset_button, Qt.MouseButton.LeftButton)
    assert not window.training.running
    assert window.model.history.latest_epoch == 0 and window.model.displayed_epoch == 0
    np.testing.assert_array_equal(window.model.history.params_at(0), initial)  # same seed, same start
    qtbot.wait(100)
    assert window.model.history.latest_epoch == 0  # late chunks of the old run were dropped


def test_changing_architecture_resets_with_message(qtbot, window):
    window.controls.layers_edit.setText("3,5,2")
    window.controls.layers_edit.editingFinished.emit()
    assert window.model.spec.widths == (3, 5, 2)
    assert window.model.history.latest_epoch == 0
    assert "restarted" in window.message_label.text()
    window.canvas.refresh()
    assert len(window.canvas.neuron_lines) == 3


def test_malformed_layers_are_refused_with_reason(window):
    window.controls.layers_edit.setText("4,x")
    window.controls.layers_edit.editingFinished.emit()
    assert window.model.spec.widths == (4, 4)
    assert window.controls.layers_error.isVisibleTo(window.controls)
    assert "whole numbers" in window.controls.layers_error.text()


def test_settings_change_training_config(window):
    window.controls.learning_rate_box.setValue(0.1)
    window.controls.batch_box.setValue(10)
    window.controls.optimizer_box.setCurrentIndex(0)
    assert window.model.config.learning_rate == 0.1
    assert window.model.config.batch_size == 10 and window.model.config.optimizer == "sgd"
    assert window.model.trainer.config == window.model.config


@pytest.mark.parametrize(
    ("samples", "reason"),
    [(SampleSet.empty(), "empty"), (SampleSet(np.array([[0.0, 0.0]]), np.array([RED])), "blue")],
)
def test_no_training_without_two_classes(qtbot, window, samples, reason):
    window.model.set_samples(samples)
    qtbot.mouseClick(window.controls.train_button, Qt.MouseButton.LeftButton)
    assert not window.training.running
    assert reason in window.message_label.text()


def test_diverging_learning_rate_stops_with_message_and_reset_recovers(qtbot, window):
    window.controls.activation_box.setCurrentIndex(3)  # leaky ReLU
    window.controls.optimizer_box.setCurrentIndex(0)  # SGD
    window.controls.learning_rate_box.setValue(1000.0)
    window.training.start()
    qtbot.waitUntil(lambda: not window.training.running, timeout=20000)
    assert "diverged" in window.message_label.text()
    kept = window.model.history.latest_epoch
    assert np.all(np.isfinite(window.model.history.params)) and np.all(np.isfinite(window.model.history.loss))
    qtbot.waitUntil(lambda: window.model.displayed_epoch == kept, timeout=2000)
    window.controls.learning_rate_box.setValue(0.03)
    window.training.reset()
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 20, timeout=20000)
    window.training.pause()
    assert np.all(np.isfinite(window.model.history.loss))


def test_far_away_sample_is_accepted_and_drawn(qtbot, window):
    window.add_sample(1e6, -1e6, BLUE)
    assert window.model.samples.points[-1].tolist() == [1e6, -1e6]
    window.canvas.fit_data()
    window.canvas.refresh()
    rect = window.canvas.view_rect()
    assert rect.contains(1e6, -1e6)
    assert np.isfinite(window.canvas.background_image.image).all()


def test_closing_during_training_leaves_no_thread(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.training.start()
    qtbot.waitUntil(lambda: w.model.history.latest_epoch > 5, timeout=20000)
    w.close()
    assert not w.training.running


def test_canvas_draws_one_line_per_first_layer_neuron(qtbot, window):
    window.canvas.refresh()
    assert len(window.canvas.neuron_lines) == 4
    rect = window.canvas.view_rect()
    w, b = window.model.history.params_at(0)[:8].reshape(4, 2), window.model.history.params_at(0)[8:12]
    for j, line in enumerate(window.canvas.neuron_lines):
        xs, ys = line.getData()
        if len(xs) == 0:
            continue
        ends = np.column_stack([xs[:2], ys[:2]])
        np.testing.assert_allclose(ends @ w[j] + b[j], 0.0, atol=1e-6 * max(1.0, rect.width))


def test_speed_slider_limits_training_rate(qtbot, window):
    from app.ui.controls import position_of_speed, speed_of_position

    assert speed_of_position(position_of_speed(None)) is None
    assert speed_of_position(0) == 1.0 and speed_of_position(20) == 100.0
    window.controls.speed_slider.setValue(position_of_speed(10.0))
    assert window.controls.speed_label.text() == "10 epochs/s"
    assert window.training.thread.max_rate == 10.0
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch >= 2, timeout=5000)
    assert window.training.thread.worker.max_rate == 10.0
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())
    assert window.controls.speed_label.text() == "max" and window.training.thread.worker.max_rate is None
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 500, timeout=20000)
    window.training.pause()


def test_training_waits_for_the_engine_with_a_preparing_message(qtbot, window, monkeypatch):
    from app.core import engine

    compiled = {"done": False}
    monkeypatch.setattr(engine, "is_compiled", lambda: compiled["done"])
    monkeypatch.setattr(engine, "warm_up", lambda: compiled.update(done=True))
    messages = []
    window.message_label.setText = lambda text, real=window.message_label.setText: (
        messages.append(text),
        real(text),
    )
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 3, timeout=10000)
    window.training.pause()
    assert any(m.startswith("Preparing the training engine") for m in messages)
    assert compiled["done"]


def test_test_fraction_holds_samples_out_draws_them_hollow_and_plots_test_metrics(qtbot, window):
    from app.ui.app import train_synchronously

    window.controls.test_fraction_box.setValue(0.3)
    assert window.model.config.test_fraction == 0.3
    hollow = sum(len(d.data) for d in window.canvas.held_out_dots)
    filled = sum(len(d.data) for d in window.canvas.sample_dots)
    assert hollow + filled == window.model.samples.n
    assert abs(hollow - 0.3 * window.model.samples.n) <= 1
    window.training.reset()
    train_synchronously(window, 60)
    assert np.isfinite(window.model.history.test_loss).all()
    assert "test accuracy" in window.epoch_label.text()
    xs, _ = window.loss_plot.curves["test loss"].getData()
    assert xs is not None and len(xs) > 0
    window.controls.test_fraction_box.setValue(0.0)
    assert sum(len(d.data) for d in window.canvas.held_out_dots) == 0


def test_after_a_long_frame_the_display_leaves_the_event_loop_as_long_free(shown_window, monkeypatch):
    from types import SimpleNamespace

    import app.ui.frame_scheduler as module

    window = shown_window(0)
    window.frames.stop()
    now = [10.0]
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    real = window.frames.render_frame

    def slow_frame(**options):  # a frame that takes 0.2 s
        real(**options)
        now[0] += 0.2

    monkeypatch.setattr(window.frames, "render_frame", slow_frame)
    window.frames.next_frame_at = 0.0
    ticks = window.frames.ticks
    window.frames.tick()
    assert window.frames.ticks == ticks + 1
    assert window.frames.next_frame_at == pytest.approx(10.2 + module.FRAME_REST * 0.2)
    now[0] = 10.3
    window.frames.tick()  # too soon: no frame
    assert window.frames.ticks == ticks + 1
    now[0] = 10.2 + module.FRAME_REST * 0.2 + 0.01
    window.frames.tick()
    assert window.frames.ticks == ticks + 2


@pytest.mark.parametrize("seconds, expected", [
    ({}, ["canvas", "extrapolation", "influence"] * 3),  # quick: every view every tick
    ({"canvas": 0.05}, ["canvas"] + ["extrapolation", "influence", "canvas"] * 2),  # slow canvas ends a tick
    ({"canvas": 0.05, "extrapolation": 0.05, "influence": 0.05},
     ["canvas", "extrapolation", "influence"]),  # all slow: one per tick, in turn
])  # fmt: skip
def test_while_changes_stream_in_slow_views_share_the_display_ticks(
    shown_window, monkeypatch, seconds, expected
):
    from types import SimpleNamespace

    import app.ui.frame_scheduler as module

    window = shown_window(0)
    window.frames.stop()
    now, drawn = [10.0], []
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: now[0]))

    def drawing(name):
        def refresh(preview=False):
            drawn.append(name)
            now[0] += seconds.get(name, 0.0)
            return True

        return refresh

    monkeypatch.setattr(window.canvas, "refresh", drawing("canvas"))
    monkeypatch.setattr(window.extrapolation, "refresh", drawing("extrapolation"))
    monkeypatch.setattr(window.influence_panel, "refresh", drawing("influence"))
    for _ in range(3):
        window.frames.draw_preview()
    assert drawn == expected


def test_a_big_networks_first_picture_keeps_to_the_time_budget(shown_window):
    """The first sharp background of an 8x64 network took a second: its pixels were budgeted with the
    default network's cost per pixel until a frame had been measured."""
    import app.ui.canvas as canvas_module
    from app.core.network import NetworkSpec
    from app.core.torch_model import init_params

    window = shown_window(0)
    canvas = window.canvas
    spec = NetworkSpec((64,) * 8)
    canvas.show_network(spec, init_params(spec, 0))
    canvas.refresh()
    pixels = canvas.background_image.image.size
    guess = canvas_module.PIXEL_SECONDS + canvas_module.PIXEL_SECONDS_PER_PARAM * spec.n_params
    assert pixels <= max(canvas_module.SHARP_SECONDS / guess, canvas_module.MIN_FIELD_PIXELS**2) * 1.05
    small = NetworkSpec()
    canvas.show_network(small, init_params(small, 0))
    canvas.refresh()
    assert canvas.background_image.image.size > 10 * pixels  # a small network gets its sharp picture back


def test_sample_dots_repaint_from_a_cache_and_exports_still_draw_them(shown_window):
    from PySide6.QtWidgets import QGraphicsItem

    window = shown_window(0)
    for dots in (*window.canvas.sample_dots, *window.canvas.held_out_dots):
        assert dots.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache
    points, labels = window.model.samples.points, window.model.samples.labels
    reds, blues = points[labels == RED], points[labels == BLUE]
    loneliest = reds[np.argmax([np.min(np.hypot(*(blues - red).T)) for red in reds])]  # no blue dot over it
    for picture in (window.canvas.viewport().grab().toImage(), window.canvas.viewport().grab().toImage()):
        colour = picture.pixelColor(pixel_of(window, *loneliest))  # drawn, then drawn from the cache
        assert colour.red() > 150 and colour.blue() < 120


@pytest.mark.parametrize("change", ["architecture", "seed"])
def test_a_change_that_restarts_training_lets_the_old_runs_last_messages_meet_the_old_network(
    shown_window, change
):
    """Found by the soak run: a change of architecture while training set the new network first, then
    stopping the thread delivered the queued end of the old run, which drew the old weights with the new
    network's layout (IndexError in the network diagram)."""
    from dataclasses import replace

    from PySide6.QtCore import QObject, Signal

    from app.core.network import NetworkSpec

    window = shown_window(3)

    class Queued(QObject):
        finished = Signal(int, str)

    sender = Queued()
    sender.finished.connect(window.training.on_finished, Qt.ConnectionType.QueuedConnection)
    window.training.start()
    sender.finished.emit(
        window.model.generation, ""
    )  # as if the old run had just ended: queued, not yet delivered
    if change == "architecture":
        window.training.set_spec(NetworkSpec((7, 6, 4, 10)))
        assert window.model.history.params_at(0).shape == (window.model.spec.n_params,)
    else:
        window.training.set_config(replace(window.model.config, seed=window.model.config.seed + 1))
    window.frames.render_frame()  # draws every view of the new run without an error (pytest-qt fails on one)
    assert window.model.history.latest_epoch <= 1 and window.training.running
    window.training.stop()


# --- found in review of the session-model split (#18) ------------------------------------------------------
def press(window, key):
    from PySide6.QtGui import QKeySequence, QShortcut

    for shortcut in window.findChildren(QShortcut):
        if shortcut.key() == QKeySequence(key):
            shortcut.activated.emit()
            return
    raise KeyError(key)


def test_a_new_network_at_the_same_displayed_epoch_reaches_the_side_views(shown_window):
    from app.core.network import NetworkSpec

    window = shown_window()
    window.frames.render_frame()
    window.training.set_spec(NetworkSpec((3,)))  # epoch 0 before, epoch 0 after
    window.frames.render_frame()
    assert window.network_view.spec == NetworkSpec((3,))
    assert window.extrapolation.canvas.spec == NetworkSpec((3,))


def test_keys_that_would_step_past_either_end_leave_live_mode_alone(shown_window):
    from app.ui.app import train_synchronously

    window = shown_window()
    for key in (Qt.Key.Key_Home, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageDown):
        press(window, key)
        assert window.model.live, key
    train_synchronously(window, 5)
    press(window, Qt.Key.Key_Left)
    assert window.model.displayed_epoch == 4 and not window.model.live
    press(window, Qt.Key.Key_Home)
    assert window.model.displayed_epoch == 0


def test_settings_saved_by_a_previous_version_do_not_bring_a_network_without_its_samples(
    shown_window, fresh_settings
):
    import json

    from PySide6.QtCore import QSettings

    from app.core.network import NetworkSpec

    old_format = {"widths": [3, 5], "activation": "relu", "optimizer": "sgd", "learning_rate": 0.1,
                  "batch_size": 8, "l2": 0.0, "test_fraction": 0.2, "seed": 7, "speed": None}  # fmt: skip
    QSettings().setValue("settings/last", json.dumps(old_format))
    window = shown_window()
    assert not window.restore_settings()  # they hold no samples: the defaults for both
    assert window.model.spec == NetworkSpec() and window.model.config.seed == 0


def test_the_loss_plot_shows_epoch_zero_from_the_start(shown_window):
    window = shown_window()
    assert len(window.loss_plot.curves["loss"].getData()[0]) == 1


def test_a_new_test_fraction_while_training_keeps_the_scrubbed_epoch(qtbot, shown_window):
    window = shown_window()
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 10, timeout=20000)
    window.model.scrub_to(3)
    window.controls.test_fraction_box.setValue(0.2)
    assert window.model.displayed_epoch == 3 and not window.model.live
    window.training.stop()
