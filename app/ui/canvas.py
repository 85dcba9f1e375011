"""The 2-D canvas: samples, the prediction background with its decision contour, the neurons' lines (drawn by
neuron_lines) and the regions overlay (regions_overlay). Clicks become sample requests; drawing happens only
in refresh(), which the display timer calls."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsRectItem

from app.core.dataset import SampleSet
from app.core.fields import class_field, prediction_field
from app.core.geometry import Rect
from app.core.network import NetworkSpec
from app.core.regions import Regions
from app.ui.canvas_gestures import CanvasGestures
from app.ui.canvas_key import CanvasKeys
from app.ui.class_colours import class_background, class_key_rows, class_scatters
from app.ui.neuron_lines import NeuronLines
from app.ui.palette import prediction_lut
from app.ui.regions_overlay import RegionsOverlay, region_text
from app.ui.sample_view_box import QtSampleViewBox

MAX_FIELD_PIXELS = 512  # per side
MIN_FIELD_PIXELS = 32
SHARP_SECONDS = 0.030  # time budget of one background: big networks get fewer pixels, smoothly scaled up
PREVIEW_SECONDS = 0.003  # while epochs stream in or the user drags; the sharp picture follows once they stop
PIXEL_SECONDS, PIXEL_SECONDS_PER_PARAM = 2.5e-7, 5e-10  # a background pixel's cost, guessed before measuring
MIN_CURVE_PIXELS = 32
CURVE_PIXELS = 160  # grid of the deeper-layer zero-level curves (they are interpolated, so smooth anyway)
MAX_ZOOM = 1e4  # the widest view, relative to the data's extent
MIN_VIEW_WIDTH = 1e-4  # the narrowest view, in data units
OVERVIEW_DOTS = 5000  # at most this many samples drawn by a canvas that only shows (not edits) them


def _show_dots(item: pg.ScatterPlotItem, points: np.ndarray, shown: bool = True) -> None:
    """Sets a scatter's points and hides it when there are none (an empty scatter still costs a paint)."""
    item.setData(pos=points)
    item.setVisible(shown and len(points) > 0)


def _show_curve(item: pg.PlotCurveItem, points: np.ndarray) -> None:
    """Sets a curve's NaN-separated (m, 2) points, or clears it when there are none."""
    item.setData(points[:, 0], points[:, 1]) if len(points) else item.clear()


class QtCanvas(CanvasGestures, pg.PlotWidget):
    sampleRequested = Signal(float, float, int)  # x, y, label
    samplesEdited = Signal(object, str)  # a new SampleSet from a gesture, and its description for undo
    regionClicked = Signal(float, float)  # regions overlay on: Ctrl+click (a plain click if not editable)

    def __init__(self, parent=None, interactive: bool = True):
        view_box = QtSampleViewBox() if interactive else pg.ViewBox()
        super().__init__(parent=parent, background="w", viewBox=view_box)
        self.interactive = interactive
        self.sharp_seconds = SHARP_SECONDS  # the time budget of a sharp background (an overview takes less)
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
        self.regions_overlay = RegionsOverlay(self)
        overlay = self.regions_overlay
        self.region_image, self.region_edges, self.regions_note = overlay.image, overlay.edges, overlay.note
        self.data_frame = QGraphicsRectItem()
        self.data_frame.setPen(pg.mkPen((90, 90, 90), width=1.2, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.data_frame.setZValue(4)
        self.data_frame.setVisible(False)
        self.addItem(self.data_frame)
        self.decision_curve = pg.PlotCurveItem(pen=pg.mkPen((40, 40, 40), width=2.5), connect="finite")
        self.decision_curve.setZValue(5)
        self.addItem(self.decision_curve)
        self.boundaries = NeuronLines(self)  # the neurons' lines and curves
        self.hover_text = ""
        self._seconds_per_pixel = PIXEL_SECONDS
        # Per class (red, blue, then class_colours' palette): training samples filled, held-out ones hollow.
        self.sample_dots, self.held_out_dots = class_scatters(self)
        self.selection_rings = pg.ScatterPlotItem(size=17, pen=pg.mkPen((240, 170, 0), width=2.5), brush=None)
        self.selection_rings.setZValue(19)
        self.addItem(self.selection_rings)
        self.highlight_ring = pg.ScatterPlotItem(size=22, pen=pg.mkPen((20, 20, 20), width=3), brush=None)
        self.highlight_ring.setZValue(21)  # another view's hovered sample (the hidden space's), over the dots
        self.addItem(self.highlight_ring)
        self._held_out = np.zeros(0, bool)
        self.show_samples = True
        # The keys (colour bar, legend, neuron tags) explain the main canvas; the overview goes without.
        self.keys = CanvasKeys(self.view_box) if interactive else None
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
        self.view_box.sigRangeChanged.connect(self._axes_follow_view)
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
        self._dirty = True  # the keys follow the samples (held-out ones, the corner they leave free)
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
        for label in range(len(self.sample_dots)):
            of_class = (samples.labels == label) & shown
            _show_dots(self.sample_dots[label], samples.points[of_class & ~held_out], self.show_samples)
            _show_dots(self.held_out_dots[label], samples.points[of_class & held_out], self.show_samples)
        if self.interactive:
            selected = self.view_box.selection
            _show_dots(self.selection_rings, samples.points[selected[selected < samples.n]])

    def _draw_selection(self, indices: np.ndarray) -> None:
        _show_dots(self.selection_rings, self.samples.points[indices])

    def highlight_sample(self, index: int | None) -> None:
        """Rings sample `index` (hovered in another view), or no sample for None."""
        known = index is not None and 0 <= index < self.samples.n
        _show_dots(self.highlight_ring, self.samples.points[[index] if known else []])

    # --- the editing tools (the toolbar's) ---------------------------------------------------------------
    def set_current_label(self, label: int) -> None:
        """The class that clicks and the brush add (the other class: right click, or Shift)."""
        self.view_box.current_label = label

    def set_brush(self, on: bool) -> None:
        """The toolbar's brush: while on, a drag sprays samples (holding B brushes too)."""
        self.brush_tool_on = on
        self.view_box.brush_on = on

    def set_brush_density(self, n: int) -> None:
        """Samples the brush sprays per mouse move."""
        self.view_box.brush_density = n

    def show_network(self, spec: NetworkSpec, params: np.ndarray) -> None:
        """Marks the network to draw at the next refresh; cheap, so it may be called for every epoch."""
        if spec != self.spec:
            self.boundaries.keep_layers_of(spec)
            # A first guess of the new network's cost, so that the first sharp picture of an 8x64 network
            # keeps to its budget rather than taking a second; measured frames refine it.
            self._seconds_per_pixel = PIXEL_SECONDS + PIXEL_SECONDS_PER_PARAM * spec.n_params
            if self.spec is None or spec.classes != self.spec.classes:  # more than two: an RGB image
                self.background_image.setLookupTable(prediction_lut() if spec.classes == 2 else None)
        self.spec = spec
        self.params = params
        self._dirty = True

    def show_layer_curves(self, layer: int, shown: bool) -> None:
        """Shows or hides the zero-level curves of hidden layer `layer` (0-based, >= 1)."""
        (self.boundaries.layers_shown.add if shown else self.boundaries.layers_shown.discard)(layer)
        self._dirty = True

    def set_selected(self, selected: tuple[int, int] | None) -> None:
        self.boundaries.selected = selected
        self._dirty = True

    def neuron_pen(self, layer: int, neuron: int, width: float) -> pg.QtGui.QPen:
        """The neuron's colour; thicker when selected, faded when another neuron is."""
        return self.boundaries.pen(self.spec.widths, layer, neuron, width)

    @property
    def neuron_lines(self) -> list[pg.PlotCurveItem]:
        return self.boundaries.first_layer

    @property
    def deep_curves(self) -> dict[int, list[pg.PlotCurveItem]]:
        """Hidden layer (>= 1) -> its neurons' zero-level curves."""
        return self.boundaries.deep_curves

    @property
    def deep_layers_shown(self) -> set[int]:
        return self.boundaries.layers_shown

    @property
    def selected(self) -> tuple[int, int] | None:
        """(layer, neuron) highlighted; the others fade."""
        return self.boundaries.selected

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

    # --- what is drawn (View menu): samples only is the article's first figure ------------------------------
    def set_show_samples(self, shown: bool) -> None:
        self.show_samples = shown
        self._draw_samples(self.samples)
        self._dirty = True

    def set_show_background(self, shown: bool) -> None:
        """The prediction background (and its colour bar)."""
        self.background_image.setVisible(shown)
        self._dirty = True

    def set_show_neuron_lines(self, shown: bool) -> None:
        """The first-layer neurons' lines (and their tags)."""
        self.boundaries.shown = shown
        self._dirty = True

    def set_show_decision_boundary(self, shown: bool) -> None:
        self.decision_curve.setVisible(shown)
        self._dirty = True

    @property
    def show_background(self) -> bool:
        return self.background_image.isVisible()

    @property
    def show_neuron_lines(self) -> bool:
        return self.boundaries.shown

    @property
    def show_decision_boundary(self) -> bool:
        return self.decision_curve.isVisible()

    def set_show_regions(self, shown: bool) -> None:
        self.regions_overlay.set_shown(shown)
        self._dirty = True

    def set_regions_fill(self, fill: str) -> None:
        """The fill: "none", "patterns" (a pale colour per region) or "slope"."""
        self.regions_overlay.set_fill(fill)
        self._dirty = True

    @property
    def show_regions(self) -> bool:
        return self.regions_overlay.shown

    @property
    def regions_fill(self) -> str:
        return self.regions_overlay.fill

    @property
    def regions(self) -> Regions | None:
        """The partition drawn, while the overlay is on."""
        return self.regions_overlay.regions

    def regions_text(self, x: float, y: float) -> str:
        """The region under (x, y): its activation pattern, layer by layer, and for piecewise linear networks
        the output logit's affine function there."""
        return region_text(self.spec, self.params, x, y, self.samples.class_names)

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

    def _axes_follow_view(self, *_args) -> None:
        """Gives each axis the view's range. pyqtgraph (0.14) can change the y range without announcing it:
        where the zoom limit meets the locked aspect ratio, ViewBox.updateViewRange stores the new y range
        before comparing it with the old one, so the left axis kept its labels (±200 beside an x axis at
        ±20,000). The range signal still comes, as the x range changes with it (the axes follow a resize
        themselves)."""
        for name, view_range in zip(("bottom", "left"), self.view_box.viewRange(), strict=True):
            axis = self.plotItem.getAxis(name)
            if list(axis.range) != view_range:
                axis.linkedViewChanged(self.view_box)

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
        nx, ny = self._raster_size(None if full else PREVIEW_SECONDS if preview else self.sharp_seconds)
        started = time.perf_counter()
        two = self.spec.classes == 2  # two: P(blue) through prediction_lut; more: class_colours' RGB image
        field = (prediction_field if two else class_field)(self.spec, self.params, rect, nx, ny, drawing=True)
        measured = (time.perf_counter() - started) / (nx * ny)
        self._seconds_per_pixel = 0.7 * self._seconds_per_pixel + 0.3 * measured
        image = field.values if two else class_background(field)
        self.background_image.setImage(image, autoLevels=False, levels=(0.0, 1.0) if two else (0, 255))
        self.background_image.setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
        _show_curve(self.decision_curve, field.decision_curve())
        self.boundaries.draw_first_layer(self.spec, self.params, rect)
        # Big networks get a coarser grid (the curves are interpolated on it), within the frame's budget.
        budget = np.sqrt((PREVIEW_SECONDS if preview else self.sharp_seconds) / self._seconds_per_pixel)
        pixels = int(np.clip(budget, MIN_CURVE_PIXELS, CURVE_PIXELS // 2 if preview else CURVE_PIXELS))
        self.boundaries.draw_deeper_layers(self.spec, self.params, rect, pixels)
        if self.show_regions:
            boundary = self.regions_overlay.draw(self.spec, self.params, field)
            if boundary is not None:
                _show_curve(self.decision_curve, boundary)
        data = self.data_frame.rect()
        self.data_frame.setVisible(rect.width > 2.5 * max(data.width(), data.height(), 1e-300))
        if self.keys is not None:
            self.keys.update(
                background=self.show_background, boundary=self.show_decision_boundary,
                neurons=self.show_neuron_lines, held_out=self.show_samples and bool(self._held_out.any()),
                samples=self.samples.points, segments=self.boundaries.segments, widths=self.spec.widths,
                top_left_free=not self.show_regions, selected=self.selected,
                classes=class_key_rows(() if two else self.samples.class_names),
            )  # fmt: skip
        self.frames_drawn += 1
        return True

    def _raster_size(self, seconds: float | None) -> tuple[int, int]:
        """Pixels of the background raster: the view's aspect, as many as fit the time budget, capped."""
        size = self.view_box.size()
        width, height = max(size.width(), 1.0), max(size.height(), 1.0)
        budget = np.inf if seconds is None else max(seconds / self._seconds_per_pixel, MIN_FIELD_PIXELS**2)
        scale = min(1.0, np.sqrt(budget / (width * height)), MAX_FIELD_PIXELS / max(width, height))
        return (int(np.clip(width * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)),
                int(np.clip(height * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)))  # fmt: skip
