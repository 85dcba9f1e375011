"""Dragging a first-layer neuron's line on the canvas (issue 25): while one is selected, two round handles sit
on its line within the view; dragging one moves that point, and the line goes through both handles, its
weight vector keeping its length and, as far as it can, its active side (app.core.surgery.line_through).
While dragging, the canvas shows the provisional network (the history untouched); on release, one
SessionModel.edit_network: the run branches at the displayed epoch, undoable as "Move L1 N2's line"."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt

from app.core.geometry import Rect, clip_line
from app.core.network import split_params
from app.core.surgery import line_through, neuron_name, with_first_layer_line

HANDLE_PIXELS = 13
HANDLE_AT = (0.25, 0.75)  # where the handles first sit along the line's visible segment


class LineHandle(pg.TargetItem):
    """A round handle; a click on it is its own (the canvas adds no sample there)."""

    swallows_clicks = True

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
        else:
            super().mouseClickEvent(ev)


class LineHandles(QObject):
    def __init__(self, canvas, model, parent=None):
        super().__init__(parent)
        self.canvas, self.model = canvas, model
        self.neuron: int | None = None  # the first-layer neuron whose line the handles sit on
        self._line: tuple[np.ndarray, float] | None = None  # its (w, b), provisional while dragging
        self._base: np.ndarray | None = None  # the displayed params a drag started from
        pen, brush = pg.mkPen((20, 20, 20), width=2), pg.mkBrush(255, 255, 255, 230)
        self.handles = [LineHandle(size=HANDLE_PIXELS, symbol="o", pen=pen, brush=brush,
                                   hoverBrush=pg.mkBrush(255, 200, 60)) for _ in range(2)]  # fmt: skip
        for handle in self.handles:
            handle.setZValue(25)
            handle.setVisible(False)
            canvas.addItem(handle)
            handle.sigPositionChanged.connect(self._moved)
            handle.sigPositionChangeFinished.connect(self._released)
        model.selectionChanged.connect(self.place)
        model.epochChanged.connect(self.place)
        canvas.view_box.sigRangeChanged.connect(self.place)

    @property
    def dragging(self) -> bool:
        return any(handle.moving for handle in self.handles)

    def points(self) -> np.ndarray:
        return np.array([[h.pos().x(), h.pos().y()] for h in self.handles])

    def place(self, *_args) -> None:
        """Shows the handles on the selected first-layer neuron's line (where they are, if still on it and
        in view), or hides them."""
        if self.dragging:
            return
        model, selected = self.model, self.model.selected
        self.neuron, self._line, self._base = None, None, None
        segment = None
        if selected is not None and selected[0] == 0 and self.canvas.show_neuron_lines:
            weights, biases = split_params(model.spec, model.displayed_params())[0]
            w, b = weights[selected[1]].astype(np.float64), float(biases[selected[1]])
            segment = clip_line(w, b, self._inset(self.canvas.view_rect()))
        for handle in self.handles:
            handle.setVisible(segment is not None)
        if segment is None:
            return
        self.neuron, self._line = selected[1], (w, b)
        here = self.points()
        view = self.canvas.view_rect()
        if not (all(view.contains(*p) for p in here) and np.abs(here @ w + b).max() <= 1e-9 * np.hypot(*w)
                * max(view.width, 1.0) and np.ptp(here, axis=0).any()):  # fmt: skip
            for handle, t in zip(self.handles, HANDLE_AT, strict=True):
                handle.setPos(*(segment[0] + t * (segment[1] - segment[0])))

    @staticmethod
    def _inset(rect: Rect) -> Rect:
        dx, dy = 0.04 * rect.width, 0.04 * rect.height
        return Rect(rect.xmin + dx, rect.xmax - dx, rect.ymin + dy, rect.ymax - dy)

    def provisional(self) -> np.ndarray | None:
        """The network with the line through the handles (None when they give no line)."""
        if self._base is None:
            self._base = self.model.displayed_params()
        try:
            w, b = line_through(*self.points(), *self._line)
        except ValueError:  # the handles on top of each other: the line stays as it was
            return None
        self._line = (w, b)  # the next move turns from here: the active side follows the line continuously
        return with_first_layer_line(self.model.spec, self._base, self.neuron, w, b)

    def _moved(self, _handle) -> None:
        if self.dragging and self.neuron is not None:
            params = self.provisional()
            if params is not None:
                self.canvas.show_network(self.model.spec, params)  # a preview: the history is untouched

    def _released(self, _handle) -> None:
        if self.neuron is None:
            return
        params = self.provisional()
        if params is None:
            self.place()
            return
        model = self.model
        model.edit_network(params, f"Move {neuron_name(0, self.neuron)}'s line", dict(model.switched_off))
