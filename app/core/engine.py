"""A compiled training loop (numba, GIL released) for the app's MLPs: forward, backward, SGD/Adam and the
per-epoch record of parameters and metrics, all without returning to Python per mini-batch.

It computes exactly what torch's autograd, BCEWithLogitsLoss (mean), SGD and Adam (with weight_decay as L2)
compute; tests hold it to that."""

from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - the torch fallback takes over
    njit = None

ACTIVATION_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2, "leaky_relu": 3}
OPTIMIZER_CODES = {"sgd": 0, "adam": 1}
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
AVAILABLE = njit is not None


def _jit(fn):
    return (
        njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "arcp", "nsz"})(fn) if AVAILABLE else fn
    )


@_jit
def _act(code, z):
    if code == 0:
        return math.tanh(z)
    if code == 1:
        return z if z > 0.0 else 0.0
    if code == 2:
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    return z if z > 0.0 else 0.01 * z


@_jit
def _act_slope(code, z, a):
    """Derivative of the activation, given the pre-activation z and its value a."""
    if code == 0:
        return 1.0 - a * a
    if code == 1:
        return 1.0 if z > 0.0 else 0.0
    if code == 2:
        return a * (1.0 - a)
    return 1.0 if z > 0.0 else 0.01


@_jit
def _forward(params, sizes, w_off, b_off, act, x0, x1, h, z):
    """Forward one sample; fills h (layer inputs/outputs) and z (pre-activations); returns the logit."""
    n_layers = sizes.shape[0] - 1
    h[0, 0] = x0
    h[0, 1] = x1
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        wo = w_off[layer]
        bo = b_off[layer]
        last = layer == n_layers - 1
        for o in range(n_out):
            s = params[bo + o]
            row = wo + o * n_in
            for i in range(n_in):
                s += params[row + i] * h[layer, i]
            z[layer, o] = s
            h[layer + 1, o] = s if last else _act(act, s)
    return z[n_layers - 1, 0]


@_jit
def _sample_loss(logit, target):
    return max(logit, 0.0) - logit * target + math.log1p(math.exp(-abs(logit)))


@_jit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@_jit
def _metrics(params, sizes, w_off, b_off, act, x, y, h, z):
    n = x.shape[0]
    total = 0.0
    correct = 0
    for s in range(n):
        logit = _forward(params, sizes, w_off, b_off, act, x[s, 0], x[s, 1], h, z)
        total += _sample_loss(logit, y[s])
        if (logit > 0.0) == (y[s] > 0.5):
            correct += 1
    return total / n, correct / n


@_jit
def _train(
    params,
    adam_m,
    adam_v,
    step,
    x,
    y,
    perms,
    batch_size,
    lr,
    l2,
    optimizer,
    act,
    sizes,
    out_params,
    out_loss,
    out_acc,
):
    """Trains one epoch per row of perms; writes each epoch's params and metrics into the out arrays.
    Returns (epochs recorded, optimizer step count). Stops before recording a non-finite epoch."""
    n_layers = sizes.shape[0] - 1
    width = 0
    for s in sizes:
        width = max(width, s)
    w_off = np.empty(n_layers, np.int64)
    b_off = np.empty(n_layers, np.int64)
    offset = 0
    for layer in range(n_layers):
        w_off[layer] = offset
        offset += sizes[layer] * sizes[layer + 1]
        b_off[layer] = offset
        offset += sizes[layer + 1]
    n_params = offset
    h = np.zeros((n_layers + 1, width))
    z = np.zeros((n_layers, width))
    delta = np.zeros(width)
    delta_prev = np.zeros(width)
    grad = np.zeros(n_params)
    n = x.shape[0]
    for epoch in range(perms.shape[0]):
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            scale = 1.0 / (stop - start)
            grad[:] = 0.0
            for k in range(start, stop):
                s = perms[epoch, k]
                logit = _forward(params, sizes, w_off, b_off, act, x[s, 0], x[s, 1], h, z)
                delta[0] = (_sigmoid(logit) - y[s]) * scale
                for layer in range(n_layers - 1, -1, -1):
                    n_in = sizes[layer]
                    n_out = sizes[layer + 1]
                    wo = w_off[layer]
                    bo = b_off[layer]
                    for o in range(n_out):
                        d = delta[o]
                        grad[bo + o] += d
                        row = wo + o * n_in
                        for i in range(n_in):
                            grad[row + i] += d * h[layer, i]
                    if layer > 0:
                        for i in range(n_in):
                            acc = 0.0
                            for o in range(n_out):
                                acc += delta[o] * params[wo + o * n_in + i]
                            delta_prev[i] = acc * _act_slope(act, z[layer - 1, i], h[layer, i])
                        for i in range(n_in):
                            delta[i] = delta_prev[i]
            step += 1
            if optimizer == 0:
                for p in range(n_params):
                    params[p] -= lr * (grad[p] + l2 * params[p])
            else:
                bias1 = 1.0 - ADAM_BETA1**step
                bias2_sqrt = math.sqrt(1.0 - ADAM_BETA2**step)
                for p in range(n_params):
                    g = grad[p] + l2 * params[p]
                    adam_m[p] = ADAM_BETA1 * adam_m[p] + (1.0 - ADAM_BETA1) * g
                    adam_v[p] = ADAM_BETA2 * adam_v[p] + (1.0 - ADAM_BETA2) * g * g
                    params[p] -= (lr / bias1) * adam_m[p] / (math.sqrt(adam_v[p]) / bias2_sqrt + ADAM_EPS)
        loss, accuracy = _metrics(params, sizes, w_off, b_off, act, x, y, h, z)
        if not math.isfinite(loss):
            return epoch, step
        for p in range(n_params):
            if not math.isfinite(params[p]):
                return epoch, step
            out_params[epoch, p] = params[p]
        out_loss[epoch] = loss
        out_acc[epoch] = accuracy
    return perms.shape[0], step


def _writable(a: np.ndarray, dtype) -> np.ndarray:
    """A C-contiguous writable copy: numba compiles read-only arrays as a separate type, so every call site
    passes the one type that warm_up() compiled."""
    return np.array(a, dtype=dtype, order="C")


def train_epochs(
    params: np.ndarray,
    adam_m: np.ndarray,
    adam_v: np.ndarray,
    step: int,
    x: np.ndarray,
    y: np.ndarray,
    perms: np.ndarray,
    batch_size: int,
    learning_rate: float,
    l2: float,
    optimizer: str,
    activation: str,
    layer_sizes: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Trains len(perms) epochs in place on params/adam_m/adam_v (float64, C-contiguous).
    Returns the recorded (params (k,P), loss (k,), accuracy (k,)) and the new step count; k < len(perms)
    means the next epoch diverged (non-finite loss or parameters)."""
    n_epochs = perms.shape[0]
    out_params = np.empty((n_epochs, params.shape[0]))
    out_loss = np.empty(n_epochs)
    out_acc = np.empty(n_epochs)
    done, step = _train(
        params, adam_m, adam_v, step, _writable(x, np.float64), _writable(y, np.float64),
        _writable(perms, np.int64), int(batch_size), float(learning_rate), float(l2),
        OPTIMIZER_CODES[optimizer], ACTIVATION_CODES[activation], np.asarray(layer_sizes, dtype=np.int64),
        out_params, out_loss, out_acc,
    )  # fmt: skip
    return out_params[:done], out_loss[:done], out_acc[:done], int(step)


def is_compiled() -> bool:
    return AVAILABLE and bool(_train.signatures) and bool(_grid_pre_activations.signatures)


def warm_up() -> None:
    """Compiles (or loads from numba's cache) the training loop on a tiny problem."""
    params = np.zeros(2 * 1 + 1 + 1 + 1)
    train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, np.zeros((2, 2)), np.array([0.0, 1.0]),
        np.array([[0, 1]]), 2, 0.1, 0.0, "adam", "tanh", (2, 1, 1),
    )  # fmt: skip
    grid_pre_activations(params, "tanh", (2, 1, 1), 1, np.zeros(1), np.zeros(1))


@_jit
def _grid_pre_activations(params, act, sizes, layer, xs, ys, out):
    n_layers = sizes.shape[0] - 1
    width = 0
    for s in sizes:
        width = max(width, s)
    w_off = np.empty(n_layers, np.int64)
    b_off = np.empty(n_layers, np.int64)
    offset = 0
    for k in range(n_layers):
        w_off[k] = offset
        offset += sizes[k] * sizes[k + 1]
        b_off[k] = offset
        offset += sizes[k + 1]
    sub_sizes = sizes[: layer + 2]
    h = np.zeros((n_layers + 1, width))
    z = np.zeros((n_layers, width))
    for iy in range(ys.shape[0]):
        for ix in range(xs.shape[0]):
            _forward(params, sub_sizes, w_off, b_off, act, xs[ix], ys[iy], h, z)
            for j in range(sizes[layer + 1]):
                out[iy, ix, j] = z[layer, j]


def grid_pre_activations(
    params: np.ndarray,
    activation: str,
    layer_sizes: tuple[int, ...],
    layer: int,
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """Pre-activations of every neuron of `layer` (0-based; the last layer is the output logit) on the grid
    xs x ys: an array (len(ys), len(xs), width). Compiled and GIL-free, for drawing while training runs."""
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    out = np.empty((len(ys), len(xs), int(sizes[layer + 1])))
    _grid_pre_activations(
        _writable(params, np.float64), ACTIVATION_CODES[activation], sizes, int(layer),
        _writable(xs, np.float64), _writable(ys, np.float64), out,
    )  # fmt: skip
    return out
