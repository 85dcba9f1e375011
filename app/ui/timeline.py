"""The epoch timeline: a slider over every recorded epoch with marks where the data changed, the displayed
epoch as an editable number, Play (with speed and loop) and Live. It only reports what the user asks for;
the session model owns the displayed epoch, and the window tells the timeline what to show.

The slider's value is the epoch (so its keys step one epoch), but its pixels follow an epoch scale (linear,
square root or log, chosen in the row; log by default) across a visible range of epochs: the mouse wheel
over the slider zooms into the epochs around the pointer, "All" shows every epoch again. It has a row of
its own, at least MIN_SLIDER_WIDTH wide, so that neither the buttons nor a dock can squeeze it."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QLine, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import epoch_scale

PLAY_FRAME_MS = 30
MIN_SLIDER_WIDTH = 300
RESOLUTION = 10_000  # the positions the style draws the handle at (finer than any screen's pixels)
ZOOM_STEP = 0.8  # one wheel notch keeps this share of the visible range (in the scale's coordinate)
MIN_ZOOM_EPOCHS = 10  # zooming in stops at this many epochs


class QtEpochSlider(QSlider):
    """A horizontal slider whose value is the epoch, drawn on an epoch scale across the visible epochs (all,
    or a zoomed range); it paints a small mark at every epoch where the data changed. A press jumps to the
    epoch under the pointer (or grabs the handle), the wheel zooms, End asks for live mode."""

    endPressed = Signal()
    viewChanged = Signal()  # the scale or the visible range changed

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.marks: list[int] = []
        self._mark_array = np.empty(0)  # the same, as an array to paint from
        self.scale = epoch_scale.DEFAULT_SCALE
        self.zoom: tuple[int, int] | None = None  # the visible epochs when zoomed in
        self._drag_offset: float | None = None  # pointer minus handle centre while dragging
        self.setPageStep(10)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumWidth(MIN_SLIDER_WIDTH)

    # --- the scale and the visible range ------------------------------------------------------------------
    def set_scale(self, kind: str) -> None:
        if kind not in epoch_scale.SCALES:
            raise ValueError(f"unknown epoch scale {kind!r}")
        if kind != self.scale:
            self.scale = kind
            self.update()
            self.viewChanged.emit()

    def visible_range(self) -> tuple[int, int]:
        """The first and last epoch the slider spans."""
        low, high = self.minimum(), self.maximum()
        if self.zoom is not None:
            first, last = max(self.zoom[0], low), min(self.zoom[1], high)
            if last > first:
                return first, last
        return low, high

    def set_zoom(self, first: int, last: int) -> None:
        """Spans the epochs first to last (all, following new ones, when that covers the whole range)."""
        zoom = None if first <= self.minimum() and last >= self.maximum() else (int(first), int(last))
        if zoom != self.zoom:
            self.zoom = zoom
            self.update()
            self.viewChanged.emit()

    def zoom_around(self, epoch: int, factor: float) -> None:
        """Scales the visible range by factor (below 1: zoom in) about epoch, in the scale's coordinate."""
        kind, (first, last) = self.scale, self.visible_range()
        u0, u1, uc = (epoch_scale.forward(kind, e) for e in (first, last, epoch))
        low = max(self.minimum(), math.floor(epoch_scale.inverse(kind, uc - (uc - u0) * factor)))
        high = min(self.maximum(), math.ceil(epoch_scale.inverse(kind, uc + (u1 - uc) * factor)))
        if high - low < MIN_ZOOM_EPOCHS:
            if last - first <= MIN_ZOOM_EPOCHS:
                return
            low = max(self.minimum(), min(low, epoch - MIN_ZOOM_EPOCHS // 2))
            high = min(self.maximum(), low + MIN_ZOOM_EPOCHS)
        self.set_zoom(low, high)

    # --- epochs and pixels -------------------------------------------------------------------------------
    def _span(self) -> tuple[float, float]:
        """The x of the handle's centre at the first visible epoch, and how far it travels to the last."""
        groove, handle = self._groove_and_handle()
        return groove.x() + handle.width() / 2, float(groove.width() - handle.width())

    def x_of(self, epoch):
        """The pixel column (a number, or an array for an array) where an epoch's handle centre lies."""
        x0, span = self._span()
        return x0 + span * epoch_scale.position(self.scale, epoch, *self.visible_range())

    def epoch_at_x(self, x: float) -> int:
        x0, span = self._span()
        return epoch_scale.epoch_at(self.scale, (x - x0) / span if span > 0 else 0.0, *self.visible_range())

    def set_marks(self, epochs: list[int]) -> None:
        """Takes the epochs (in any order): usually the same as last time, or those with new ones at the end.
        The comparisons are cheap even for a million marks: lists compare the length first, and the same int
        objects by identity."""
        n = len(self.marks)
        if len(epochs) > n and epochs[:n] == self.marks:
            added = list(epochs[n:])
            self._mark_array = np.concatenate([self._mark_array, np.array(added, dtype=float)])
            self.marks.extend(added)
        elif epochs != self.marks:
            self._mark_array = np.array(epochs, dtype=float)
            self.marks = list(epochs)
        else:
            return
        self.update()

    def mark_columns(self) -> np.ndarray:
        """The distinct pixel columns the visible marks fall on, in order: what paintEvent draws, one line
        each, so that its cost is bounded by the width whatever the number of marks."""
        first, last = self.visible_range()
        if not len(self._mark_array) or last <= first:
            return np.empty(0, dtype=np.int64)
        inside = self._mark_array[(self._mark_array >= first) & (self._mark_array <= last)]
        xs = np.rint(np.atleast_1d(self.x_of(inside))).astype(np.int64) if len(inside) else inside
        xs = xs[(xs >= 0) & (xs < self.width())].astype(np.int64)
        drawn = np.zeros(max(self.width(), 1), dtype=bool)
        drawn[xs] = True
        return np.flatnonzero(drawn)

    def _style_option(self) -> QStyleOptionSlider:
        """The style's option with the handle where the scale puts the value."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        option.minimum, option.maximum = 0, RESOLUTION
        place = round(RESOLUTION * epoch_scale.position(self.scale, self.value(), *self.visible_range()))
        option.sliderPosition = option.sliderValue = place
        option.subControls = QStyle.SubControl.SC_SliderGroove | QStyle.SubControl.SC_SliderHandle
        return option

    def handle_rect(self):
        """Where the handle is drawn (at the value's place on the scale)."""
        return self._groove_and_handle()[1]

    def _groove_and_handle(self):
        option = self._style_option()
        control = QStyle.ComplexControl.CC_Slider
        groove = self.style().subControlRect(control, option, QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, self)
        return groove, handle

    # --- gestures ----------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_End:
            self.endPressed.emit()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.maximum() <= self.minimum():
            event.ignore()
            return
        _, handle = self._groove_and_handle()
        x = event.position().x()
        self._drag_offset = x - handle.center().x() if handle.contains(event.position().toPoint()) else 0.0
        self.setSliderDown(True)
        self._drag_to(x)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._drag_offset is None:
            event.ignore()
            return
        self._drag_to(event.position().x())
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag_offset is None:
            event.ignore()
            return
        self._drag_to(event.position().x())
        self._drag_offset = None
        self.setSliderDown(False)
        event.accept()

    def _drag_to(self, x: float) -> None:
        self.setValue(self.epoch_at_x(x - (self._drag_offset or 0.0)))

    def wheelEvent(self, event) -> None:
        notches = event.angleDelta().y() / 120
        if not notches or self.maximum() <= self.minimum():
            event.ignore()
            return
        self.zoom_around(self.epoch_at_x(event.position().x()), ZOOM_STEP**notches)
        event.accept()

    def paintEvent(self, event) -> None:
        painter = QStylePainter(self)
        painter.drawComplexControl(QStyle.ComplexControl.CC_Slider, self._style_option())
        columns = self.mark_columns()
        if len(columns):
            groove, _ = self._groove_and_handle()
            top, bottom = groove.top() - 3, groove.bottom() + 3
            painter.setPen(QPen(QColor(200, 120, 0), 2))
            painter.drawLines([QLine(x, top, x, bottom) for x in columns.tolist()])
        painter.end()


class QtTimeline(QWidget):
    epochRequested = Signal(int)  # the user asks to see this epoch (leaves live mode)
    liveRequested = Signal()  # the user asks to follow the newest epoch
    viewChanged = Signal(str, object)  # the epoch scale and the zoomed range (first, last), or None: all

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QtEpochSlider()
        self.slider.setToolTip(
            "Drag to scrub through training · ←/→ one epoch · PgUp/PgDn ten · Home/End\n"
            "Mouse wheel: zoom into the epochs under the pointer (All: every epoch)\n"
            "Orange marks: the samples or the network were edited there"
        )
        self.epoch_box = QSpinBox()
        self.epoch_box.setKeyboardTracking(False)
        self.epoch_box.setToolTip("The displayed epoch; type a number to jump there")
        self.epoch_box.setMinimumWidth(90)
        self.of_label = QLabel("/ 0")
        self.scale_box = QComboBox()
        for kind, text in (("linear", "linear"), ("sqrt", "√ epochs"), ("log", "log epochs")):
            self.scale_box.addItem(text, kind)
        self.scale_box.setCurrentIndex(self.scale_box.findData(self.slider.scale))
        self.scale_box.setToolTip(
            "The scale of the timeline and the loss plot's epoch axis: log and √ give the first epochs,\n"
            "where most of the learning happens, more room"
        )
        self.all_button = QToolButton(text="All")
        self.all_button.setToolTip("Show every epoch again after zooming in with the mouse wheel")
        self.all_button.setEnabled(False)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Replay the recorded epochs")
        self.play_speed = QSpinBox(minimum=1, maximum=100000, value=50, suffix=" ep/s")
        self.play_speed.setToolTip("Replay speed in epochs per second")
        self.loop_box = QCheckBox("Loop")
        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("Follow the newest epoch while training (End)")

        column = QVBoxLayout(self)
        column.setContentsMargins(4, 2, 4, 2)
        column.setSpacing(0)
        scale_row = QHBoxLayout()  # a row of its own: nearly the whole width is for the epochs
        column.addLayout(scale_row)
        scale_row.addWidget(self.slider, 1)
        scale_row.addWidget(self.scale_box)
        scale_row.addWidget(self.all_button)
        row = QHBoxLayout()
        column.addLayout(row)
        row.addWidget(QLabel("Epoch"))
        row.addWidget(self.epoch_box)
        row.addWidget(self.of_label)
        row.addStretch(1)
        row.addWidget(self.play_button)
        row.addWidget(self.play_speed)
        row.addWidget(self.loop_box)
        row.addWidget(self.live_button)

        self._play_timer = QTimer(self)
        self._play_timer.setInterval(PLAY_FRAME_MS)
        self._play_timer.timeout.connect(self._play_step)
        self._play_position = 0.0
        self._play_clock = 0.0

        self.slider.valueChanged.connect(self._user_moved)
        self.epoch_box.valueChanged.connect(self._user_moved)
        self.live_button.clicked.connect(self._live_clicked)
        self.slider.endPressed.connect(self._live_clicked)
        self.play_button.toggled.connect(self._play_toggled)
        self.scale_box.currentIndexChanged.connect(self._scale_chosen)
        self.all_button.clicked.connect(self.show_all_epochs)
        self.slider.viewChanged.connect(self._view_changed)

    # --- the scale and the zoom ---------------------------------------------------------------------------
    @property
    def scale(self) -> str:
        return self.slider.scale

    def set_scale(self, kind: str) -> None:
        """Chooses the epoch scale ("linear", "sqrt" or "log"), as the row's combo box does."""
        self.scale_box.setCurrentIndex(self.scale_box.findData(kind))
        self.slider.set_scale(kind)

    def zoom_to(self, first: int, last: int) -> None:
        self.slider.set_zoom(first, last)

    def show_all_epochs(self) -> None:
        self.slider.set_zoom(self.slider.minimum(), self.slider.maximum())

    def _scale_chosen(self, index: int) -> None:
        self.slider.set_scale(self.scale_box.itemData(index))

    def _view_changed(self) -> None:
        self.all_button.setEnabled(self.slider.zoom is not None)
        self.viewChanged.emit(self.slider.scale, self.slider.zoom)

    # --- state in (the model's); never echoes back as a request ---------------------------------
    def show_state(self, epoch: int, latest: int, live: bool, data_changes: list[int]) -> None:
        for widget in (self.slider, self.epoch_box):
            widget.blockSignals(True)
        self.slider.setRange(0, latest)
        self.epoch_box.setRange(0, latest)
        self.slider.setValue(epoch)
        self.epoch_box.setValue(epoch)
        for widget in (self.slider, self.epoch_box):
            widget.blockSignals(False)
        self.of_label.setText(f"/ {latest}")
        self.live_button.setChecked(live)
        self.slider.set_marks(data_changes)
        if self.slider.zoom is not None and latest <= self.slider.zoom[0]:  # a new run: its epochs are all
            self.show_all_epochs()

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def stop_playing(self) -> None:
        self.play_button.setChecked(False)

    # --- gestures out -------------------------------------------------------------------------------------
    def _user_moved(self, epoch: int) -> None:
        self.epochRequested.emit(int(epoch))

    def go_live(self) -> None:
        self._live_clicked()

    def _live_clicked(self) -> None:
        self.stop_playing()
        self.live_button.setChecked(True)
        self.liveRequested.emit()

    def _play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on:
            start = self.slider.value()
            if start >= self.slider.maximum():
                start = 0
            self._play_position = float(start)
            self._play_clock = time.perf_counter()
            self.epochRequested.emit(start)
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _play_step(self) -> None:
        now = time.perf_counter()
        self._play_position += (now - self._play_clock) * self.play_speed.value()
        self._play_clock = now
        last = self.slider.maximum()
        if self._play_position > last:
            if not self.loop_box.isChecked():
                self.epochRequested.emit(last)
                self.stop_playing()
                return
            self._play_position %= last + 1
        self.epochRequested.emit(int(self._play_position))
