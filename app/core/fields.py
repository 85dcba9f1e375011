"""The network's prediction (and later, any neuron's activation) over any rectangle at any resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.geometry import Rect, grid_centres, level_curves
from app.core.network import NetworkSpec, predict_proba


@dataclass(frozen=True)
class PredictionField:
    """Probability of blue at the pixel centres of rect: values[iy, ix], iy growing with y."""

    rect: Rect
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray

    def decision_curve(self) -> np.ndarray:
        """The 0.5 contour, NaN-separated (m, 2) points."""
        return level_curves(self.xs, self.ys, self.values, 0.5)


def prediction_field(spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int) -> PredictionField:
    xs, ys = grid_centres(rect, nx, ny)
    gx, gy = np.meshgrid(xs, ys)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    values = predict_proba(spec, params, points).reshape(ny, nx).astype(np.float32)
    return PredictionField(rect, xs, ys, values)
