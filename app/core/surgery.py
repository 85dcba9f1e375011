"""Neuron surgery (issue 25): switching a hidden neuron off holds its output at 0 for everything after it,
which is the same as zeroing its outgoing weights (the next layer's column for it); switching it back on puts
those weights back. Each is an edit of the parameter vector, a copy."""

from __future__ import annotations

import numpy as np

from app.core.network import NetworkSpec, split_params


def outgoing_weights(spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int) -> np.ndarray:
    """A copy of hidden neuron (layer, neuron)'s outgoing weights: column `neuron` of layer + 1's matrix."""
    _check(spec, layer, neuron)
    return split_params(spec, params)[layer + 1][0][:, neuron].copy()


def with_outgoing_weights(
    spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int, weights: np.ndarray | float
) -> np.ndarray:
    """A copy of params with hidden neuron (layer, neuron)'s outgoing weights set to `weights` (0: off)."""
    _check(spec, layer, neuron)
    edited = np.array(params, dtype=np.float64)
    split_params(spec, edited)[layer + 1][0][:, neuron] = weights
    return edited


def is_off(spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int) -> bool:
    """Whether the neuron's output reaches nothing (all its outgoing weights are 0)."""
    return not outgoing_weights(spec, params, layer, neuron).any()


def line_through(p, q, w_old: np.ndarray, b_old: float) -> tuple[np.ndarray, float]:
    """The weights (w, b) of the line w.x + b = 0 through the points p and q (a first-layer neuron's line
    dragged by its handles), with the length of w_old (1 where that is 0) and, of the two directions of w, the
    one nearer w_old's, so that what the line did not pass over keeps its side (w_old's side, where
    w.x + b > 0, is the active one); for a line turned exactly a right angle, the side of the old line's
    point one unit along w_old. ValueError when p and q (nearly) coincide: they give no line."""
    p, q, w_old = (np.asarray(v, dtype=np.float64) for v in (p, q, w_old))
    along = q - p
    span = float(np.hypot(*along))
    if not np.isfinite(span) or span <= 1e-12 * max(1.0, float(np.abs(p).max()), float(np.abs(q).max())):
        raise ValueError("the two points coincide: they give no line")
    length = float(np.hypot(*w_old)) or 1.0
    w = np.array([along[1], -along[0]]) * (length / span)
    b = -float(w @ (p + q)) / 2
    turn = float(w @ w_old)
    old_side = w_old * (1 / length - b_old / length**2)  # the old line's point nearest 0, 1 along w_old
    if turn < 0 or (turn == 0 and float(w @ old_side) + b < 0):
        w, b = -w, -b
    return w, b


def with_first_layer_line(spec: NetworkSpec, params: np.ndarray, neuron: int, w, b: float) -> np.ndarray:
    """A copy of params with first-layer neuron `neuron`'s incoming weights w (2,) and bias b."""
    _check(spec, 0, neuron)
    edited = np.array(params, dtype=np.float64)
    weights, biases = split_params(spec, edited)[0]
    weights[neuron], biases[neuron] = w, b
    return edited


def incoming(spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int) -> tuple[np.ndarray, float]:
    """Hidden neuron (layer, neuron)'s incoming weights (a copy) and bias."""
    _check(spec, layer, neuron)
    weights, biases = split_params(spec, params)[layer]
    return weights[neuron].copy(), float(biases[neuron])


def with_incoming(spec: NetworkSpec, params: np.ndarray, layer: int, neuron: int, w, b: float) -> np.ndarray:
    """A copy of params with hidden neuron (layer, neuron)'s incoming weights `w` and bias `b` (any layer:
    the first layer's are its line, as with_first_layer_line)."""
    _check(spec, layer, neuron)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (spec.layer_sizes[layer],) or not (np.isfinite(w).all() and np.isfinite(b)):
        count = spec.layer_sizes[layer]
        raise ValueError(f"{neuron_name(layer, neuron)} takes {count} finite weights and a finite bias")
    edited = np.array(params, dtype=np.float64)
    weights, biases = split_params(spec, edited)[layer]
    weights[neuron], biases[neuron] = w, b
    return edited


def neuron_name(layer: int, neuron: int) -> str:
    return f"L{layer + 1} N{neuron + 1}"


def _check(spec: NetworkSpec, layer: int, neuron: int) -> None:
    if not (0 <= layer < len(spec.widths) and 0 <= neuron < spec.widths[layer]):
        raise ValueError(f"the network has no hidden neuron {neuron_name(layer, neuron)}")
