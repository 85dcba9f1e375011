"""The counterfactual network drawn dashed over a canvas: its decision boundary and first-layer lines, with
crosses on the samples it trained without, each named in the canvas's key while shown. The canvas's own
drawing is left as it is."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer

from app.core.fields import class_field, prediction_field
from app.core.geometry import clip_line
from app.core.network import NetworkSpec, split_params
from app.ui.canvas_key import COUNTERFACTUAL, LEFT_OUT
from app.ui.palette import neuron_rgb

GRID_PIXELS = 240  # the longer side of the grid the dashed decision boundary is traced on
DASH = Qt.PenStyle.DashLine


class CounterfactualOverlay:
    """Dashed items on `canvas` (a QtCanvas), redrawn when its view moves; nothing drawn until show()."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.spec: NetworkSpec | None = None
        self.params: np.ndarray | None = None
        self.grid = (GRID_PIXELS, GRID_PIXELS)  # the last grid traced (nx, ny)
        self.decision = pg.PlotCurveItem(pen=pg.mkPen((15, 15, 15), width=2.5, style=DASH), connect="finite")
        self.decision.setZValue(6)  # over the real boundary (5), under the samples
        self.lines: list[pg.PlotCurveItem] = []
        self.removed = pg.ScatterPlotItem(symbol="x", size=15, pen=pg.mkPen((20, 20, 20), width=2),
                                          brush=pg.mkBrush(20, 20, 20))  # fmt: skip
        self.removed.setZValue(22)
        self.label = pg.TextItem(
            "", color=(15, 15, 15), anchor=(1.0, 1.0), fill=pg.mkBrush(255, 255, 255, 200)
        )
        self.label.setZValue(23)
        for item in (self.decision, self.removed, self.label):
            canvas.addItem(item, ignoreBounds=True)
            item.hide()
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # once per burst of view changes, after the canvas's own
        self._timer.timeout.connect(self.draw)
        canvas.view_box.sigRangeChanged.connect(self._schedule)
        canvas.view_box.sigResized.connect(self._schedule)

    @property
    def shown(self) -> bool:
        return self.params is not None

    def show(
        self, spec: NetworkSpec, params: np.ndarray | None, removed_points: np.ndarray, label: str
    ) -> None:
        """Draws the network `params` (None: only the crosses) dashed, and crosses on `removed_points`."""
        self.spec, self.params = spec, params
        points = np.asarray(removed_points, float).reshape(-1, 2)
        self.removed.setData(pos=points)
        self.removed.show()
        self.label.setText(label)
        self._name_in_key([COUNTERFACTUAL] * (params is not None) + [LEFT_OUT] * bool(len(points)))
        self.draw()

    def clear(self) -> None:
        self.spec = self.params = None
        self._timer.stop()
        for item in (self.decision, self.removed, self.label, *self.lines):
            item.hide()
        self._name_in_key([])

    def _name_in_key(self, rows: list[str]) -> None:
        """The canvas's key lists these rows after its own (from its next frame)."""
        keys = self.canvas.keys
        if keys is not None and keys.extra_rows != rows:
            keys.extra_rows = rows
            self.canvas.redraw()

    def _schedule(self, *_args) -> None:
        if self.params is not None:
            self._timer.start()

    def draw(self) -> None:
        """Traces the boundary over the canvas's view now."""
        if self.params is None:
            for item in (self.decision, self.label, *self.lines):
                item.hide()
            return
        spec, params, rect = self.spec, self.params, self.canvas.view_rect()
        aspect = rect.height / rect.width
        nx, ny = (GRID_PIXELS, max(8, round(GRID_PIXELS * aspect))) if aspect <= 1 else \
            (max(8, round(GRID_PIXELS / aspect)), GRID_PIXELS)  # fmt: skip
        self.grid = (nx, ny)
        field = (prediction_field if spec.classes == 2 else class_field)(spec, params, rect, nx, ny)
        points = field.decision_curve()
        if len(points):
            self.decision.setData(points[:, 0], points[:, 1])
        else:
            self.decision.clear()
        self.decision.show()
        self._draw_lines(spec, params, rect)
        self._place_label(points, rect)

    def _draw_lines(self, spec: NetworkSpec, params: np.ndarray, rect) -> None:
        weights, biases = split_params(spec, params)[0]
        while len(self.lines) < len(biases):
            line = pg.PlotCurveItem(connect="pairs")
            line.setZValue(11)  # over the real lines (10)
            self.canvas.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        shown = self.canvas.show_neuron_lines
        for j, line in enumerate(self.lines):
            segment = clip_line(weights[j], biases[j], rect) if j < len(biases) else None
            line.setVisible(shown and segment is not None)
            if segment is not None:
                line.setPen(pg.mkPen(neuron_rgb(0, j, spec.widths), width=2.0, style=DASH))
                segment = np.asarray(segment, float)
                line.setData(segment[:, 0], segment[:, 1])

    def _place_label(self, points: np.ndarray, rect) -> None:
        """The label at the dashed boundary's right end inside the view (its name where it is), else in the
        view's lower right corner."""
        finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
        margin = 0.02 * rect.width
        if len(finite):
            x, y = finite[np.argmax(finite[:, 0])]
            x, y = min(x, rect.xmax - margin), min(max(y, rect.ymin + 0.08 * rect.height), rect.ymax - margin)
        else:
            x, y = rect.xmax - margin, rect.ymin + 0.08 * rect.height
        self.label.setPos(x, y)
        self.label.setVisible(bool(self.label.textItem.toPlainText()))
