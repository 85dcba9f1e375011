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


def neuron_name(layer: int, neuron: int) -> str:
    return f"L{layer + 1} N{neuron + 1}"


def _check(spec: NetworkSpec, layer: int, neuron: int) -> None:
    if not (0 <= layer < len(spec.widths) and 0 <= neuron < spec.widths[layer]):
        raise ValueError(f"the network has no hidden neuron {neuron_name(layer, neuron)}")
