"""The extrapolation view: the same network at the same epoch, zoomed out around the data by a chosen
factor, with the main view's rectangle drawn on it; dragging that rectangle moves the main view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.core.dataset import SampleSet
from app.core.geometry import Rect
from app.core.network import NetworkSpec
from app.ui.canvas import QtCanvas

DEFAULT_FACTOR = 20


class QtExtrapolationView(QWidget):
    viewRectRequested = Signal(object)  # Rect: where the main view should go

    def __init__(self, parent=None):
        super().__init__(parent)
        self.factor_box = QSpinBox(minimum=2, maximum=10000, value=DEFAULT_FACTOR, prefix="zoomed out ×")
        self.factor_box.setToolTip("How far this view is zoomed out around the data")
        self.canvas = QtCanvas(interactive=False)
        self.canvas.setToolTip("The same network far from the data; drag the rectangle to move the main view")
        self.main_view_box = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen((20, 20, 20), width=2), movable=True,
                                        resizable=False, rotatable=False, removable=False)  # fmt: skip
        for handle in list(self.main_view_box.getHandles()):
            self.main_view_box.removeHandle(handle)
        self.main_view_box.setZValue(30)
        self.canvas.addItem(self.main_view_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Extrapolation"))
        row.addStretch(1)
        row.addWidget(self.factor_box)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(row)
        column.addWidget(self.canvas, 1)
        self.factor_box.valueChanged.connect(self.frame)
        self.main_view_box.sigRegionChanged.connect(self._rectangle_dragged)

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

    def refresh(self, preview: bool = False) -> bool:
        return self.isVisible() and self.canvas.refresh(preview)

    def _rectangle_dragged(self) -> None:
        x, y = self.main_view_box.pos()
        w, h = self.main_view_box.size()
        self.viewRectRequested.emit(Rect(x, x + w, y, y + h))
