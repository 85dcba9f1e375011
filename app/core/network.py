"""The MLP's shape and its parameters as one flat float64 vector, with a numpy forward pass for views.

Layout of the flat vector, layer by layer: the weight matrix (out, in) row-major, then the bias (out,).
It is the order of the torch module's ``named_parameters()``, so names like ``layers.0.weight`` map 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
ACTIVATION_LABELS = {"tanh": "tanh", "relu": "ReLU", "sigmoid": "sigmoid", "leaky_relu": "leaky ReLU"}
LEAKY_SLOPE = 0.01
MAX_LAYERS = 8
MAX_WIDTH = 64
N_INPUTS = 2


@dataclass(frozen=True)
class NetworkSpec:
    """Hidden layer widths and activation; the input is 2-D and the output one logit (class 1 = blue)."""

    widths: tuple[int, ...] = (4, 4)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if not 1 <= len(self.widths) <= MAX_LAYERS:
            raise ValueError(f"between 1 and {MAX_LAYERS} hidden layers are allowed, not {len(self.widths)}")
        if any(not 1 <= w <= MAX_WIDTH for w in self.widths):
            raise ValueError(f"each hidden layer needs 1 to {MAX_WIDTH} neurons")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (N_INPUTS, *self.widths, 1)

    @property
    def param_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        sizes = self.layer_sizes
        shapes = []
        for i in range(len(sizes) - 1):
            shapes.append((f"layers.{i}.weight", (sizes[i + 1], sizes[i])))
            shapes.append((f"layers.{i}.bias", (sizes[i + 1],)))
        return shapes

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(shape)) for _, shape in self.param_shapes)

    def widths_text(self) -> str:
        return ",".join(str(w) for w in self.widths)


def parse_widths(text: str) -> tuple[int, ...]:
    """'4,4' -> (4, 4); raises ValueError with a message a user can act on."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("give the hidden layer widths as numbers separated by commas, e.g. 4,4")
    try:
        if not all(p.isascii() and p.isdigit() for p in parts):  # int() also takes "٤" and "+4"
            raise ValueError
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"layer widths must be whole numbers separated by commas, not {text!r}") from None
    NetworkSpec(widths)  # validates the ranges
    return widths


def split_params(spec: NetworkSpec, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Views (W, b) per layer into a flat parameter vector."""
    layers = []
    offset = 0
    sizes = spec.layer_sizes
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        w = flat[offset : offset + n_in * n_out].reshape(n_out, n_in)
        offset += n_in * n_out
        b = flat[offset : offset + n_out]
        offset += n_out
        layers.append((w, b))
    return layers


def named_params(spec: NetworkSpec, flat: np.ndarray) -> dict[str, np.ndarray]:
    """Parameters by torch name; works for one vector (P,) or a stack of epochs (E, P)."""
    out = {}
    offset = 0
    for name, shape in spec.param_shapes:
        size = int(np.prod(shape))
        out[name] = flat[..., offset : offset + size].reshape(*flat.shape[:-1], *shape)
        offset += size
    return out


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def pre_activations(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """Pre-activation of every layer (hidden layers, then the output logit) at points x (n, 2)."""
    h = np.asarray(x, dtype=np.float64)
    zs = []
    layers = split_params(spec, np.asarray(flat, dtype=np.float64))
    for i, (w, b) in enumerate(layers):
        z = h @ w.T + b
        zs.append(z)
        if i < len(layers) - 1:
            h = activate(spec.activation, z)
    return zs


def logits(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    return pre_activations(spec, flat, x)[-1][:, 0]


def predict_proba(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Probability of class 1 (blue) at points x (n, 2)."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits(spec, flat, x)))


def bce_loss_and_accuracy(
    spec: NetworkSpec, flat: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, float]:
    """Mean binary cross-entropy (from logits, numerically stable) and the fraction classified right;
    (nan, nan) for no samples."""
    if len(x) == 0:
        return float("nan"), float("nan")
    z = logits(spec, flat, x)
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    accuracy = np.mean((z > 0) == (y > 0.5))
    return float(loss), float(accuracy)
