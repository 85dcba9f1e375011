"""A canvas's neuron boundaries: each first-layer neuron's line, ticked on its positive side, and the zero
level curves of the deeper layers shown; their pens (a selected neuron stands out); which is near a point."""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg

from app.core.fields import neuron_zero_curves
from app.core.geometry import Rect, clip_line
from app.core.network import NetworkSpec, split_params
from app.ui.palette import neuron_rgb

TICK_FRACTION = 0.04  # length of the positive-side tick, as a fraction of the view's width


@functools.lru_cache(maxsize=512)
def _pen(colour: tuple[int, ...], width: float) -> pg.QtGui.QPen:
    """One pen per colour and width, made once: the canvas asks for every line's pen at every frame."""
    return pg.mkPen(colour, width=width)


class NeuronLines:
    """The lines and curves on one plot, which deeper layers are shown and which neuron is selected."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.first_layer: list[pg.PlotCurveItem] = []
        self.deep_curves: dict[int, list[pg.PlotCurveItem]] = {}  # hidden layer (>= 1) -> one per neuron
        self.layers_shown: set[int] = set()
        self.selected: tuple[int, int] | None = None  # (layer, neuron) highlighted; the others fade
        self.shown = True  # whether the first layer's lines are drawn (View > Neuron lines)
        self.segments: list[np.ndarray | None] = []  # each first-layer line's visible segment, (2, 2) data
        self._curve_points: dict[tuple[int, int], np.ndarray] = {}  # (layer, neuron) -> drawn points

    def keep_layers_of(self, spec: NetworkSpec) -> None:
        """Forgets the shown layers that this network does not have."""
        self.layers_shown = {k for k in self.layers_shown if k < len(spec.widths)}

    def pen(self, widths: tuple[int, ...], layer: int, neuron: int, width: float) -> pg.QtGui.QPen:
        """The neuron's colour; thicker when selected, faded when another neuron is."""
        r, g, b = neuron_rgb(layer, neuron, widths)
        if self.selected is None:
            return _pen((r, g, b), width)
        if self.selected == (layer, neuron):
            return _pen((r, g, b), 2 * width)
        return _pen((r, g, b, 60), width)

    def draw_first_layer(self, spec: NetworkSpec, params: np.ndarray, rect: Rect) -> None:
        weights, biases = split_params(spec, params)[0]
        while len(self.first_layer) > len(biases):
            self.plot.removeItem(self.first_layer.pop())
        while len(self.first_layer) < len(biases):
            line = pg.PlotCurveItem(connect="pairs")
            line.setZValue(10)
            self.plot.addItem(line)
            self.first_layer.append(line)
        tick = TICK_FRACTION * rect.width
        self.segments = []
        for j, line in enumerate(self.first_layer):
            line.setVisible(self.shown)
            line.setPen(self.pen(spec.widths, 0, j, 2.5))
            segment = clip_line(weights[j], biases[j], rect)
            self.segments.append(None if segment is None else np.asarray(segment, float))
            if segment is None:
                line.setData([], [])
                continue
            # Ticks spread along their lines so that lines crossing near the centre keep distinct marks.
            along = 0.25 + 0.5 * (j + 0.5) / len(self.first_layer)
            middle = segment[0] + along * (segment[1] - segment[0])
            normal = weights[j] / np.linalg.norm(weights[j])
            points = np.vstack([segment, middle, middle + tick * normal])
            line.setData(points[:, 0], points[:, 1])

    def draw_deeper_layers(self, spec: NetworkSpec, params: np.ndarray, rect: Rect, pixels: int) -> None:
        """The shown layers' curves, traced on a grid of pixels x pixels over rect; the others removed."""
        for layer in list(self.deep_curves):
            if layer not in self.layers_shown or layer >= len(spec.widths):
                for curve in self.deep_curves.pop(layer):
                    self.plot.removeItem(curve)
                self._curve_points = {k: v for k, v in self._curve_points.items() if k[0] != layer}
        for layer in sorted(self.layers_shown):
            curves = self.deep_curves.setdefault(layer, [])
            width = spec.widths[layer]
            while len(curves) > width:
                self.plot.removeItem(curves.pop())
            while len(curves) < width:
                curve = pg.PlotCurveItem(connect="finite")
                curve.setZValue(9)
                self.plot.addItem(curve)
                curves.append(curve)
            levels = neuron_zero_curves(spec, params, rect, pixels, pixels, layer)
            for j, (curve, points) in enumerate(zip(curves, levels, strict=True)):
                curve.setPen(self.pen(spec.widths, layer, j, 2.0))
                curve.setData(points[:, 0], points[:, 1]) if len(points) else curve.setData([], [])
                self._curve_points[(layer, j)] = points

    def near(
        self, spec: NetworkSpec, params: np.ndarray, x: float, y: float, reach: float
    ) -> tuple[int, int] | None:
        """(layer, neuron) of the boundary nearest the point (x, y) within `reach` (data units), if any:
        first-layer lines anywhere, deeper curves as last drawn."""
        best, best_distance = None, reach
        weights, biases = split_params(spec, params)[0]
        norms = np.linalg.norm(weights, axis=1)
        distances = np.abs(weights @ np.array([x, y]) + biases) / np.where(norms > 0, norms, np.inf)
        j = int(np.argmin(distances))
        if self.shown and distances[j] <= best_distance:
            best, best_distance = (0, j), distances[j]
        for key, points in self._curve_points.items():
            if len(points):
                d = np.nanmin(np.hypot(points[:, 0] - x, points[:, 1] - y))
                if d < best_distance:
                    best, best_distance = key, d
        return best
