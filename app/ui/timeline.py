"""The epoch timeline: a slider over every recorded epoch with marks where the data changed, the displayed
epoch as an editable number, Play (with speed and loop) and Live. It only reports what the user asks for;
the session model owns the displayed epoch, and the window tells the timeline what to show."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QLine, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

PLAY_FRAME_MS = 30


class QtEpochSlider(QSlider):
    """A horizontal slider that also paints a small mark at every epoch where the data changed; End asks for
    live mode instead of jumping to the last value."""

    endPressed = Signal()

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.marks: list[int] = []
        self._mark_array = np.empty(0)  # the same, as an array to paint from
        self.setPageStep(10)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

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
        """The distinct pixel columns the marks fall on, in order: what paintEvent draws, one line each, so
        that its cost is bounded by the width whatever the number of marks."""
        if not len(self._mark_array) or self.maximum() <= self.minimum():
            return np.empty(0, dtype=np.int64)
        groove, handle = self._groove_and_handle()
        pixels_per_epoch = (groove.width() - handle.width()) / (self.maximum() - self.minimum())
        xs = groove.x() + handle.width() / 2 + pixels_per_epoch * (self._mark_array - self.minimum())
        xs = xs[(xs >= 0) & (xs < self.width())].astype(np.int64)
        drawn = np.zeros(max(self.width(), 1), dtype=bool)
        drawn[xs] = True
        return np.flatnonzero(drawn)

    def _groove_and_handle(self):
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        control = QStyle.ComplexControl.CC_Slider
        groove = self.style().subControlRect(control, option, QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, self)
        return groove, handle

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_End:
            self.endPressed.emit()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        columns = self.mark_columns()
        if not len(columns):
            return
        groove, _ = self._groove_and_handle()
        top, bottom = groove.top() - 3, groove.bottom() + 3
        painter = QPainter(self)
        painter.setPen(QPen(QColor(200, 120, 0), 2))
        painter.drawLines([QLine(x, top, x, bottom) for x in columns.tolist()])
        painter.end()


class QtTimeline(QWidget):
    epochRequested = Signal(int)  # the user asks to see this epoch (leaves live mode)
    liveRequested = Signal()  # the user asks to follow the newest epoch

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QtEpochSlider()
        self.slider.setToolTip("Drag to scrub through training · ←/→ one epoch · PgUp/PgDn ten · Home/End")
        self.epoch_box = QSpinBox()
        self.epoch_box.setKeyboardTracking(False)
        self.epoch_box.setToolTip("The displayed epoch; type a number to jump there")
        self.epoch_box.setMinimumWidth(90)
        self.of_label = QLabel("/ 0")
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

        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(QLabel("Epoch"))
        row.addWidget(self.epoch_box)
        row.addWidget(self.of_label)
        row.addWidget(self.slider, 1)
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
