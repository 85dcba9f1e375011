"""The MLP's shape and its parameters as one flat float64 vector, with a numpy forward pass for views.

Two classes have one output logit (sigmoid, binary cross-entropy); k > 2 classes have k (softmax,
cross-entropy).

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
MIN_CLASSES, MAX_CLASSES = 2, 8


@dataclass(frozen=True)
class NetworkSpec:
    """Hidden layer widths, activation and number of classes; the input is 2-D. Two classes have one output
    logit (class 1 = blue), more classes one logit each."""

    widths: tuple[int, ...] = (4, 4)
    activation: str = "tanh"
    classes: int = 2

    def __post_init__(self) -> None:
        if not 1 <= len(self.widths) <= MAX_LAYERS:
            raise ValueError(f"between 1 and {MAX_LAYERS} hidden layers are allowed, not {len(self.widths)}")
        if any(not 1 <= w <= MAX_WIDTH for w in self.widths):
            raise ValueError(f"each hidden layer needs 1 to {MAX_WIDTH} neurons")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")
        classes = self.classes
        if isinstance(classes, bool) or not isinstance(classes, int | np.integer):
            raise ValueError(f"the number of classes must be a whole number, not {classes!r}")
        if not MIN_CLASSES <= classes <= MAX_CLASSES:
            raise ValueError(f"the number of classes must be {MIN_CLASSES} to {MAX_CLASSES}, not {classes}")
        object.__setattr__(self, "classes", int(classes))

    @property
    def output_units(self) -> int:
        """1 for two classes (the logit of class 1), else one per class."""
        return 1 if self.classes == 2 else self.classes

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (N_INPUTS, *self.widths, self.output_units)

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

    def to_json(self) -> dict:
        """The spec as JSON (a session's "spec"); two classes leave "classes" out, as files made before it."""
        fields = {"widths": list(self.widths), "activation": self.activation}
        return fields if self.classes == 2 else fields | {"classes": self.classes}

    @classmethod
    def from_json(cls, fields: dict) -> NetworkSpec:
        """The spec that to_json gave; without "classes", two. ValueError for values a spec refuses."""
        return cls(tuple(fields["widths"]), fields["activation"], fields.get("classes", 2))


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
    """Pre-activation of every layer (hidden layers, then the output logits) at points x (n, 2)."""
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
    """The one output logit (n,) of a two-class network at points x (n, 2)."""
    if spec.classes != 2:
        raise ValueError(
            f"a {spec.classes}-class network has no single logit; use class_probabilities or predict_classes"
        )
    return pre_activations(spec, flat, x)[-1][:, 0]


def predict_proba(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Probability of class 1 (blue) at points x (n, 2), for a two-class network."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits(spec, flat, x)))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def class_probabilities(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Probability of each class (n, classes) at points x (n, 2); rows sum to 1. Two classes: (1 - p, p)."""
    if spec.classes == 2:
        p = predict_proba(spec, flat, x)
        return np.column_stack([1.0 - p, p])
    return np.exp(_log_softmax(pre_activations(spec, flat, x)[-1]))


def predict_classes(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The predicted class (n,) int64 at points x (n, 2): the training accuracy's rule (logit > 0 for two
    classes, else the first largest logit)."""
    z = pre_activations(spec, flat, x)[-1]
    if spec.classes == 2:
        return (z[:, 0] > 0).astype(np.int64)
    return np.argmax(z, axis=1).astype(np.int64)


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


def loss_and_accuracy(
    spec: NetworkSpec, flat: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, float]:
    """What training reports for any number of classes: the mean cross-entropy (binary for two classes, as
    bce_loss_and_accuracy) and the fraction classified right; (nan, nan) for no samples."""
    if spec.classes == 2 or len(x) == 0:
        return bce_loss_and_accuracy(spec, flat, x, y)
    labels = np.asarray(y).astype(np.int64)
    log_p = _log_softmax(pre_activations(spec, flat, x)[-1])
    loss = -np.mean(log_p[np.arange(len(labels)), labels])
    accuracy = np.mean(np.argmax(log_p, axis=1) == labels)
    return float(loss), float(accuracy)


def confusion_counts(spec: NetworkSpec, flat: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(k, k) int64: how many samples of each true class (rows) the network predicts as each class (columns),
    by predict_classes' rule; zeros for no samples."""
    from sklearn.metrics import confusion_matrix  # loaded on first use, as the interpretable network's SVMs

    if len(x) == 0:
        return np.zeros((spec.classes, spec.classes), dtype=np.int64)
    predicted = predict_classes(spec, flat, np.asarray(x, dtype=np.float64))
    counts = confusion_matrix(np.asarray(y, dtype=np.int64), predicted, labels=np.arange(spec.classes))
    return counts.astype(np.int64)
