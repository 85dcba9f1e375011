"""Neuron boundaries as geometry: first-layer lines clipped to a view rectangle, and level curves of any
field sampled on a grid (decision contour, deeper-layer zero levels)."""

from __future__ import annotations

from dataclasses import dataclass

import contourpy
import numpy as np


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in data coordinates."""

    xmin: float
    xmax: float
    ymin: float
    ymax: float

    def __post_init__(self) -> None:
        if not (self.xmax > self.xmin and self.ymax > self.ymin):
            raise ValueError(f"empty rectangle {self}")

    @classmethod
    def around(cls, extent: tuple[float, float, float, float], margin: float = 0.1) -> Rect:
        """The extent (xmin, xmax, ymin, ymax) grown by margin * max(width, height) on every side: the
        "data frame" that influence maps, region counts and the exported regions look at."""
        xmin, xmax, ymin, ymax = extent
        pad = margin * max(xmax - xmin, ymax - ymin)
        return cls(xmin - pad, xmax + pad, ymin - pad, ymax + pad)

    @property
    def width(self) -> float:
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        return self.ymax - self.ymin

    def contains(self, x: float, y: float, tolerance: float = 0.0) -> bool:
        return (
            self.xmin - tolerance <= x <= self.xmax + tolerance
            and self.ymin - tolerance <= y <= self.ymax + tolerance
        )


def clip_line(w: np.ndarray, b: float, rect: Rect) -> np.ndarray | None:
    """The segment of the line w.x + b = 0 inside rect as [[x0, y0], [x1, y1]], or None if it misses."""
    norm2 = float(w[0] * w[0] + w[1] * w[1])
    if norm2 == 0.0 or not np.isfinite(norm2):
        return None
    origin = -b * np.asarray(w, dtype=np.float64) / norm2
    direction = np.array([-w[1], w[0]], dtype=np.float64) / np.sqrt(norm2)
    t_low, t_high = -np.inf, np.inf
    for axis, (lo, hi) in enumerate(((rect.xmin, rect.xmax), (rect.ymin, rect.ymax))):
        if abs(direction[axis]) < 1e-15:
            if not lo <= origin[axis] <= hi:
                return None
            continue
        t0 = (lo - origin[axis]) / direction[axis]
        t1 = (hi - origin[axis]) / direction[axis]
        t_low = max(t_low, min(t0, t1))
        t_high = min(t_high, max(t0, t1))
    if t_low >= t_high:
        return None
    return np.array([origin + t_low * direction, origin + t_high * direction])


def grid_centres(rect: Rect, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of an nx-by-ny raster covering rect."""
    xs = rect.xmin + (np.arange(nx) + 0.5) * (rect.width / nx)
    ys = rect.ymin + (np.arange(ny) + 0.5) * (rect.height / ny)
    return xs, ys


def level_curves(xs: np.ndarray, ys: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """Level curves of values[iy, ix] as one (m, 2) array of points, pieces separated by NaN rows."""
    masked = np.ma.masked_invalid(np.asarray(values, dtype=np.float64))
    generator = contourpy.contour_generator(xs, ys, masked, line_type=contourpy.LineType.Separate)
    pieces = generator.lines(level)
    if not pieces:
        return np.empty((0, 2))
    gap = np.full((1, 2), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)])[:-1]
