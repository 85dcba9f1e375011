"""The canvas's view box with sample editing: drag a sample (or the selection) to move it, Ctrl+drag to
select with a rubber band, and in brush mode drag to spray samples. Any other drag pans, the wheel zooms.
Edits are reported as new SampleSets (immutable values), once per gesture, so each gesture undoes at once."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from app.core.dataset import MAX_COORDINATE, RED, SampleSet

PICK_PIXELS = 8  # how close a press must be to a sample to grab it
BRUSH_RADIUS_PIXELS = 18


class QtSampleViewBox(pg.ViewBox):
    editRequested = Signal(object, str)  # the edited SampleSet, a description for the undo history
    previewRequested = Signal(object)  # the SampleSet while a gesture is under way (not an edit yet)
    selectionChanged = Signal(object)  # indices (np.ndarray) of the selected samples

    def __init__(self):
        super().__init__()
        self.samples = SampleSet.empty()
        self.current_label = RED
        self.brush_on = False
        self.brush_density = 3  # samples sprayed per mouse move
        self.selection = np.empty(0, dtype=int)
        self._gesture: str | None = None
        self._moving = np.empty(0, dtype=int)
        self._stroke: list[np.ndarray] = []
        self._rng = np.random.default_rng(0)
        self.rubber_band = QGraphicsRectItem()
        self.rubber_band.setPen(pg.mkPen((60, 60, 60), width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.rubber_band.setBrush(pg.mkBrush(255, 200, 0, 40))
        self.rubber_band.setZValue(50)
        self.rubber_band.hide()
        self.addItem(self.rubber_band, ignoreBounds=True)

    def pixel_size(self) -> float:
        return float(self.viewPixelSize()[0])

    def sample_at(self, x: float, y: float) -> int | None:
        """The sample drawn under (x, y), if any."""
        i, distance = self.samples.nearest(x, y)
        return i if i >= 0 and distance <= PICK_PIXELS * self.pixel_size() else None

    def set_selection(self, indices) -> None:
        self.selection = np.asarray(sorted(set(int(i) for i in indices)), dtype=int)
        self.selectionChanged.emit(self.selection)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        start = self.mapSceneToView(ev.buttonDownScenePos())
        here = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._gesture = self._gesture_for(ev, start.x(), start.y())
        if self._gesture == "pan":
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if self._gesture == "move":
            try:
                moved = self.samples.shifted_samples(self._moving, here.x() - start.x(), here.y() - start.y())
            except ValueError:  # beyond the coordinates a sample may have (zoomed far out): not moved there
                moved = self.samples
            self._report(moved, f"Move {len(self._moving)} sample{'s' if len(self._moving) > 1 else ''}", ev)
        elif self._gesture == "select":
            rect = QRectF(start, here).normalized()
            self.rubber_band.setRect(rect)
            self.rubber_band.show()
            if ev.isFinish():
                self.rubber_band.hide()
                inside = [i for i, (x, y) in enumerate(self.samples.points) if rect.contains(x, y)]
                self.set_selection(inside)
        elif self._gesture == "brush":
            radius = BRUSH_RADIUS_PIXELS * self.pixel_size()
            self._stroke.append(
                np.array([here.x(), here.y()]) + self._rng.normal(0, radius / 2, (self.brush_density, 2))
            )
            points = np.clip(np.vstack(self._stroke), -MAX_COORDINATE, MAX_COORDINATE)  # zoomed far out
            labels = np.full(len(points), self.current_label)
            self._report(self.samples.with_samples(points, labels), f"Brush {len(points)} samples", ev)
        if ev.isFinish():
            self._gesture = None

    def _gesture_for(self, ev, x: float, y: float) -> str:
        if self.brush_on:
            self._stroke = []
            return "brush"
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return "select"
        grabbed = self.sample_at(x, y)
        if grabbed is None:
            return "pan"
        self._moving = self.selection if grabbed in self.selection else np.array([grabbed])
        return "move"

    def _report(self, edited: SampleSet, description: str, ev) -> None:
        if ev.isFinish():
            self.editRequested.emit(edited, description)
        else:
            self.previewRequested.emit(edited)
