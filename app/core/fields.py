"""The network's prediction and any layer's pre-activations over any rectangle at any resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import engine, engine_wide
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
    spec: NetworkSpec, params: np.ndarray, xs: np.ndarray, ys: np.ndarray, layer: int, drawing: bool = False
) -> np.ndarray:
    """Pre-activations of every neuron of `layer` (0-based; the last is the output logit) at the grid points
    (xs[ix], ys[iy]): an array (len(ys), len(xs), width). For `drawing` a wide network (a hidden layer of
    engine.WIDE_MIN_WIDTH or more), float32 matrix products: about 4x faster, within 1e-6 of float64."""
    if drawing and engine.uses_wide_loop(spec.layer_sizes) and engine_wide.grid_float32_compiled():
        code = engine.ACTIVATION_CODES[spec.activation]
        return engine_wide.grid_pre_activations_float32(params, code, spec.layer_sizes, layer, xs, ys)
    if engine.is_compiled():  # until then (first start only) numpy draws, so nothing waits for the compiler
        return engine.grid_pre_activations(params, spec.activation, spec.layer_sizes, layer, xs, ys)
    gx, gy = np.meshgrid(xs, ys)
    z = pre_activations(spec, params, np.column_stack([gx.ravel(), gy.ravel()]))[layer]
    return z.reshape(len(ys), len(xs), -1)


def prediction_field(
    spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int, drawing: bool = False
) -> PredictionField:
    """The probability of blue over rect at nx x ny pixel centres (`drawing`: see layer_field)."""
    xs, ys = grid_centres(rect, nx, ny)
    logits = layer_field(spec, params, xs, ys, len(spec.layer_sizes) - 2, drawing)[..., 0]
    values = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return PredictionField(rect, xs, ys, values.astype(np.float32), logits)


@dataclass(frozen=True)
class ClassField:
    """The predicted class of a network of any number of classes at the pixel centres of rect, and its
    probability: classes[iy, ix] (int64, the rule of predict_classes) and probability[iy, ix] (float32)."""

    rect: Rect
    xs: np.ndarray
    ys: np.ndarray
    classes: np.ndarray
    probability: np.ndarray
    logits: np.ndarray  # (ny, nx, output units) float64: one logit for two classes, else one per class

    def decision_curve(self) -> np.ndarray:
        """Where the top two classes tie, NaN-separated (m, 2) points; for two classes exactly
        PredictionField.decision_curve (the 0.5 contour of the float32 probability of blue)."""
        if self.logits.shape[-1] == 1:
            return level_curves(self.xs, self.ys, _probability_of_blue(self.logits[..., 0]), 0.5)
        return class_ties(self.xs, self.ys, self.logits)


def _probability_of_blue(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)


def class_field(
    spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int, drawing: bool = False
) -> ClassField:
    """The predicted class and its probability over rect at nx x ny pixel centres (`drawing`: layer_field)."""
    xs, ys = grid_centres(rect, nx, ny)
    z = layer_field(spec, params, xs, ys, len(spec.layer_sizes) - 2, drawing)
    if spec.classes == 2:
        classes = (z[..., 0] > 0).astype(np.int64)
        blue = 0.5 * (1.0 + np.tanh(0.5 * z[..., 0]))
        probability = np.where(classes == 1, blue, 1.0 - blue)
    else:
        classes = np.argmax(z, axis=-1).astype(np.int64)
        shifted = z - z.max(axis=-1, keepdims=True)
        probability = 1.0 / np.exp(shifted).sum(axis=-1)  # the winner's softmax: exp(0) over the sum
    return ClassField(rect, xs, ys, classes, probability.astype(np.float32), z)


def class_ties(xs: np.ndarray, ys: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Where the top two of k logits z[iy, ix, :] tie: for each pair (i, j) the zero level of z_i - z_j on
    the grid points whose predicted class is i or j (elsewhere masked: a third class leads there). Every
    grid square it crosses has i on one side and j on the other, so the curve follows that change to within
    a square, and stops up to a square short of where three classes meet. NaN-separated (m, 2) points."""
    k = z.shape[-1]
    winner = np.argmax(z, axis=-1)
    pieces = []
    for i in range(k):
        for j in range(i + 1, k):
            mine = (winner == i) | (winner == j)
            if not ((winner == i).any() and (winner == j).any()):
                continue
            curve = level_curves(xs, ys, np.where(mine, z[..., i] - z[..., j], np.nan), 0.0)
            if len(curve):
                pieces.append(curve)
    if not pieces:
        return np.empty((0, 2))
    gap = np.full((1, 2), np.nan)
    return np.concatenate([part for piece in pieces for part in (piece, gap)])[:-1]


def neuron_zero_curves(
    spec: NetworkSpec, params: np.ndarray, rect: Rect, nx: int, ny: int, layer: int
) -> list[np.ndarray]:
    """For each neuron of hidden `layer`, its boundary: the zero level of its pre-activation over rect, as
    NaN-separated (m, 2) points."""
    xs, ys = grid_centres(rect, nx, ny)
    z = layer_field(spec, params, xs, ys, layer)
    return [level_curves(xs, ys, z[..., j], 0.0) for j in range(z.shape[-1])]
