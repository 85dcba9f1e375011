"""The network's prediction and any layer's pre-activations over any rectangle at any resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import engine
from app.core.geometry import Rect, grid_centres, level_curves
from app.core.network import NetworkSpec, pre_activations


@dataclass(frozen=True)
class PredictionField:
    """Probability of blue at the pixel centres of rect: values[iy, ix], iy growing with y."""

    rect: Rect
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    logits: np.ndarray  # the output logit at the same points (float64)

    def decision_curve(self) -> np.ndarray:
        """The 0.5 contour, NaN-separated (m, 2) points."""
        return level_curves(self.xs, self.ys, self.values, 0.5)


def layer_field(
    spec: NetworkSpec, params: np.ndarray, xs: np.ndarray, ys: np.ndarray, layer: int
) -> np.ndarray:
    """Pre-activations of every neuron of `layer` (0-based; the last is the output logit) at the grid points
    (xs[ix], ys[iy]): an array (len(ys), len(xs), width)."""
    if engine.is_compiled():  # until then (first start only) numpy draws, so nothing waits for the compiler
        return engine.grid_pre_activations(params, spec.activation, spec.layer_sizes, layer, xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    z = pre_activations(spec, params, np.column_stack([gx.ravel(), gy.ravel()]))[layer]
    return z.reshape(len(ys), len(xs), -1)


def prediction_field(spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int) -> PredictionField:
    xs, ys = grid_centres(rect, nx, ny)
    logits = layer_field(spec, params, xs, ys, len(spec.layer_sizes) - 2)[..., 0]
    values = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return PredictionField(rect, xs, ys, values.astype(np.float32), logits)


def neuron_zero_curves(
    spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int, layer: int
) -> list[np.ndarray]:
    """For each neuron of hidden `layer`, its boundary: the zero level of its pre-activation over rect, as
    NaN-separated (m, 2) points."""
    xs, ys = grid_centres(rect, nx, ny)
    z = layer_field(spec, params, xs, ys, layer)
    return [level_curves(xs, ys, z[..., j], 0.0) for j in range(z.shape[-1])]
