"""A compiled training loop (numba, GIL released) for the app's MLPs: forward, backward, SGD/Adam and the
per-epoch record of parameters and metrics, all without returning to Python per mini-batch.

It computes exactly what torch's autograd, BCEWithLogitsLoss (mean; one output logit, two classes) or
CrossEntropyLoss (mean; one logit per class, more classes), SGD and Adam (with weight_decay as L2) compute;
tests hold it to that. Labels are class indices as float64 (0.0, 1.0, ...)."""

from __future__ import annotations

import math

import numpy as np

from app.core import engine_wide  # the wide loop: whole mini-batches as matrix products
from app.core import exact_math as exact
from app.core.engine_ops import (
    ACTIVATION_CODES,
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    AVAILABLE,
    OPTIMIZER_CODES,
    _argmax,
    _jit,
    _layer_offsets,
)
from app.core.exact_math import jit_exact


# The per-sample loop, compiled without fast-math and computing with exact_math's functions: each rounding as
# written, the same numbers as engine_multi's K-run loop computes for each of its runs.
@jit_exact
def _forward_batch(params, sizes, w_off, b_off, act, hs, zs, count):
    """Forward rows 0..count of hs[0] (inputs in columns 0, 1) through every layer; hs[l] holds layer l's
    input, zs[l] its pre-activation. 2-D weight views and contiguous inner loops let LLVM vectorise."""
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        weights = params[w_off[layer] : w_off[layer] + n_out * n_in].reshape((n_out, n_in))
        bias = params[b_off[layer] : b_off[layer] + n_out]
        last = layer == n_layers - 1
        for s in range(count):
            h = hs[layer, s, :n_in]
            z = zs[layer, s]
            for o in range(n_out):
                acc = bias[o]
                for i in range(n_in):
                    acc += weights[o, i] * h[i]
                z[o] = acc
            out = hs[layer + 1, s]
            if last:
                for o in range(n_out):
                    out[o] = z[o]
            else:
                for o in range(n_out):
                    out[o] = exact.act(act, z[o])


@jit_exact
def _metrics(params, sizes, w_off, b_off, act, x, y, hs, zs):
    """Mean BCE (cross-entropy for more than one output) and accuracy of params on all samples, in blocks
    of the buffers' batch size."""
    if sizes[-1] > 1:
        return _softmax_metrics(params, sizes, w_off, b_off, act, x, y, hs, zs)
    n = x.shape[0]
    block = hs.shape[1]
    last = sizes.shape[0] - 2
    total = 0.0
    correct = 0
    for start in range(0, n, block):
        count = min(block, n - start)
        for s in range(count):
            hs[0, s, 0] = x[start + s, 0]
            hs[0, s, 1] = x[start + s, 1]
        _forward_batch(params, sizes, w_off, b_off, act, hs, zs, count)
        for s in range(count):
            logit = zs[last, s, 0]
            target = y[start + s]
            total += exact.sample_loss(logit, target)
            if (logit > 0.0) == (target > 0.5):
                correct += 1
    return total / n, correct / n


@jit_exact
def _softmax_metrics(params, sizes, w_off, b_off, act, x, y, hs, zs):
    """_metrics for k > 1 outputs: mean cross-entropy, and accuracy by the first largest logit."""
    n = x.shape[0]
    block = hs.shape[1]
    last = sizes.shape[0] - 2
    k = sizes[-1]
    probs = np.empty(k)
    total = 0.0
    correct = 0
    for start in range(0, n, block):
        count = min(block, n - start)
        for s in range(count):
            hs[0, s, 0] = x[start + s, 0]
            hs[0, s, 1] = x[start + s, 1]
        _forward_batch(params, sizes, w_off, b_off, act, hs, zs, count)
        for s in range(count):
            z = zs[last, s]
            target = int(y[start + s])
            total += exact.softmax(z, k, probs) - z[target]
            if _argmax(z, k) == target:
                correct += 1
    return total / n, correct / n


@jit_exact
def _softmax_delta(logits, y, batch, k, delta):
    """delta[s, :k] = dLoss/dlogits = (softmax - one-hot) / batch size, for the samples `batch` whose logits
    are logits[s, :k]."""
    count = batch.shape[0]
    for s in range(count):
        d = delta[s]
        exact.softmax(logits[s], k, d)
        d[int(y[batch[s]])] -= 1.0
        for c in range(k):
            d[c] /= count


@jit_exact
def _backward_batch(params, sizes, w_off, b_off, act, hs, zs, delta, delta_prev, grad, count):
    """Accumulates the batch's gradient into grad, given delta = dLoss/dlogits, one row per sample."""
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers - 1, -1, -1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        weights = params[w_off[layer] : w_off[layer] + n_out * n_in].reshape((n_out, n_in))
        grad_w = grad[w_off[layer] : w_off[layer] + n_out * n_in].reshape((n_out, n_in))
        grad_b = grad[b_off[layer] : b_off[layer] + n_out]
        for s in range(count):
            h = hs[layer, s, :n_in]
            d_row = delta[s]
            for o in range(n_out):
                d = d_row[o]
                grad_b[o] += d
                g = grad_w[o]
                for i in range(n_in):
                    g[i] += d * h[i]
        if layer == 0:
            break
        for s in range(count):
            back = delta_prev[s, :n_in]
            back[:] = 0.0
            d_row = delta[s]
            for o in range(n_out):
                d = d_row[o]
                w = weights[o]
                for i in range(n_in):
                    back[i] += d * w[i]
            z = zs[layer - 1, s]
            a = hs[layer, s]
            for i in range(n_in):
                back[i] *= exact.act_slope(act, z[i], a[i])
        delta, delta_prev = delta_prev, delta


@jit_exact
def _train(
    params,
    adam_m,
    adam_v,
    step,
    x,
    y,
    x_test,
    y_test,
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
    out_test_loss,
    out_test_acc,
):
    """Trains one epoch per row of perms; writes each epoch's params and metrics into the out arrays, and
    the metrics on (x_test, y_test) into out_test_* unless there is no test sample (they stay as given).
    Returns (epochs recorded, optimizer step count). Stops before recording a non-finite epoch."""
    n_layers = sizes.shape[0] - 1
    width = 0
    for size in sizes:
        width = max(width, size)
    w_off, b_off, n_params = _layer_offsets(sizes)
    n = x.shape[0]
    rows = min(batch_size, n)
    hs = np.zeros((n_layers + 1, rows, width))
    zs = np.zeros((n_layers, rows, width))
    delta = np.zeros((rows, width))
    delta_prev = np.zeros((rows, width))
    grad = np.zeros(n_params)
    for epoch in range(perms.shape[0]):
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            for s in range(count):
                k = perms[epoch, start + s]
                hs[0, s, 0] = x[k, 0]
                hs[0, s, 1] = x[k, 1]
            _forward_batch(params, sizes, w_off, b_off, act, hs, zs, count)
            if sizes[n_layers] == 1:  # written out here: as a call, two classes train 1% slower
                for s in range(count):
                    delta[s, 0] = (exact.sigmoid(zs[n_layers - 1, s, 0]) - y[perms[epoch, start + s]]) / count
            else:
                _softmax_delta(
                    zs[n_layers - 1], y, perms[epoch, start : start + count], sizes[n_layers], delta
                )
            grad[:] = 0.0
            _backward_batch(params, sizes, w_off, b_off, act, hs, zs, delta, delta_prev, grad, count)
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
        loss, accuracy = _metrics(params, sizes, w_off, b_off, act, x, y, hs, zs)
        if not math.isfinite(loss):
            return epoch, step
        for p in range(n_params):
            if not math.isfinite(params[p]):
                return epoch, step
            out_params[epoch, p] = params[p]
        out_loss[epoch] = loss
        out_acc[epoch] = accuracy
        if x_test.shape[0] > 0:
            test_loss, test_accuracy = _metrics(params, sizes, w_off, b_off, act, x_test, y_test, hs, zs)
            out_test_loss[epoch] = test_loss
            out_test_acc[epoch] = test_accuracy
    return perms.shape[0], step


WIDE_MIN_WIDTH = 16  # a hidden layer this wide or wider: the wide loop beats the per-sample one
FLOAT32_MIN_WIDTH = 16  # the Trainer trains such networks in float32 (prefers_float32)


def uses_wide_loop(layer_sizes: tuple[int, ...]) -> bool:
    """Whether train_epochs trains this network with the wide (matrix-product) loop."""
    return max(layer_sizes[1:-1]) >= WIDE_MIN_WIDTH


def prefers_float32(layer_sizes: tuple[int, ...]) -> bool:
    """Whether the app trains this network in float32: wide ones, where arithmetic, not overhead, sets the
    time (the default small network keeps float64, exactly torch's numbers)."""
    return max(layer_sizes[1:-1]) >= FLOAT32_MIN_WIDTH


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
    x_test: np.ndarray,
    y_test: np.ndarray,
    perms: np.ndarray,
    batch_size: int,
    learning_rate: float,
    l2: float,
    optimizer: str,
    activation: str,
    layer_sizes: tuple[int, ...],
    float32: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Trains len(perms) epochs in place on params/adam_m/adam_v (float64, C-contiguous) on (x, y); the
    held-out (x_test (m,2), y_test (m,)), m >= 0, are only evaluated. With more than one output (one per
    class), the labels must be class indices 0, 1, ..., else ValueError. Returns the recorded (params (k,P),
    loss (k,), accuracy (k,), test loss (k,), test accuracy (k,)), the test metrics NaN where m == 0, and the
    new step count; k < len(perms) means the next epoch diverged (non-finite loss or parameters).

    Networks with a hidden layer of WIDE_MIN_WIDTH or more neurons train by the wide loop (matrix products
    per mini-batch), the others by the per-sample one; both compute torch's float64 numbers. With float32,
    the wide loop computes in float32 (torch's float32 numbers, to float32 rounding): params, adam_m and
    adam_v stay float64 arrays here and come back holding float32 values."""
    n_epochs = perms.shape[0]
    x_test = _writable(x_test, np.float64)
    y_test = _writable(y_test, np.float64)
    y = _writable(y, np.float64)
    if x_test.size == 0:
        x_test = x_test.reshape(0, 2)
    if x_test.ndim != 2 or x_test.shape[1] != 2 or y_test.shape != (len(x_test),):
        raise ValueError(f"test points {x_test.shape} and labels {y_test.shape} must be (m, 2) and (m,)")
    _check_class_labels(layer_sizes[-1], y, y_test)
    out_params = np.empty((n_epochs, params.shape[0]))
    out_loss = np.empty(n_epochs)
    out_acc = np.empty(n_epochs)
    out_test_loss = np.full(n_epochs, np.nan)
    out_test_acc = np.full(n_epochs, np.nan)
    common = (
        _writable(x, np.float64), y, x_test, y_test, _writable(perms, np.int64), int(batch_size),
        float(learning_rate), float(l2), OPTIMIZER_CODES[optimizer], ACTIVATION_CODES[activation],
    )  # fmt: skip
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    records = out_params, out_loss, out_acc, out_test_loss, out_test_acc
    if float32:
        state = [_writable(a, np.float32) for a in (params, adam_m, adam_v)]
        done, step = engine_wide.train_wide(*state, step, *common, True, sizes, *records)
        for given, trained in zip((params, adam_m, adam_v), state, strict=True):
            given[:] = trained
    elif uses_wide_loop(layer_sizes):
        done, step = engine_wide.train_wide(params, adam_m, adam_v, step, *common, False, sizes, *records)
    else:
        done, step = _train(params, adam_m, adam_v, step, *common, sizes, *records)
    return (
        out_params[:done], out_loss[:done], out_acc[:done], out_test_loss[:done], out_test_acc[:done],
        int(step),
    )  # fmt: skip


def _check_class_labels(k: int, *labels: np.ndarray) -> None:
    """The compiled loop indexes the logits by label without bounds checks: k-class labels must be 0..k-1."""
    if k == 1:
        return
    for y in labels:
        if y.size and not (np.all(y == np.floor(y)) and y.min() >= 0 and y.max() < k):
            raise ValueError(f"labels of a {k}-class network must be the whole numbers 0 to {k - 1}")


def is_compiled() -> bool:
    """Whether warm_up's signatures are compiled (or loaded from the cache) in this process."""
    wide = len(engine_wide.train_wide.signatures) >= 2
    return AVAILABLE and bool(_train.signatures) and wide and bool(_grid_pre_activations.signatures)


def warm_up() -> None:
    """Compiles (or loads from numba's cache) the training loop on a tiny problem."""
    params = np.zeros(2 * 1 + 1 + 1 + 1)
    train_epochs(
        params, np.zeros_like(params), np.zeros_like(params), 0, np.zeros((2, 2)), np.array([0.0, 1.0]),
        np.zeros((1, 2)), np.array([1.0]), np.array([[0, 1]]), 2, 0.1, 0.0, "adam", "tanh", (2, 1, 1),
    )  # fmt: skip
    grid_pre_activations(params, "tanh", (2, 1, 1), 1, np.zeros(1), np.zeros(1))
    wide = (2, WIDE_MIN_WIDTH, 1)  # the wide loop, float64 and float32
    for float32 in (False, True):
        params = np.zeros(4 * WIDE_MIN_WIDTH + 1)  # 2x16 + 16 weights and biases, then 16 + 1
        train_epochs(
            params, np.zeros_like(params), np.zeros_like(params), 0, np.zeros((2, 2)), np.array([0.0, 1.0]),
            np.zeros((1, 2)), np.array([1.0]), np.array([[0, 1]]), 2, 0.1, 0.0, "adam", "tanh", wide, float32,
        )  # fmt: skip
    engine_wide.grid_pre_activations_float32(params, 0, wide, 1, np.zeros(1), np.zeros(1))  # drawing


@_jit
def _grid_pre_activations(params, act, sizes, layer, xs, ys, out):
    """Row by row of pixels, the batched forward pass up to `layer`; out[iy, ix, j] = its pre-activation j."""
    width = 0
    for s in sizes:
        width = max(width, s)
    sub_sizes = sizes[: layer + 2]
    w_off, b_off, _ = _layer_offsets(sizes)
    nx = xs.shape[0]
    hs = np.zeros((layer + 2, nx, width))
    zs = np.zeros((layer + 1, nx, width))
    for ix in range(nx):
        hs[0, ix, 0] = xs[ix]
    n_out = sizes[layer + 1]
    for iy in range(ys.shape[0]):
        for ix in range(nx):
            hs[0, ix, 1] = ys[iy]
        _forward_batch(params, sub_sizes, w_off, b_off, act, hs, zs, nx)
        for ix in range(nx):
            for j in range(n_out):
                out[iy, ix, j] = zs[layer, ix, j]


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
