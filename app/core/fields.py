"""The network's prediction (and later, any neuron's activation) over any rectangle at any resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import engine
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
    if engine.is_compiled():  # until then (first start only) numpy draws, so nothing waits for the compiler
        last = len(spec.layer_sizes) - 2
        logits = engine.grid_pre_activations(params, spec.activation, spec.layer_sizes, last, xs, ys)[..., 0]
        values = 0.5 * (1.0 + np.tanh(0.5 * logits))
    else:
        gx, gy = np.meshgrid(xs, ys)
        values = predict_proba(spec, params, np.column_stack([gx.ravel(), gy.ravel()])).reshape(ny, nx)
    return PredictionField(rect, xs, ys, values.astype(np.float32))
