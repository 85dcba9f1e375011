"""Colours of up to MAX_CLASSES classes (issue 23): a colour-blind-safe palette with red and blue first, the
pale colour each class tints the background with, and the canvas's sample scatters, one pair per class."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.core.fields import ClassField
from app.core.network import MAX_CLASSES
from app.ui.palette import BLUE_RGB, RED_RGB
from app.ui.scatter import cached_scatter

# Red and blue (two classes look as they always did), then colours from Okabe & Ito's colour-blind-safe set
# and Paul Tol's, picked to stay apart from red, blue, each other and the neuron lines' colours (palette.py):
# gold (Tol's high-contrast yellow), bluish green, reddish purple, sky blue (Okabe-Ito), wine (Tol's muted),
# and a dark grey.
CLASS_PALETTE = (
    RED_RGB,
    BLUE_RGB,
    (221, 170, 51),  # gold
    (0, 158, 115),  # bluish green
    (204, 121, 167),  # reddish purple
    (86, 180, 233),  # sky blue
    (136, 34, 85),  # wine
    (90, 90, 90),  # dark grey
)
assert len(CLASS_PALETTE) == MAX_CLASSES

WHITE = np.array([255.0, 255.0, 255.0])
# Where a class is certain, the background takes its pale colour: red's and blue's are prediction_lut's ends,
# the others their colour mixed with white like blue's (about 0.37 of the colour).
_PALE_MIX = 0.37
PALE_RGB = np.array(
    [(244.0, 170.0, 170.0), (165.0, 198.0, 240.0)]
    + [tuple(WHITE + (np.array(rgb, float) - WHITE) * _PALE_MIX) for rgb in CLASS_PALETTE[2:]]
)
STRENGTH_POWER = 0.8  # prediction_lut's: for two classes, |2p - 1| ** 0.8 of the pale colour


def class_rgb(label: int) -> tuple[int, int, int]:
    return CLASS_PALETTE[label]


def class_background(field: ClassField) -> np.ndarray:
    """An RGB image (ny, nx, 3) uint8: each pixel the predicted class's pale colour mixed with white by its
    probability p, k classes: white at p = 1/k (a tie of all), the full pale colour at p = 1. For two classes
    the same ramp as prediction_lut (|2p - 1| ** 0.8), unquantised."""
    k = max(field.logits.shape[-1], 2)
    share = np.clip((field.probability.astype(np.float64) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    strength = share[..., None] ** STRENGTH_POWER
    rgb = WHITE + (PALE_RGB[np.clip(field.classes, 0, MAX_CLASSES - 1)] - WHITE) * strength
    return np.ascontiguousarray(np.round(rgb).astype(np.uint8))


def class_scatters(plot: pg.PlotWidget) -> tuple[list, list]:
    """For each of MAX_CLASSES classes a filled scatter (training samples, outlined dark) and a hollow one
    (held out, in the class's colour), added to `plot` above everything else; empty ones stay hidden."""
    filled, hollow = [], []
    for rgb in CLASS_PALETTE:
        dots = cached_scatter(size=10, pen=pg.mkPen((25, 25, 25), width=1.3), brush=pg.mkBrush(*rgb))
        ring = cached_scatter(size=10, pen=pg.mkPen(*rgb, width=2.2), brush=None)
        for item in (dots, ring):
            item.setZValue(20)
            item.setVisible(False)
            plot.addItem(item)
        filled.append(dots)
        hollow.append(ring)
    return filled, hollow


def class_key_rows(names: tuple[str, ...]) -> list[tuple[str, tuple[int, int, int]]]:
    """The key's rows for more than two classes: each class's name and colour (none for two: the colour bar
    of P(blue) explains those)."""
    return [] if len(names) <= 2 else [(name, CLASS_PALETTE[i]) for i, name in enumerate(names)]
