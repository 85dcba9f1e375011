"""The extrapolation view: the same network at the same epoch, zoomed out around the data by a chosen
factor, with axes and the main view's rectangle drawn on it; dragging that rectangle moves the main view.
A rectangle too small to see is marked by a square of fixed size around it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.dataset import SampleSet
from app.core.geometry import Rect
from app.core.network import NetworkSpec
from app.ui.canvas import QtCanvas

DEFAULT_FACTOR = 20
MIN_PLOT_SIZE = (260, 220)  # pixels: room for the axes and a readable picture
MARKER_PIXELS = 14  # a main view smaller than this on screen is marked by a square this size
VIEW_RGB = (20, 20, 20)


class QtExtrapolationView(QWidget):
    viewRectRequested = Signal(object)  # Rect: where the main view should go

    def __init__(self, parent=None):
        super().__init__(parent)
        self.factor_box = QSpinBox(minimum=2, maximum=10000, value=DEFAULT_FACTOR, prefix="zoomed out ×")
        self.factor_box.setToolTip("How far this view is zoomed out around the data")
        self.canvas = QtCanvas(interactive=False)
        self.canvas.sharp_seconds /= 2  # an overview beside the canvas: half its budget keeps scrubbing quick
        self.canvas.setToolTip("The same network far from the data; drag the rectangle to move the main view")
        self.canvas.setMinimumSize(*MIN_PLOT_SIZE)
        for name in ("left", "bottom"):
            self.canvas.plotItem.showAxis(name)
        self.main_view_box = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen(VIEW_RGB, width=2), movable=True,
                                        resizable=False, rotatable=False, removable=False)  # fmt: skip
        for handle in list(self.main_view_box.getHandles()):
            self.main_view_box.removeHandle(handle)
        self.main_view_box.setZValue(30)
        self.canvas.addItem(self.main_view_box)
        self.main_view_marker = self._marker()
        row = QHBoxLayout()
        key = QLabel("frame: main view")
        key.setStyleSheet("color: #444")
        key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the dock
        key.setToolTip(
            "The black rectangle (or, when it is too small to see, the square around it) is the main view"
        )
        row.addWidget(key, 1)
        row.addWidget(self.factor_box)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(row)
        column.addWidget(self.canvas, 1)
        self.factor_box.valueChanged.connect(self.frame)
        self.main_view_box.sigRegionChanged.connect(self._rectangle_dragged)
        self.main_view_box.sigRegionChanged.connect(self._place_marker)
        self.canvas.view_box.sigRangeChanged.connect(self._place_marker)
        self.canvas.view_box.sigResized.connect(self._place_marker)

    def _marker(self) -> QGraphicsRectItem:
        """A square of MARKER_PIXELS, whatever the zoom: white under black, to stand out on any colour."""
        half = MARKER_PIXELS / 2
        outer = QGraphicsRectItem(QRectF(-half, -half, MARKER_PIXELS, MARKER_PIXELS))
        outer.setPen(pg.mkPen((255, 255, 255), width=4))
        outer.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        inner = QGraphicsRectItem(outer.rect(), outer)
        inner.setPen(pg.mkPen(VIEW_RGB, width=2))
        for item in (outer, inner):
            item.setBrush(Qt.BrushStyle.NoBrush)
        outer.setZValue(31)
        outer.setVisible(False)
        self.canvas.addItem(outer)
        return outer

    def set_samples(self, samples: SampleSet, held_out: np.ndarray | None = None) -> None:
        self.canvas.set_samples(samples, held_out)
        self.frame()

    def show_network(self, spec: NetworkSpec, params: np.ndarray) -> None:
        self.canvas.show_network(spec, params)

    def frame(self) -> None:
        """Frames the data zoomed out by the chosen factor about its centre."""
        self.canvas.zoom_about_data(float(self.factor_box.value()))

    def show_main_view(self, rect: Rect) -> None:
        """Draws the main view's rectangle. Moved with update=False, the rectangle emits no sigRegionChanged,
        so no request echoes back; a drag (or setPos with the default update=True) does emit it."""
        self.main_view_box.setPos((rect.xmin, rect.ymin), update=False)
        self.main_view_box.setSize((rect.width, rect.height), update=False)
        self._place_marker()

    def main_view_pixels(self) -> tuple[float, float]:
        """On-screen width and height of the main view's rectangle (not counting the marker)."""
        rect = self.main_view_box.sceneBoundingRect()
        return rect.width(), rect.height()

    def _place_marker(self, *_args) -> None:
        """Shows the square around the main view's centre when its rectangle is too small to see."""
        x, y = self.main_view_box.pos()
        w, h = self.main_view_box.size()
        pixel_w, pixel_h = self.canvas.view_box.viewPixelSize()
        tiny = min(w / max(pixel_w, 1e-300), h / max(pixel_h, 1e-300)) < MARKER_PIXELS
        self.main_view_marker.setPos(x + w / 2, y + h / 2)
        self.main_view_marker.setVisible(tiny)

    def refresh(self, preview: bool = False) -> bool:
        """Redraws what changed, when on screen: a dock behind another's tab counts as visible to Qt but has
        nothing on screen, and draws once its tab is chosen (the canvas stays dirty until then)."""
        return self.isVisible() and not self.visibleRegion().isEmpty() and self.canvas.refresh(preview)

    def _rectangle_dragged(self) -> None:
        x, y = self.main_view_box.pos()
        w, h = self.main_view_box.size()
        self.viewRectRequested.emit(Rect(x, x + w, y, y + h))
