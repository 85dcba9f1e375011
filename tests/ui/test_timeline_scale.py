"""The timeline and the loss plot's epoch axis on a non-linear epoch scale (issue #20, item 3): the first
epochs, where learning happens, get room at 1280x720; the slider keeps a minimum width; the scale is the
user's choice; the wheel zooms the timeline into a range, and the loss plot follows."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.ui import epoch_scale
from app.ui.loss_plot import QtLossPlot, thinned
from app.ui.timeline import MIN_SLIDER_WIDTH, QtEpochSlider, QtTimeline

LATEST = 1600
EARLY = 48  # the first 3% of 1,600 epochs


def history(last: int = LATEST):
    epochs = np.arange(last + 1)
    loss = np.exp(-epochs / 50) + 1e-3
    return epochs, loss, 1 - loss / 2


def plot_pixel(plot: QtLossPlot, epoch: float) -> float:
    box = plot.accuracy_plot.getViewBox()
    return box.mapViewToScene(QPointF(plot.x_of(epoch), 0.5)).x()


@pytest.fixture
def plot(qtbot):
    widget = QtLossPlot()
    qtbot.addWidget(widget)
    widget.resize(700, 260)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_history(*history())
    return widget


@pytest.fixture
def slider(qtbot):
    widget = QtEpochSlider()
    qtbot.addWidget(widget)
    widget.resize(600, 30)
    widget.setRange(0, LATEST)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.mark.parametrize("kind", epoch_scale.SCALES)
def test_the_mapping_round_trips_and_log_is_log1p(kind):
    for epoch in (0, 1, 2, 7, 48, 333, 1599, 1600):
        p = epoch_scale.position(kind, epoch, 0, LATEST)
        assert 0.0 <= p <= 1.0
        assert epoch_scale.epoch_at(kind, p, 0, LATEST) == epoch
    positions = epoch_scale.position(kind, np.arange(LATEST + 1), 0, LATEST)
    assert (np.diff(positions) > 0).all()
    if kind == "log":
        assert epoch_scale.position(kind, EARLY, 0, LATEST) == pytest.approx(
            np.log1p(EARLY) / np.log1p(LATEST)
        )
    if kind == "sqrt":
        assert epoch_scale.position(kind, 400, 0, LATEST) == pytest.approx(0.5)


def test_at_1280x720_the_first_3_percent_of_epochs_get_100_pixels(qtbot, shown_window):
    window = shown_window()
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280)
    QApplication.processEvents()
    window.timeline.show_state(0, LATEST, False, [])
    window.loss_plot.set_history(*history())
    slider = window.timeline.slider
    assert slider.x_of(EARLY) - slider.x_of(0) >= 100
    assert plot_pixel(window.loss_plot, EARLY) - plot_pixel(window.loss_plot, 0) >= 100
    # A dock widened as far as it goes takes nothing below the slider's minimum width.
    window.resizeDocks([window.docks["Influence"]], [1000], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    assert slider.width() >= MIN_SLIDER_WIDTH
    assert slider.x_of(EARLY) - slider.x_of(0) >= 100  # at that width too


@pytest.mark.parametrize("kind", epoch_scale.SCALES)
def test_pressing_and_dragging_the_slider_picks_the_epoch_at_that_place(qtbot, slider, kind):
    slider.set_scale(kind)
    y = slider.height() // 2
    for epoch in (0, 3, EARLY, 400, LATEST):
        x = int(round(float(slider.x_of(epoch))))
        slider.setValue(LATEST if epoch < LATEST / 2 else 0)  # the handle elsewhere: a press on it grabs it
        qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
        near = {slider.epoch_at_x(x + d) for d in (-1, 0, 1)}  # the epochs within a pixel
        assert slider.value() == slider.epoch_at_x(x)
        assert min(near) <= epoch <= max(near), (kind, epoch, slider.value())
        assert abs(slider.handle_rect().center().x() - x) <= 1  # the handle is drawn there
    start = slider.handle_rect().center()
    target = int(round(float(slider.x_of(EARLY))))
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(slider, QPoint(target, start.y()))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(target, start.y()))
    assert abs(slider.value() - EARLY) <= max(1, LATEST // 300 if kind == "linear" else 1)


def test_keys_on_the_slider_still_step_one_epoch(qtbot, slider):
    slider.setValue(EARLY)
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == EARLY + 1
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert slider.value() in (EARLY - 9, EARLY + 11)  # a page of ten epochs, either way up


def test_the_loss_plot_ticks_read_real_epochs_at_their_places(plot):
    axis = plot.accuracy_plot.getAxis("bottom")
    (x0, x1) = plot.accuracy_plot.getViewBox().viewRange()[0]
    ((_, values),) = axis.tickValues(x0, x1, plot.accuracy_plot.getViewBox().width())
    labels = axis.tickStrings(values, 1.0, None)
    epochs = [int(label) for label in labels]
    assert np.allclose(values, plot.x_of(np.array(epochs)))
    assert {0, 1, 10, 100, 1000} <= set(epochs)  # the first epochs are named on a log axis
    pixels = [plot_pixel(plot, e) for e in epochs]
    assert min(np.diff(pixels)) >= epoch_scale.MIN_TICK_PIXELS * 0.9  # never crowded


@pytest.mark.parametrize("kind", epoch_scale.SCALES)
def test_marks_and_cursor_sit_at_their_epochs(qtbot, plot, kind):
    plot.set_view(kind)
    epochs, loss, accuracy = history()
    plot.set_history(epochs, loss, accuracy, data_changes=(5, EARLY, 900))
    plot.set_cursor(EARLY)
    xs, _ = plot.mark_curve.getData()
    assert sorted({round(epoch_scale.inverse(kind, x)) for x in xs}) == [5, EARLY, 900]
    mark = xs[np.argmin(np.abs(xs - plot.x_of(EARLY)))]
    assert mark == pytest.approx(plot.x_of(EARLY))
    assert plot.cursors[0].value() == pytest.approx(plot.x_of(EARLY)) and plot.cursor_epoch == EARLY
    curve_x, _ = plot.curves["loss"].getData()
    assert curve_x[0] == 0 and curve_x[-1] == pytest.approx(plot.x_of(LATEST))
    timeline = QtEpochSlider()
    qtbot.addWidget(timeline)
    timeline.resize(600, 30)
    timeline.setRange(0, LATEST)
    timeline.set_scale(kind)
    timeline.set_marks([EARLY])
    timeline.setValue(EARLY)
    (column,) = timeline.mark_columns()
    assert abs(column - timeline.handle_rect().center().x()) <= 1


@pytest.mark.qt_log_ignore("Mouse event .* not accepted")  # the scene takes the click at the release
def test_a_click_on_the_loss_plot_asks_for_the_epoch_under_it(qtbot, plot):
    asked = []
    plot.epochRequested.connect(asked.append)
    scene = plot.accuracy_plot.getViewBox().mapViewToScene(QPointF(plot.x_of(20), 0.5))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene))
    assert len(asked) == 1 and abs(asked[0] - 20) <= 1


def test_the_scale_choice_switches_timeline_and_plot(qtbot, plot):
    timeline = QtTimeline()
    qtbot.addWidget(timeline)
    timeline.resize(700, 60)
    timeline.show()
    timeline.viewChanged.connect(plot.set_view)  # as the window connects them
    timeline.show_state(0, LATEST, False, [])
    assert timeline.scale == plot.scale == epoch_scale.DEFAULT_SCALE != "linear"
    widths = {}
    for kind in ("linear", "sqrt", "log"):
        timeline.scale_box.setCurrentIndex(timeline.scale_box.findData(kind))
        assert timeline.scale == timeline.slider.scale == plot.scale == kind
        QApplication.processEvents()
        widths[kind] = timeline.slider.x_of(EARLY) - timeline.slider.x_of(0)
        assert plot_pixel(plot, EARLY) - plot_pixel(plot, 0) == pytest.approx(
            plot.accuracy_plot.getViewBox().width() / 1.04 * epoch_scale.position(kind, EARLY, 0, LATEST),
            rel=0.05,
        )
    assert widths["linear"] < 25 < widths["sqrt"] < widths["log"]
    timeline.set_scale("sqrt")
    assert timeline.scale_box.currentData() == "sqrt" and plot.scale == "sqrt"


def wheel(widget, x: int, notches: int) -> None:
    pos = QPointF(x, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_the_wheel_zooms_the_timeline_and_the_plot_follows(qtbot, plot):
    timeline = QtTimeline()
    qtbot.addWidget(timeline)
    timeline.resize(700, 60)
    timeline.show()
    qtbot.waitExposed(timeline)
    timeline.viewChanged.connect(plot.set_view)
    timeline.show_state(700, LATEST, False, [])
    slider = timeline.slider
    under = slider.epoch_at_x(int(slider.x_of(700)))
    for _ in range(12):  # in the scale's coordinate, about the pointer
        wheel(slider, int(slider.x_of(700)), 1)
    first, last = slider.visible_range()
    assert slider.zoom == (first, last) and first <= under <= last and last - first < 400
    assert timeline.all_button.isEnabled()
    assert plot.zoom == (first, last)
    x0, x1 = plot.accuracy_plot.getViewBox().viewRange()[0]
    assert x0 <= plot.x_of(first) < plot.x_of(last) <= x1 < plot.x_of(last + (last - first))
    epoch = (first + last) // 2  # the zoomed slider spans its range: more pixels per epoch
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(int(round(slider.x_of(epoch))), 10))
    assert abs(slider.value() - epoch) <= 1
    qtbot.mouseClick(timeline.all_button, Qt.MouseButton.LeftButton)
    assert slider.zoom is None and slider.visible_range() == (0, LATEST) and plot.zoom is None
    assert not timeline.all_button.isEnabled()
    wheel(slider, 300, -2)  # zooming out of the whole range changes nothing
    assert slider.zoom is None


def test_curves_are_thinned_to_the_pixels_keeping_peaks_whatever_the_spacing():
    xs = np.log1p(np.arange(1_000_001.0))  # a log scale: late epochs crowd together
    ys = np.cos(np.arange(1_000_001.0))
    ys[777_777] = 5.0  # a spike among the crowded ones
    tx, ty = thinned(xs, ys, xs[0], xs[-1], 500)
    assert len(tx) <= 4 * 500 + 2 and (np.diff(tx) >= 0).all()
    assert ty.max() == 5.0 and ty.min() == ys.min()
    assert tx[0] == 0.0 and ty[0] == 1.0  # the first, sparse epochs are all kept
    few = np.arange(10.0)
    assert len(thinned(few, few, 0.0, 9.0, 500)[0]) == 10  # few points: all of them
