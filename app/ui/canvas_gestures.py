"""The canvas's gestures: hover names the boundary (and region) under the cursor; clicks add, delete and pick
samples or regions; Delete, B and Escape on the keyboard. QtCanvas (canvas.py) mixes them in; they read its
samples, view box, network and options, and speak through its signals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QToolTip

from app.core.network import split_params

HOVER_PIXELS = 6  # how close the cursor must be to a boundary to name it


class CanvasGestures:
    """Gesture handling of QtCanvas (a mixin: it has no state of its own)."""

    # --- hover: name the boundary under the cursor ----------------------------------------------------------
    def boundary_near(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, neuron) of the drawn boundary within HOVER_PIXELS of the data point (x, y), if any."""
        if self.spec is None or self.params is None:
            return None
        reach = HOVER_PIXELS * self.view_rect().width / max(self.view_box.width(), 1.0)
        return self.boundaries.near(self.spec, self.params, x, y, reach)

    def describe_neuron(self, layer: int, neuron: int) -> str:
        w, b = split_params(self.spec, self.params)[layer]
        weights = ", ".join(f"{v:.3g}" for v in w[neuron][:8]) + (", …" if w.shape[1] > 8 else "")
        return f"L{layer + 1} N{neuron + 1}: weights ({weights}), bias {b[neuron]:.3g}"

    def _on_hover(self, scene_pos) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return
        point = self.view_box.mapSceneToView(scene_pos)
        self._hover_point = (point.x(), point.y())
        found = self.boundary_near(point.x(), point.y())
        text = self.describe_neuron(*found) if found else ""
        if self.show_regions and self.params is not None:
            text = "\n".join(t for t in (text, self.regions_text(point.x(), point.y())) if t)
        if text != self.hover_text:
            self.hover_text = text
            if text:
                QToolTip.showText(QCursor.pos(), text, self)
            else:
                QToolTip.hideText()

    # --- gestures out -----------------------------------------------------------------------------------
    def _on_region_click(self, event) -> None:
        if self.show_regions and event.button() == Qt.MouseButton.LeftButton and not event.double():
            point = self.view_box.mapSceneToView(event.scenePos())
            self.regionClicked.emit(point.x(), point.y())

    def _on_click(self, event) -> None:
        if event.double() or not self.view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        if event.isAccepted() and getattr(event.currentItem, "swallows_clicks", False):  # a line's handle
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        if self.show_regions and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.accept()
            self.regionClicked.emit(point.x(), point.y())
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            event.accept()
            self.delete_at(point.x(), point.y())
            return
        current = self.view_box.current_label
        k = self.samples.classes
        other = (current + 1) % max(k, current + 1)  # the next class (of two: the other)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.LeftButton:
            label = other if shift else current
        elif event.button() == Qt.MouseButton.RightButton:
            label = other
        else:
            return
        event.accept()
        self.sampleRequested.emit(point.x(), point.y(), label)

    def delete_at(self, x: float, y: float) -> None:
        i = self.view_box.sample_at(x, y)
        if i is not None:
            self.samplesEdited.emit(self.samples.without_sample(i), "Delete sample")

    def delete_selected_or_hovered(self) -> None:
        """Delete/Backspace: removes the selected samples, else the one under the cursor."""
        selected = self.view_box.selection
        if len(selected):
            edited = self.samples.without_samples(selected)
            self.view_box.set_selection([])
            self.samplesEdited.emit(
                edited, f"Delete {len(selected)} sample{'s' if len(selected) > 1 else ''}"
            )
        elif self._hover_point is not None:
            self.delete_at(*self._hover_point)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected_or_hovered()
        elif event.key() == Qt.Key.Key_B and not event.isAutoRepeat():
            self.view_box.brush_on = True  # held B: brush until released
        elif event.key() == Qt.Key.Key_Escape:
            self.view_box.set_selection([])
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_B and not event.isAutoRepeat():
            self.view_box.brush_on = self.brush_tool_on
        else:
            super().keyReleaseEvent(event)
