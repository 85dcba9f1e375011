"""A canvas's activation-regions overlay: the regions' edges, their fill and the caption counting them.
It owns those items and the overlay's state (shown, fill, the regions last drawn); the canvas calls draw()."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from app.core.fields import PredictionField
from app.core.network import NetworkSpec
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
from app.ui.palette import pattern_colours, slope_colours

REGION_ALPHA = 40  # the pattern fill: a light tint, so that the red or blue prediction shows through
MIN_SAMPLED_PIXELS = 120
REGION_EDGE_PEN = pg.mkPen((40, 40, 40, 150), width=1)


def region_text(
    spec: NetworkSpec, params: np.ndarray, x: float, y: float, names: tuple[str, ...] = ()
) -> str:
    """The region under (x, y): its activation pattern, layer by layer, and for piecewise linear networks
    the output logit's affine function there (with more classes, each class's, named by `names`)."""
    pattern, gradient, offset = local_affine(spec, params, np.array([x, y]))
    text = f"Region: {pattern_text(pattern, spec.widths)}"
    if spec.activation in PIECEWISE_LINEAR:
        return f"{text}\n{affine_text(gradient, offset, names)} (the whole network, here)"
    return f"{text}\n(sign-pattern region: tanh and sigmoid are not linear on it)"


class RegionsOverlay:
    """The overlay on one plot; hidden until set_shown(True)."""

    def __init__(self, plot: pg.PlotWidget):
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-9)
        self.image.setVisible(False)
        plot.addItem(self.image)
        self.shown = False
        # Edges alone by default: any fill tints the red/blue prediction under it.
        self.fill = "none"  # "none", "patterns" (a pale colour per region) or "slope"
        self.regions: Regions | None = None  # the partition drawn, while the overlay is shown
        self.edges = pg.PlotCurveItem(pen=REGION_EDGE_PEN, connect="finite")
        self.edges.setZValue(4)
        self.edges.setVisible(False)
        plot.addItem(self.edges)
        self.note = pg.TextItem(color=(60, 20, 20), fill=(255, 255, 255, 200), anchor=(0, 0))
        self.note.setZValue(30)
        self.note.setVisible(False)
        plot.addItem(self.note)

    def set_shown(self, shown: bool) -> None:
        self.shown = shown
        self.image.setVisible(shown and self.fill != "none")
        self.edges.setVisible(shown)
        if not shown:
            self.note.setVisible(False)
            self.regions = None

    def set_fill(self, fill: str) -> None:
        self.fill = fill
        self.set_shown(self.shown)

    def draw(self, spec: NetworkSpec, params: np.ndarray, field: PredictionField) -> np.ndarray | None:
        """The activation-pattern regions of the whole network over the field's rectangle: their edges, a
        fill and the caption. Returns the decision boundary as the exact polyline it is inside them
        (piecewise linear networks, all regions found), else None."""
        # Sign-pattern regions (smooth activations) are found on a grid: as fine as the raster, within bounds.
        pixels = int(np.clip(len(field.xs), MIN_SAMPLED_PIXELS, SAMPLED_PIXELS))
        self.regions = network_regions(spec, params, field.rect, pixels=pixels)
        self.edges.setData(self.regions.edges[:, 0], self.regions.edges[:, 1])
        self.note.setText(self._caption(spec))
        self.note.setPos(field.rect.xmin, field.rect.ymax)
        self.note.setVisible(True)
        if self.fill != "none":
            if self.fill == "slope":
                pixel = (field.rect.width / len(field.xs), field.rect.height / len(field.ys))
                rgba = slope_colours(field.logits, *pixel)
            else:
                codes = pattern_codes(spec, params, field.xs, field.ys)
                rgba = pattern_colours(codes >> np.uint64(40), alpha=REGION_ALPHA)
            self.image.setImage(rgba, autoLevels=False)
            self.image.setRect(QRectF(field.rect.xmin, field.rect.ymin, field.rect.width, field.rect.height))
        return self.regions.boundary if self.regions.exact and self.regions.complete else None

    def _caption(self, spec: NetworkSpec) -> str:
        regions = self.regions
        if not regions.complete:
            return f"More than {MAX_REGIONS:,} regions in view: zoom in to see them all"
        if regions.exact:
            return f"{regions.count:,} linear regions in view"
        return f"{regions.count:,} sign-pattern regions in view ({spec.activation} is not linear on them)"
