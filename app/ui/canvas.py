"""The 2-D canvas: samples, the prediction background with its decision contour, and first-layer neuron lines.
Clicks become sample requests; drawing happens only in refresh(), which the display timer calls."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter

from app.core.dataset import BLUE, RED, SampleSet
from app.core.fields import prediction_field
from app.core.geometry import Rect, clip_line
from app.core.network import NetworkSpec, split_params
from app.ui.palette import CLASS_RGB, neuron_rgb, prediction_lut

MAX_FIELD_PIXELS = 256
PREVIEW_PIXELS = 128  # while epochs stream in; the sharp picture follows once they stop
TICK_FRACTION = 0.04  # length of the positive-side tick, as a fraction of the view's width


class QtCanvas(pg.PlotWidget):
    sampleRequested = Signal(float, float, int)  # x, y, label

    def __init__(self, parent=None):
        super().__init__(parent=parent, background="w")
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        # Smooth scaling makes the coarse preview raster look like a picture rather than blocks.
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.view_box = self.plotItem.getViewBox()
        self.view_box.setAspectLocked(True)
        self.view_box.disableAutoRange()

        self.background_image = pg.ImageItem(axisOrder="row-major")
        self.background_image.setLookupTable(prediction_lut())
        self.background_image.setLevels((0.0, 1.0))
        self.background_image.setZValue(-10)
        self.addItem(self.background_image)
        self.decision_curve = pg.PlotCurveItem(pen=pg.mkPen((40, 40, 40), width=2.5), connect="finite")
        self.decision_curve.setZValue(5)
        self.addItem(self.decision_curve)
        self.neuron_lines: list[pg.PlotCurveItem] = []
        self.sample_dots = []
        for label in (RED, BLUE):
            dots = pg.ScatterPlotItem(
                size=10, pen=pg.mkPen((25, 25, 25), width=1.3), brush=pg.mkBrush(*CLASS_RGB[label])
            )
            dots.setZValue(20)
            self.addItem(dots)
            self.sample_dots.append(dots)

        self.samples = SampleSet.empty()
        self.spec: NetworkSpec | None = None
        self.params: np.ndarray | None = None
        self.frames_drawn = 0
        self._dirty = True
        self.showing_preview = False
        self.scene().sigMouseClicked.connect(self._on_click)
        self.view_box.sigRangeChanged.connect(self.redraw)
        self.view_box.sigResized.connect(self.redraw)

    # --- model state in -------------------------------------------------------------------------------
    def set_samples(self, samples: SampleSet) -> None:
        self.samples = samples
        for label, dots in zip((RED, BLUE), self.sample_dots, strict=True):
            dots.setData(pos=samples.points[samples.labels == label])

    def show_network(self, spec: NetworkSpec, params: np.ndarray) -> None:
        """Marks the network to draw at the next refresh; cheap, so it may be called for every epoch."""
        self.spec = spec
        self.params = params
        self._dirty = True

    def fit_data(self, margin: float = 0.15) -> None:
        xmin, xmax, ymin, ymax = self.samples.extent()
        dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
        self.view_box.setRange(xRange=(xmin - dx, xmax + dx), yRange=(ymin - dy, ymax + dy), padding=0)

    def view_rect(self) -> Rect:
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        return Rect(x0, x1, y0, y1)

    # --- drawing ----------------------------------------------------------------------------------------
    def redraw(self, *_args) -> None:
        """Asks for a full redraw at the next refresh."""
        self._dirty = True

    def refresh(self, preview: bool = False) -> bool:
        """Redraws background, contour and neuron lines if anything changed, or sharpens a preview when
        preview is False; returns whether it drew. A preview computes the background on a coarser grid."""
        if self.spec is None or self.params is None:
            return False
        if not (self._dirty or (self.showing_preview and not preview)):
            return False
        self._dirty = False
        self.showing_preview = preview
        rect = self.view_rect()
        size = self.view_box.size()
        limit = PREVIEW_PIXELS if preview else MAX_FIELD_PIXELS
        nx = int(np.clip(size.width(), 16, limit))
        ny = int(np.clip(size.height(), 16, limit))
        field = prediction_field(self.spec, self.params, rect, nx, ny)
        self.background_image.setImage(field.values, autoLevels=False, levels=(0.0, 1.0))
        self.background_image.setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
        curve = field.decision_curve()
        self.decision_curve.setData(curve[:, 0], curve[:, 1]) if len(curve) else self.decision_curve.clear()
        self._draw_first_layer(rect)
        self.frames_drawn += 1
        return True

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
            line.setPen(pg.mkPen(neuron_rgb(0, j, self.spec.widths), width=2.5))
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

    # --- gestures out -----------------------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.double() or not self.view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.LeftButton:
            label = BLUE if shift else RED
        elif event.button() == Qt.MouseButton.RightButton:
            label = BLUE
        else:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        event.accept()
        self.sampleRequested.emit(point.x(), point.y(), label)
