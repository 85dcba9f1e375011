"""The engine's wide loop (see engine.py, which calls it for networks with a hidden layer of
engine.WIDE_MIN_WIDTH neurons or more): whole mini-batches as matrix products through BLAS (numba's np.dot),
in float64 or float32, and a branch-free float32 tanh."""

from __future__ import annotations

import math

import numpy as np

from app.core.engine_ops import (
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    _act,
    _act_slope,
    _argmax,
    _jit_vector,
    _layer_offsets,
    _sample_loss,
    _sigmoid,
    _softmax,
)

# The wide loop: whole mini-batches as matrix products through BLAS (numba's np.dot), in float64 (the same
# numbers as torch up to summation order) or float32 (twice the arithmetic per instruction). Matrices of a
# block are kept below OpenBLAS's threading threshold (m*n*k <= 262,144) so that it never starts threads.
_BLAS_SINGLE_THREAD_MNK = 196_608

# Eigen's rational approximation of tanh for float32 (within 6 float32 ulp of tanh; exactly x near 0):
# branch-free, so that LLVM vectorises it, where math.exp is a call per element.
_TANH_CLAMP = np.float32(7.90531110763549805)
_TANH_TINY = np.float32(0.0004)
_TANH_P = tuple(np.float32(c) for c in (
    4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
    -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16,
))  # fmt: skip
_TANH_Q = tuple(np.float32(c) for c in (
    4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06,
))  # fmt: skip
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _TANH_P
_Q0, _Q1, _Q2, _Q3 = _TANH_Q
_HALF32 = np.float32(0.5)


@_jit_vector
def _tanh_fast(z):
    """tanh(z) in float32 arithmetic, to within 6 ulp, without a branch or a call."""
    c = min(max(z, -_TANH_CLAMP), _TANH_CLAMP)
    c2 = c * c
    p = c * (_P0 + c2 * (_P1 + c2 * (_P2 + c2 * (_P3 + c2 * (_P4 + c2 * (_P5 + c2 * _P6))))))
    q = _Q0 + c2 * (_Q1 + c2 * (_Q2 + c2 * _Q3))
    return z if abs(z) < _TANH_TINY else p / q


@_jit_vector
def _block_rows(sizes, batch_size):
    """Rows of a block of the wide loop: a mini-batch (or all of it that stays below the BLAS threading
    threshold), and for metrics the most rows that do."""
    widest = 1
    for layer in range(sizes.shape[0] - 1):
        widest = max(widest, sizes[layer] * sizes[layer + 1])
    most = max(8, _BLAS_SINGLE_THREAD_MNK // widest)
    return min(batch_size, most), most


@_jit_vector
def _rows(buf, offset, count, width):
    """buf[offset : offset + count * width] as a C-contiguous (count, width) matrix."""
    return buf[offset : offset + count * width].reshape((count, width))


@_jit_vector
def _activate_block(act, fast, z, b, h):
    """z += b (row by row) and h = act(z), on (count, n) matrices; tanh and sigmoid by _tanh_fast when fast
    (float32), else exactly as _act. One loop per activation, so that each vectorises."""
    count, n = z.shape
    for s in range(count):
        zr = z[s]
        for o in range(n):
            zr[o] += b[o]
    if fast and act == 0:
        for s in range(count):
            zr = z[s]
            hr = h[s]
            for o in range(n):
                hr[o] = _tanh_fast(zr[o])
    elif fast and act == 2:
        for s in range(count):
            zr = z[s]
            hr = h[s]
            for o in range(n):
                hr[o] = _HALF32 + _HALF32 * _tanh_fast(_HALF32 * zr[o])
    elif act == 1:
        for s in range(count):
            zr = z[s]
            hr = h[s]
            for o in range(n):
                hr[o] = max(zr[o], 0.0)
    else:
        for s in range(count):
            zr = z[s]
            hr = h[s]
            for o in range(n):
                hr[o] = _act(act, zr[o])


@_jit_vector
def _slope_block(act, z, h, d):
    """d *= act'(z) elementwise on (count, n) matrices, h = act(z)."""
    count, n = d.shape
    if act == 0:
        for s in range(count):
            dr = d[s]
            hr = h[s]
            for i in range(n):
                dr[i] -= dr[i] * hr[i] * hr[i]  # d (1 - h^2), without a float64 literal in float32 code
    else:
        for s in range(count):
            dr = d[s]
            zr = z[s]
            hr = h[s]
            for i in range(n):
                dr[i] *= _act_slope(act, zr[i], hr[i])


@_jit_vector
def _wide_forward(params, sizes, w_off, b_off, act, fast, hbuf, zbuf, h_off, z_off, count):
    """Forward pass of the count rows of the input block (hbuf at h_off[0], two columns): layer l's input
    is the (count, n_l) matrix at h_off[l] of hbuf, its pre-activation at z_off[l] of zbuf; Z = H W^T + b
    by BLAS. The logits are the last layer's pre-activations."""
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        weights = params[w_off[layer] : w_off[layer] + n_out * n_in].reshape((n_out, n_in))
        bias = params[b_off[layer] : b_off[layer] + n_out]
        h = _rows(hbuf, h_off[layer], count, n_in)
        z = _rows(zbuf, z_off[layer], count, n_out)
        np.dot(h, weights.T, z)
        if layer == n_layers - 1:
            for s in range(count):
                zr = z[s]
                for o in range(n_out):
                    zr[o] += bias[o]
        else:
            _activate_block(act, fast, z, bias, _rows(hbuf, h_off[layer + 1], count, n_out))


@_jit_vector
def _wide_backward(params, grad, scratch, sizes, w_off, b_off, act, hbuf, zbuf, dbuf, h_off, z_off, count,
                   first):  # fmt: skip
    """Adds the block's gradient into grad (writes it when `first`: grad need not be zeroed), given the
    logits' deltas (dLoss/dlogits) at z_off[-1] of dbuf; the deltas of the other layers go to dbuf at their
    z_off. dW = D^T H and D_prev = (D W) * act' by BLAS; scratch holds a later block's dW."""
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers - 1, -1, -1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        weights = params[w_off[layer] : w_off[layer] + n_out * n_in].reshape((n_out, n_in))
        d = _rows(dbuf, z_off[layer], count, n_out)
        h = _rows(hbuf, h_off[layer], count, n_in)
        grad_w = grad[w_off[layer] : w_off[layer] + n_out * n_in]
        grad_b = grad[b_off[layer] : b_off[layer] + n_out]
        if first:
            np.dot(d.T, h, grad_w.reshape((n_out, n_in)))
            grad_b[:] = 0.0
        else:
            part = scratch[w_off[layer] : w_off[layer] + n_out * n_in]
            np.dot(d.T, h, part.reshape((n_out, n_in)))
            for p in range(n_out * n_in):
                grad_w[p] += part[p]
        for s in range(count):
            dr = d[s]
            for o in range(n_out):
                grad_b[o] += dr[o]
        if layer > 0:
            back = _rows(dbuf, z_off[layer - 1], count, n_in)
            np.dot(d, weights, back)
            _slope_block(act, _rows(zbuf, z_off[layer - 1], count, n_in), h, back)


@_jit_vector
def _wide_buffers(sizes, rows, dtype_of):
    """Offsets of each layer's (rows, n) block in the activation buffer (inputs and hidden layers) and in
    the pre-activation/delta buffers, and the three buffers, of dtype_of's dtype."""
    n_layers = sizes.shape[0] - 1
    h_off = np.empty(n_layers, np.int64)
    z_off = np.empty(n_layers, np.int64)
    h_total = 0
    z_total = 0
    for layer in range(n_layers):
        h_off[layer] = h_total
        h_total += rows * sizes[layer]
        z_off[layer] = z_total
        z_total += rows * sizes[layer + 1]
    hbuf = np.zeros(h_total, dtype_of.dtype)
    zbuf = np.zeros(z_total, dtype_of.dtype)
    dbuf = np.zeros(z_total, dtype_of.dtype)
    return h_off, z_off, hbuf, zbuf, dbuf


@_jit_vector
def _wide_metrics(params, sizes, w_off, b_off, act, fast, x, y, hbuf, zbuf, h_off, z_off, rows):
    """Mean BCE (cross-entropy for more than one output) and accuracy of params on all samples (x, y), in
    blocks of `rows`, as _metrics computes them."""
    n = x.shape[0]
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    probs = np.empty(k)
    total = 0.0
    correct = 0
    for start in range(0, n, rows):
        count = min(rows, n - start)
        h0 = _rows(hbuf, 0, count, 2)
        for s in range(count):
            h0[s, 0] = x[start + s, 0]
            h0[s, 1] = x[start + s, 1]
        _wide_forward(params, sizes, w_off, b_off, act, fast, hbuf, zbuf, h_off, z_off, count)
        logits = _rows(zbuf, z_off[n_layers - 1], count, k)
        for s in range(count):
            target = y[start + s]
            if k == 1:
                logit = float(logits[s, 0])
                total += _sample_loss(logit, target)
                if (logit > 0.0) == (target > 0.5):
                    correct += 1
            else:
                z = logits[s]
                total += _softmax(z, k, probs) - z[int(target)]
                if _argmax(z, k) == int(target):
                    correct += 1
    return total / n, correct / n


@_jit_vector
def train_wide(
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
    fast,
    sizes,
    out_params,
    out_loss,
    out_acc,
    out_test_loss,
    out_test_acc,
):
    """_train by whole blocks of matrix products, in the dtype of params/adam_m/adam_v (float64 or
    float32); `fast` (float32) computes tanh and sigmoid by _tanh_fast. Same arguments, results and
    stopping rule as _train."""
    n_layers = sizes.shape[0] - 1
    k = sizes[n_layers]
    w_off, b_off, n_params = _layer_offsets(sizes)
    n = x.shape[0]
    rows, metric_rows = _block_rows(sizes, min(batch_size, n))
    metric_rows = min(metric_rows, max(n, x_test.shape[0]))
    h_off, z_off, hbuf, zbuf, dbuf = _wide_buffers(sizes, max(rows, metric_rows), params)
    grad = np.zeros(n_params, params.dtype)
    scratch = np.zeros(n_params, params.dtype)
    probs = np.empty(k)
    for epoch in range(perms.shape[0]):
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            for block in range(start, start + count, rows):
                block_count = min(rows, start + count - block)
                h0 = _rows(hbuf, 0, block_count, 2)
                for s in range(block_count):
                    sample = perms[epoch, block + s]
                    h0[s, 0] = x[sample, 0]
                    h0[s, 1] = x[sample, 1]
                _wide_forward(params, sizes, w_off, b_off, act, fast, hbuf, zbuf, h_off, z_off, block_count)
                logits = _rows(zbuf, z_off[n_layers - 1], block_count, k)
                delta = _rows(dbuf, z_off[n_layers - 1], block_count, k)
                for s in range(block_count):
                    target = y[perms[epoch, block + s]]
                    if k == 1:
                        delta[s, 0] = (_sigmoid(float(logits[s, 0])) - target) / count
                    else:
                        _softmax(logits[s], k, probs)
                        probs[int(target)] -= 1.0
                        for c in range(k):
                            delta[s, c] = probs[c] / count
                first = block == start
                _wide_backward(
                    params, grad, scratch, sizes, w_off, b_off, act, hbuf, zbuf, dbuf, h_off, z_off,
                    block_count, first,
                )  # fmt: skip
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
        loss, accuracy = _wide_metrics(
            params, sizes, w_off, b_off, act, fast, x, y, hbuf, zbuf, h_off, z_off, metric_rows
        )
        if not math.isfinite(loss):
            return epoch, step
        for p in range(n_params):
            if not math.isfinite(params[p]):
                return epoch, step
            out_params[epoch, p] = params[p]
        out_loss[epoch] = loss
        out_acc[epoch] = accuracy
        if x_test.shape[0] > 0:
            test_loss, test_accuracy = _wide_metrics(
                params, sizes, w_off, b_off, act, fast, x_test, y_test, hbuf, zbuf, h_off, z_off, metric_rows
            )
            out_test_loss[epoch] = test_loss
            out_test_acc[epoch] = test_accuracy
    return perms.shape[0], step




@_jit_vector
def _grid_wide(params, act, sizes, layer, xs, ys, out):
    """out[iy, ix, :] = the pre-activations of `layer` at (xs[ix], ys[iy]), by the wide forward pass in
    float32 (params, xs, ys float32; the fast tanh), in blocks of rows under the BLAS threading threshold."""
    sub_sizes = sizes[: layer + 2]
    w_off, b_off, _ = _layer_offsets(sizes)
    nx, ny = xs.shape[0], ys.shape[0]
    _, rows = _block_rows(sub_sizes, nx * ny)
    h_off, z_off, hbuf, zbuf, _ = _wide_buffers(sub_sizes, rows, params)
    n_out = sizes[layer + 1]
    total = nx * ny
    flat = out.reshape((total, n_out))
    ix, iy = 0, 0
    for start in range(0, total, rows):
        count = min(rows, total - start)
        inputs = _rows(hbuf, h_off[0], count, 2)
        for s in range(count):  # the pixels row after row, without a division per pixel
            inputs[s, 0] = xs[ix]
            inputs[s, 1] = ys[iy]
            ix += 1
            if ix == nx:
                ix, iy = 0, iy + 1
        _wide_forward(params, sub_sizes, w_off, b_off, act, True, hbuf, zbuf, h_off, z_off, count)
        flat[start : start + count] = _rows(zbuf, z_off[layer], count, n_out)


def grid_float32_compiled() -> bool:
    """Whether grid_pre_activations_float32 runs compiled already (engine.warm_up compiles it)."""
    return bool(_grid_wide.signatures)


def grid_pre_activations_float32(
    params: np.ndarray,
    activation_code: int,
    layer_sizes: tuple[int, ...],
    layer: int,
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """engine.grid_pre_activations computed in float32 by matrix products (the fast tanh): for drawing a
    wide network's background, where float32's 1e-7 is far below a pixel's colour step. Float64 out."""
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    out = np.empty((len(ys), len(xs), int(sizes[layer + 1])))
    _grid_wide(
        np.array(params, dtype=np.float32), int(activation_code), sizes, int(layer),
        np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32), out,
    )  # fmt: skip
    return out
