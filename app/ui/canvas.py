"""The 2-D canvas: samples, the prediction background with its decision contour, and first-layer neuron lines.
Clicks become sample requests; drawing happens only in refresh(), which the display timer calls."""

from __future__ import annotations

import functools
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QCursor, QPainter
from PySide6.QtWidgets import QGraphicsRectItem, QToolTip

from app.core.dataset import BLUE, RED, SampleSet
from app.core.fields import neuron_zero_curves, prediction_field
from app.core.geometry import Rect, clip_line
from app.core.network import NetworkSpec, split_params
from app.core.regions import (
    MAX_REGIONS,
    PIECEWISE_LINEAR,
    SAMPLED_PIXELS,
    Regions,
    affine_text,
    local_affine,
    network_regions,
    pattern_codes,
    pattern_text,
)  # fmt: skip
from app.ui.palette import CLASS_RGB, neuron_rgb, pattern_colours, prediction_lut, slope_colours
from app.ui.sample_view_box import QtSampleViewBox
from app.ui.scatter import cached_scatter

MAX_FIELD_PIXELS = 512  # per side
MIN_FIELD_PIXELS = 32
SHARP_SECONDS = 0.030  # time budget of one background: big networks get fewer pixels, smoothly scaled up
PREVIEW_SECONDS = 0.003  # while epochs stream in or the user drags; the sharp picture follows once they stop
PIXEL_SECONDS, PIXEL_SECONDS_PER_PARAM = 2.5e-7, 5e-10  # a background pixel's cost, guessed before measuring
MIN_CURVE_PIXELS = 32
CURVE_PIXELS = 160  # grid of the deeper-layer zero-level curves (they are interpolated, so smooth anyway)
TICK_FRACTION = 0.04  # length of the positive-side tick, as a fraction of the view's width
HOVER_PIXELS = 6  # how close the cursor must be to a boundary to name it
MAX_ZOOM = 1e4  # the widest view, relative to the data's extent
MIN_VIEW_WIDTH = 1e-4  # the narrowest view, in data units
REGION_ALPHA = 70
MIN_SAMPLED_PIXELS = 120
OVERVIEW_DOTS = 5000  # at most this many samples drawn by a canvas that only shows (not edits) them
REGION_EDGE_PEN = pg.mkPen((40, 40, 40, 150), width=1)


@functools.lru_cache(maxsize=512)
def _pen(colour: tuple[int, ...], width: float) -> pg.QtGui.QPen:
    """One pen per colour and width, made once: the canvas asks for every line's pen at every frame."""
    return pg.mkPen(colour, width=width)


def _show_dots(item: pg.ScatterPlotItem, points: np.ndarray) -> None:
    """Sets a scatter's points and hides it when there are none (an empty scatter still costs a paint)."""
    item.setData(pos=points)
    item.setVisible(len(points) > 0)


class QtCanvas(pg.PlotWidget):
    sampleRequested = Signal(float, float, int)  # x, y, label
    samplesEdited = Signal(object, str)  # a new SampleSet from a gesture, and its description for undo
    regionClicked = Signal(float, float)  # regions overlay on: Ctrl+click (a plain click if not editable)

    def __init__(self, parent=None, interactive: bool = True):
        view_box = QtSampleViewBox() if interactive else pg.ViewBox()
        super().__init__(parent=parent, background="w", viewBox=view_box)
        self.interactive = interactive
        self.brush_tool_on = False  # the toolbar's brush; holding B brushes too
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        # Smooth scaling makes the coarse preview raster look like a picture rather than blocks.
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.view_box = self.plotItem.getViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.disableAutoRange()
        # The axes' room for tick labels grows and never shrinks. Here, with the aspect locked, a left axis
        # that narrows for shorter labels widens the view, which changes the y range and so the labels: in
        # a soak run the axis went back and forth on every paint and the window stopped answering.
        for name in ("left", "bottom"):
            self.plotItem.getAxis(name).setStyle(autoReduceTextSpace=False)

        self.background_image = pg.ImageItem(axisOrder="row-major")
        self.background_image.setLookupTable(prediction_lut())
        self.background_image.setLevels((0.0, 1.0))
        self.background_image.setZValue(-10)
        self.addItem(self.background_image)
        self.region_image = pg.ImageItem(axisOrder="row-major")
        self.region_image.setZValue(-9)
        self.region_image.setVisible(False)
        self.addItem(self.region_image)
        self.show_regions = False
        self.regions_fill = "patterns"  # "none", "patterns" (a pale colour per region) or "slope"
        self.regions: Regions | None = None  # the partition drawn, when the overlay is on
        self.region_edges = pg.PlotCurveItem(pen=REGION_EDGE_PEN, connect="finite")
        self.region_edges.setZValue(4)
        self.region_edges.setVisible(False)
        self.addItem(self.region_edges)
        self.regions_note = pg.TextItem(color=(60, 20, 20), fill=(255, 255, 255, 200), anchor=(0, 0))
        self.regions_note.setZValue(30)
        self.regions_note.setVisible(False)
        self.addItem(self.regions_note)
        self.data_frame = QGraphicsRectItem()
        self.data_frame.setPen(pg.mkPen((90, 90, 90), width=1.2, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.data_frame.setZValue(4)
        self.data_frame.setVisible(False)
        self.addItem(self.data_frame)
        self.decision_curve = pg.PlotCurveItem(pen=pg.mkPen((40, 40, 40), width=2.5), connect="finite")
        self.decision_curve.setZValue(5)
        self.addItem(self.decision_curve)
        self.neuron_lines: list[pg.PlotCurveItem] = []
        self.deep_curves: dict[int, list[pg.PlotCurveItem]] = {}  # hidden layer (>= 1) -> one per neuron
        self.deep_layers_shown: set[int] = set()
        self._curve_points: dict[tuple[int, int], np.ndarray] = {}  # (layer, neuron) -> drawn points
        self.hover_text = ""
        self.selected: tuple[int, int] | None = None  # (layer, neuron) highlighted; the others fade
        self._seconds_per_pixel = PIXEL_SECONDS
        self.sample_dots = []  # training samples, filled: red, blue
        self.held_out_dots = []  # held-out test samples, hollow: red, blue
        for label in (RED, BLUE):
            dots = cached_scatter(
                size=10, pen=pg.mkPen((25, 25, 25), width=1.3), brush=pg.mkBrush(*CLASS_RGB[label])
            )
            hollow = cached_scatter(size=10, pen=pg.mkPen(*CLASS_RGB[label], width=2.2), brush=None)
            for item in (dots, hollow):
                item.setZValue(20)
                self.addItem(item)
            self.sample_dots.append(dots)
            self.held_out_dots.append(hollow)
        self.selection_rings = pg.ScatterPlotItem(size=17, pen=pg.mkPen((240, 170, 0), width=2.5), brush=None)
        self.selection_rings.setZValue(19)
        self.addItem(self.selection_rings)
        self._held_out = np.zeros(0, bool)
        self._hover_point: tuple[float, float] | None = None

        self.samples = SampleSet.empty()
        self.spec: NetworkSpec | None = None
        self.params: np.ndarray | None = None
        self.frames_drawn = 0
        self._dirty = True
        self.showing_preview = False
        if interactive:
            self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.scene().sigMouseClicked.connect(self._on_click)
            self.scene().sigMouseMoved.connect(self._on_hover)
            self.view_box.previewRequested.connect(self._draw_samples)
            self.view_box.editRequested.connect(self.samplesEdited)
            self.view_box.selectionChanged.connect(self._draw_selection)
        else:
            self.scene().sigMouseClicked.connect(self._on_region_click)
            self.scene().sigMouseMoved.connect(self._on_hover)  # names boundaries and regions here too
            self.view_box.setMouseEnabled(x=False, y=False)
            self.plotItem.hideAxis("left")
            self.plotItem.hideAxis("bottom")
        self.view_box.sigRangeChanged.connect(self.redraw)
        self.view_box.sigResized.connect(self.redraw)

    # --- model state in -------------------------------------------------------------------------------
    def set_samples(self, samples: SampleSet, held_out: np.ndarray | None = None) -> None:
        """Draws the samples: training ones filled, held-out ones (mask `held_out`) hollow."""
        self.samples = samples
        xmin, xmax, ymin, ymax = samples.extent()
        self.data_frame.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        # Zooming in is limited in absolute terms, so that one far outlier does not block a close look at
        # the rest; zooming out goes to MAX_ZOOM times the data's extent, or the narrowest view's if the data
        # is smaller (two points 1e-100 apart once gave limits that left the view empty).
        narrowest = MIN_VIEW_WIDTH
        widest = MAX_ZOOM * max(xmax - xmin, ymax - ymin, narrowest)
        self.view_box.setLimits(minXRange=narrowest, maxXRange=widest, minYRange=narrowest, maxYRange=widest)
        self._held_out = np.zeros(samples.n, bool) if held_out is None else held_out
        if self.interactive:
            self.view_box.samples = samples
            self.view_box.set_selection([i for i in self.view_box.selection if i < samples.n])
        self._draw_samples(samples)

    def _draw_samples(self, samples: SampleSet) -> None:
        """Draws these samples (the model's, or a gesture's preview): training filled, held-out hollow."""
        held_out = np.zeros(samples.n, bool)
        known = min(samples.n, len(self._held_out))
        held_out[:known] = self._held_out[:known]
        # An overview (the extrapolation view) shows an even sample of a very large set: the same picture
        # at that scale, for a tenth of the painting.
        shown = np.zeros(samples.n, bool)
        shown[:: max(1, -(-samples.n // OVERVIEW_DOTS)) if not self.interactive else 1] = True
        for label in (RED, BLUE):
            of_class = (samples.labels == label) & shown
            _show_dots(self.sample_dots[label], samples.points[of_class & ~held_out])
            _show_dots(self.held_out_dots[label], samples.points[of_class & held_out])
        if self.interactive:
            selected = self.view_box.selection
            _show_dots(self.selection_rings, samples.points[selected[selected < samples.n]])

    def _draw_selection(self, indices: np.ndarray) -> None:
        _show_dots(self.selection_rings, self.samples.points[indices])

    def show_network(self, spec: NetworkSpec, params: np.ndarray) -> None:
        """Marks the network to draw at the next refresh; cheap, so it may be called for every epoch."""
        if spec != self.spec:
            self.deep_layers_shown = {k for k in self.deep_layers_shown if k < len(spec.widths)}
            # A first guess of the new network's cost, so that the first sharp picture of an 8x64 network
            # keeps to its budget rather than taking a second; measured frames refine it.
            self._seconds_per_pixel = PIXEL_SECONDS + PIXEL_SECONDS_PER_PARAM * spec.n_params
        self.spec = spec
        self.params = params
        self._dirty = True

    def show_layer_curves(self, layer: int, shown: bool) -> None:
        """Shows or hides the zero-level curves of hidden layer `layer` (0-based, >= 1)."""
        (self.deep_layers_shown.add if shown else self.deep_layers_shown.discard)(layer)
        self._dirty = True

    def set_selected(self, selected: tuple[int, int] | None) -> None:
        self.selected = selected
        self._dirty = True

    def neuron_pen(self, layer: int, neuron: int, width: float) -> pg.QtGui.QPen:
        """The neuron's colour; thicker when selected, faded when another neuron is."""
        r, g, b = neuron_rgb(layer, neuron, self.spec.widths)
        if self.selected is None:
            return _pen((r, g, b), width)
        if self.selected == (layer, neuron):
            return _pen((r, g, b), 2 * width)
        return _pen((r, g, b, 60), width)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def fit_data(self, margin: float = 0.15) -> None:
        xmin, xmax, ymin, ymax = self.samples.extent()
        dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
        self.view_box.setRange(xRange=(xmin - dx, xmax + dx), yRange=(ymin - dy, ymax + dy), padding=0)

    def zoom_about_data(self, factor: float) -> None:
        """Frames the data, then zooms out by `factor` (> 1) or in (< 1) about the data's centre."""
        self.fit_data()
        self.zoom(factor)

    def zoom(self, factor: float, centre: tuple[float, float] | None = None) -> None:
        """Zooms out by `factor` (in if < 1) about `centre` (default: the view's centre)."""
        rect = self.view_rect()
        cx, cy = centre if centre is not None else ((rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2)
        half_w, half_h = rect.width * factor / 2, rect.height * factor / 2
        self.view_box.setRange(
            xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h), padding=0
        )

    def set_view_rect(self, rect: Rect) -> None:
        self.view_box.setRange(xRange=(rect.xmin, rect.xmax), yRange=(rect.ymin, rect.ymax), padding=0)

    def set_show_regions(self, shown: bool) -> None:
        self.show_regions = shown
        self.region_image.setVisible(shown and self.regions_fill != "none")
        self.region_edges.setVisible(shown)
        if not shown:
            self.regions_note.setVisible(False)
            self.regions = None
        self._dirty = True

    def set_regions_fill(self, fill: str) -> None:
        self.regions_fill = fill
        self.set_show_regions(self.show_regions)

    def event(self, event) -> bool:
        """Pinch on a touchpad zooms about the cursor, like the wheel."""
        if (
            event.type() == QEvent.Type.NativeGesture
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            point = self.view_box.mapSceneToView(self.mapToScene(event.position().toPoint()))
            self.zoom(1.0 / (1.0 + event.value()), (point.x(), point.y()))
            return True
        return super().event(event)

    def view_rect(self) -> Rect:
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        return Rect(x0, x1, y0, y1)

    # --- drawing ----------------------------------------------------------------------------------------
    def redraw(self, *_args) -> None:
        """Asks for a full redraw at the next refresh."""
        self._dirty = True

    def render_full(self) -> None:
        """Draws at full resolution whatever the time it takes (exports: the same picture every time)."""
        self._dirty = True
        self.refresh(full=True)

    def refresh(self, preview: bool = False, full: bool = False) -> bool:
        """Redraws background, contour and neuron lines if anything changed, or sharpens a preview when
        preview is False; returns whether it drew. A preview computes the background on a coarser grid."""
        if self.spec is None or self.params is None:
            return False
        if not (self._dirty or (self.showing_preview and not preview)):
            return False
        self._dirty = False
        self.showing_preview = preview
        rect = self.view_rect()
        nx, ny = self._raster_size(None if full else PREVIEW_SECONDS if preview else SHARP_SECONDS)
        started = time.perf_counter()
        field = prediction_field(self.spec, self.params, rect, nx, ny)
        measured = (time.perf_counter() - started) / (nx * ny)
        self._seconds_per_pixel = 0.7 * self._seconds_per_pixel + 0.3 * measured
        self.background_image.setImage(field.values, autoLevels=False, levels=(0.0, 1.0))
        self.background_image.setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
        curve = field.decision_curve()
        self.decision_curve.setData(curve[:, 0], curve[:, 1]) if len(curve) else self.decision_curve.clear()
        self._draw_first_layer(rect)
        self._draw_deeper_layers(rect, preview)
        if self.show_regions:
            self._draw_regions(field)
        data = self.data_frame.rect()
        self.data_frame.setVisible(rect.width > 2.5 * max(data.width(), data.height(), 1e-300))
        self.frames_drawn += 1
        return True

    def _draw_regions(self, field) -> None:
        """The activation-pattern regions of the whole network over the view: their edges, the decision
        boundary as the exact polyline it is inside them (piecewise linear networks), and a fill."""
        # Sign-pattern regions (smooth activations) are found on a grid: as fine as the raster, within bounds.
        pixels = int(np.clip(len(field.xs), MIN_SAMPLED_PIXELS, SAMPLED_PIXELS))
        self.regions = network_regions(self.spec, self.params, field.rect, pixels=pixels)
        self.region_edges.setData(self.regions.edges[:, 0], self.regions.edges[:, 1])
        if self.regions.exact and self.regions.complete:
            boundary = self.regions.boundary
            if len(boundary):
                self.decision_curve.setData(boundary[:, 0], boundary[:, 1])
            else:
                self.decision_curve.clear()
        self.regions_note.setText(self._regions_caption())
        self.regions_note.setPos(field.rect.xmin, field.rect.ymax)
        self.regions_note.setVisible(True)
        if self.regions_fill == "none":
            return
        if self.regions_fill == "slope":
            pixel = (field.rect.width / len(field.xs), field.rect.height / len(field.ys))
            rgba = slope_colours(field.logits, *pixel)
        else:
            codes = pattern_codes(self.spec, self.params, field.xs, field.ys)
            rgba = pattern_colours(codes >> np.uint64(40), alpha=REGION_ALPHA)
        self.region_image.setImage(rgba, autoLevels=False)
        self.region_image.setRect(
            QRectF(field.rect.xmin, field.rect.ymin, field.rect.width, field.rect.height)
        )

    def _regions_caption(self) -> str:
        regions = self.regions
        if not regions.complete:
            return f"More than {MAX_REGIONS:,} regions in view: zoom in to see them all"
        if regions.exact:
            return f"{regions.count:,} linear regions in view"
        return (
            f"{regions.count:,} sign-pattern regions in view ({self.spec.activation} is not linear on them)"
        )

    def regions_text(self, x: float, y: float) -> str:
        """The region under (x, y): its activation pattern, layer by layer, and for piecewise linear networks
        the output logit's affine function there."""
        pattern, gradient, offset = local_affine(self.spec, self.params, np.array([x, y]))
        text = f"Region: {pattern_text(pattern, self.spec.widths)}"
        if self.spec.activation in PIECEWISE_LINEAR:
            return f"{text}\n{affine_text(gradient, offset)} (the whole network, here)"
        return f"{text}\n(sign-pattern region: tanh and sigmoid are not linear on it)"

    def _raster_size(self, seconds: float | None) -> tuple[int, int]:
        """Pixels of the background raster: the view's aspect, as many as fit the time budget, capped."""
        size = self.view_box.size()
        width, height = max(size.width(), 1.0), max(size.height(), 1.0)
        budget = np.inf if seconds is None else max(seconds / self._seconds_per_pixel, MIN_FIELD_PIXELS**2)
        scale = min(1.0, np.sqrt(budget / (width * height)), MAX_FIELD_PIXELS / max(width, height))
        return (int(np.clip(width * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)),
                int(np.clip(height * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)))  # fmt: skip

    def _draw_deeper_layers(self, rect: Rect, preview: bool) -> None:
        for layer in list(self.deep_curves):
            if layer not in self.deep_layers_shown or layer >= len(self.spec.widths):
                for curve in self.deep_curves.pop(layer):
                    self.removeItem(curve)
                self._curve_points = {k: v for k, v in self._curve_points.items() if k[0] != layer}
        # Big networks get a coarser grid (the curves are interpolated on it), within the frame's budget.
        budget = np.sqrt((PREVIEW_SECONDS if preview else SHARP_SECONDS) / self._seconds_per_pixel)
        pixels = int(np.clip(budget, MIN_CURVE_PIXELS, CURVE_PIXELS // 2 if preview else CURVE_PIXELS))
        for layer in sorted(self.deep_layers_shown):
            curves = self.deep_curves.setdefault(layer, [])
            width = self.spec.widths[layer]
            while len(curves) > width:
                self.removeItem(curves.pop())
            while len(curves) < width:
                curve = pg.PlotCurveItem(connect="finite")
                curve.setZValue(9)
                self.addItem(curve)
                curves.append(curve)
            levels = neuron_zero_curves(self.spec, self.params, rect, pixels, pixels, layer)
            for j, (curve, points) in enumerate(zip(curves, levels, strict=True)):
                curve.setPen(self.neuron_pen(layer, j, 2.0))
                curve.setData(points[:, 0], points[:, 1]) if len(points) else curve.setData([], [])
                self._curve_points[(layer, j)] = points

    def _draw_first_layer(self, rect: Rect) -> None:
        weights, biases = split_params(self.spec, self.params)[0]
        while len(self.neuron_lines) > len(biases):
            self.removeItem(self.neuron_lines.pop())
        while len(self.neuron_lines) < len(biases):
            line = pg.PlotCurveItem(connect="pairs")
            line.setZValue(10)
            self.addItem(line)
            self.neuron_lines.append(line)
        tick = TICK_FRACTION * rect.width
        for j, line in enumerate(self.neuron_lines):
            line.setPen(self.neuron_pen(0, j, 2.5))
            segment = clip_line(weights[j], biases[j], rect)
            if segment is None:
                line.setData([], [])
                continue
            # Ticks spread along their lines so that lines crossing near the centre keep distinct marks.
            along = 0.25 + 0.5 * (j + 0.5) / len(self.neuron_lines)
            middle = segment[0] + along * (segment[1] - segment[0])
            normal = weights[j] / np.linalg.norm(weights[j])
            points = np.vstack([segment, middle, middle + tick * normal])
            line.setData(points[:, 0], points[:, 1])

    # --- hover: name the boundary under the cursor ----------------------------------------------------------
    def boundary_near(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, neuron) of the drawn boundary within HOVER_PIXELS of the data point (x, y), if any."""
        if self.spec is None or self.params is None:
            return None
        rect = self.view_rect()
        reach = HOVER_PIXELS * rect.width / max(self.view_box.width(), 1.0)
        best, best_distance = None, reach
        weights, biases = split_params(self.spec, self.params)[0]
        norms = np.linalg.norm(weights, axis=1)
        distances = np.abs(weights @ np.array([x, y]) + biases) / np.where(norms > 0, norms, np.inf)
        j = int(np.argmin(distances))
        if distances[j] <= best_distance:
            best, best_distance = (0, j), distances[j]
        for key, points in self._curve_points.items():
            if len(points):
                d = np.nanmin(np.hypot(points[:, 0] - x, points[:, 1] - y))
                if d < best_distance:
                    best, best_distance = key, d
        return best

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
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.LeftButton:
            label = 1 - current if shift else current
        elif event.button() == Qt.MouseButton.RightButton:
            label = 1 - current
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
