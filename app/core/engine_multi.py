"""Many networks in one compiled loop: K runs of one shape on one sample set (each with its own initial
parameters, sample orders, learning rate, L2 and held-out part) trained together, vectorised across runs.

Each run's recorded epochs equal, bit for bit in float64, what engine.train_epochs records for it alone, by
construction: both loops are compiled without fast-math (every rounding as written), compute each number
with the same operations in the same order, and take exp, the activations, the losses and softmax from
exact_math. Only the order of the loops differs: here the innermost loop runs across runs, over arrays that
put the run index last (params (P, K), activations (layers, rows, width, K)), so that it vectorises; exp
runs vectorised over a whole row (exact_math.exp_main) and falls back to the scalar exact_math.exp for a row
that holds an argument outside its range. tests/core/test_engine_multi.py holds it to engine.train_epochs.

It covers the networks that engine.train_epochs trains by its per-sample loop (no hidden layer of
engine.WIDE_MIN_WIDTH or more neurons), in float64."""

from __future__ import annotations

import math

import numpy as np

from app.core import exact_math as exact
from app.core.engine import _check_class_labels, uses_wide_loop
from app.core.engine_ops import (
    ACTIVATION_CODES,
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    OPTIMIZER_CODES,
    _layer_offsets,
)
from app.core.exact_math import jit_exact as _jit


# Hot loops index the arrays directly (a[i, j, k]), never through views: numba counts references to a view
# atomically, which costs more than the 64-run loop it would serve, and direct indices let LLVM check the
# few arrays for overlap once and vectorise. Each loop keeps the order in which engine's loop adds.
def _inline(fn):
    """_jit, inlined by numba into its callers (where that measured faster than LLVM's call)."""
    return _jit(fn, inline="always")


@_jit
def _exp_row(x, e, n):
    """e[:n] = exact_math.exp(x[:n]), vectorised."""
    odd = False
    for k in range(n):
        e[k] = exact.exp_main(x[k])
        odd |= exact.exp_odd(x[k])
    if odd:
        for k in range(n):
            e[k] = exact.exp(x[k])


@_jit
def _activate(act, zs, hs, layer, count, n_out, runs):
    """hs[layer + 1, s, o, k] = exact_math.act(act, zs[layer, s, o, k]) for rows s < count, neurons o <
    n_out: tanh (exact_math.tanh, exp_main alone) and sigmoid vectorised, a sigmoid row redone by
    exact_math.act where an exp argument is out of exp_main's range."""
    for s in range(count):
        odd = False
        for o in range(n_out):
            if act == 0:
                for k in range(runs):
                    hs[layer + 1, s, o, k] = exact.tanh(zs[layer, s, o, k])
            elif act == 2:
                for k in range(runs):
                    z = zs[layer, s, o, k]
                    hs[layer + 1, s, o, k] = exact.sigmoid_of(z, exact.exp_main(-abs(z)))
                    odd |= exact.exp_odd(-abs(z))
            else:
                for k in range(runs):
                    hs[layer + 1, s, o, k] = exact.act(act, zs[layer, s, o, k])
        if odd:
            for o in range(n_out):
                for k in range(runs):
                    hs[layer + 1, s, o, k] = exact.act(act, zs[layer, s, o, k])


@_jit
def _dot_pass(params, hs, zs, layer, s, o, b, w, i, m, runs):
    """zs[layer, s, o] = (the bias if i == 0, else itself) + m <= 4 products w_j h_j from input i on."""
    first = i == 0
    if m == 4:
        for k in range(runs):
            start = params[b, k] if first else zs[layer, s, o, k]
            zs[layer, s, o, k] = (
                (
                    (start + params[w + i, k] * hs[layer, s, i, k])
                    + params[w + i + 1, k] * hs[layer, s, i + 1, k]
                )
                + params[w + i + 2, k] * hs[layer, s, i + 2, k]
            ) + params[w + i + 3, k] * hs[layer, s, i + 3, k]
    elif m == 2:
        for k in range(runs):
            start = params[b, k] if first else zs[layer, s, o, k]
            zs[layer, s, o, k] = (start + params[w + i, k] * hs[layer, s, i, k]) + params[w + i + 1, k] * hs[
                layer, s, i + 1, k
            ]
    else:
        for k in range(runs):
            start = params[b, k] if first else zs[layer, s, o, k]
            zs[layer, s, o, k] = start + params[w + i, k] * hs[layer, s, i, k]


@_jit
def _forward(params, sizes, w_off, b_off, act, hs, zs, count):
    """engine._forward_batch across runs: rows 0..count of hs[0] (inputs 0, 1 of each run) through every
    layer; hs[l] holds layer l's input, zs[l] its pre-activation, run index last. Each pre-activation is
    bias + w_0 h_0 + w_1 h_1 + ..., added in that order (up to four a pass)."""
    n_layers = sizes.shape[0] - 1
    runs = params.shape[1]
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        for s in range(count):
            for o in range(n_out):
                i = 0
                while i < n_in:
                    m = 4 if n_in - i >= 4 else (2 if n_in - i >= 2 else 1)
                    _dot_pass(
                        params, hs, zs, layer, s, o, b_off[layer] + o, w_off[layer] + o * n_in, i, m, runs
                    )
                    i += m
        if layer < n_layers - 1:
            _activate(act, zs, hs, layer, count, n_out, runs)


@_inline
def _grad_rows(grad, delta, hs, layer, w, b, o, n_in, s, m, runs):
    """grad of neuron o (weights from row w, bias row b) += rows s..s+m (m <= 4) of the batch, in order."""
    if m == 4:
        for k in range(runs):
            grad[b, k] = (((grad[b, k] + delta[s, o, k]) + delta[s + 1, o, k]) + delta[s + 2, o, k]) + delta[
                s + 3, o, k
            ]
        for i in range(n_in):
            for k in range(runs):
                grad[w + i, k] = (
                    ((grad[w + i, k] + delta[s, o, k] * hs[layer, s, i, k])
                     + delta[s + 1, o, k] * hs[layer, s + 1, i, k])
                    + delta[s + 2, o, k] * hs[layer, s + 2, i, k]
                ) + delta[s + 3, o, k] * hs[layer, s + 3, i, k]  # fmt: skip
        return
    for r in range(s, s + m):
        for k in range(runs):
            grad[b, k] += delta[r, o, k]
        for i in range(n_in):
            for k in range(runs):
                grad[w + i, k] += delta[r, o, k] * hs[layer, r, i, k]


@_jit
def _backward(params, sizes, w_off, b_off, act, hs, zs, delta, delta_prev, grad, count, counts, full):
    """engine._backward_batch across runs: adds the gradient of run k's rows 0..counts[k] to grad[:, k]
    (`full`: every run has all count rows), given delta = dLoss/dlogits (rows, outputs, runs). Each
    gradient adds its rows in order; each back-propagated delta is 0.0 + d_0 w_0 + d_1 w_1 + ..., in order,
    times the activation's slope."""
    n_layers = sizes.shape[0] - 1
    runs = params.shape[1]
    for layer in range(n_layers - 1, -1, -1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        for o in range(n_out):
            w = w_off[layer] + o * n_in
            b = b_off[layer] + o
            if full:
                for s in range(0, count, 4):
                    _grad_rows(grad, delta, hs, layer, w, b, o, n_in, s, min(4, count - s), runs)
                continue
            for s in range(count):
                for k in range(runs):
                    if s < counts[k]:
                        grad[b, k] += delta[s, o, k]
                for i in range(n_in):
                    for k in range(runs):
                        if s < counts[k]:
                            grad[w + i, k] += delta[s, o, k] * hs[layer, s, i, k]
        if layer == 0:
            break
        for s in range(count):
            for i in range(n_in):
                w = w_off[layer] + i
                for k in range(runs):  # 0.0 + d_0 w_0 + ...: four products a pass, then the slope
                    delta_prev[s, i, k] = 0.0
                o = 0
                while o + 4 <= n_out:
                    w0, w1, w2, w3 = w + o * n_in, w + (o + 1) * n_in, w + (o + 2) * n_in, w + (o + 3) * n_in
                    for k in range(runs):
                        delta_prev[s, i, k] = (
                            (
                                (delta_prev[s, i, k] + delta[s, o, k] * params[w0, k])
                                + delta[s, o + 1, k] * params[w1, k]
                            )
                            + delta[s, o + 2, k] * params[w2, k]
                        ) + delta[s, o + 3, k] * params[w3, k]
                    o += 4
                while o < n_out:
                    for k in range(runs):
                        delta_prev[s, i, k] += delta[s, o, k] * params[w + o * n_in, k]
                    o += 1
                for k in range(runs):
                    delta_prev[s, i, k] *= exact.act_slope(act, zs[layer - 1, s, i, k], hs[layer, s, i, k])
        delta, delta_prev = delta_prev, delta


@_jit
def _metrics(params, sizes, w_off, b_off, act, x, y, ids, counts, hs, zs, e, loss, accuracy):
    """loss[k], accuracy[k] = engine._metrics of run k on the samples ids[:counts[k], k] (in that order)."""
    runs = params.shape[1]
    last = sizes.shape[0] - 2
    n_classes = sizes[-1]
    block = hs.shape[1]
    total = np.zeros(runs)
    correct = np.zeros(runs, np.int64)
    arg = np.empty(runs)
    probs = np.empty(n_classes)
    for start in range(0, ids.shape[0], block):
        count = min(block, ids.shape[0] - start)
        for s in range(count):
            for k in range(runs):
                hs[0, s, 0, k] = x[ids[start + s, k], 0]
                hs[0, s, 1, k] = x[ids[start + s, k], 1]
        _forward(params, sizes, w_off, b_off, act, hs, zs, count)
        for s in range(count):
            if n_classes == 1:
                for k in range(runs):
                    arg[k] = -abs(zs[last, s, 0, k])
                _exp_row(arg, e, runs)
                for k in range(runs):  # the targets apart, and no condition around the loss: either keeps
                    arg[k] = y[ids[start + s, k]]  # LLVM from vectorising the loop
                for k in range(runs):
                    e[k] = exact.loss_of(zs[last, s, 0, k], arg[k], e[k])
                for k in range(runs):
                    if start + s < counts[k]:
                        total[k] += e[k]
                        correct[k] += (zs[last, s, 0, k] > 0.0) == (arg[k] > 0.5)
                continue
            for k in range(runs):
                if start + s < counts[k]:
                    target = int(y[ids[start + s, k]])
                    column = zs[last, s, :, k]
                    total[k] += exact.softmax(column, n_classes, probs) - column[target]
                    best = 0
                    for c in range(1, n_classes):
                        if column[c] > column[best]:
                            best = c
                    if best == target:
                        correct[k] += 1
    for k in range(runs):
        if counts[k] > 0:
            loss[k] = total[k] / counts[k]
            accuracy[k] = correct[k] / counts[k]


@_jit
def _step(params, adam_m, adam_v, grad, steps, moving, lrs, l2s, optimizer, bias1, bias2_sqrt):
    """engine._train's SGD or Adam update, for the runs that are `moving`."""
    runs = params.shape[1]
    every = True
    for k in range(runs):
        every = every and moving[k]
    if optimizer == 0 and every:
        for p in range(params.shape[0]):
            for k in range(runs):
                params[p, k] -= lrs[k] * (grad[p, k] + l2s[k] * params[p, k])
        return
    if optimizer == 0:
        for p in range(params.shape[0]):
            for k in range(runs):
                if moving[k]:
                    params[p, k] -= lrs[k] * (grad[p, k] + l2s[k] * params[p, k])
        return
    for k in range(runs):
        bias1[k] = 1.0 - ADAM_BETA1 ** steps[k] if moving[k] else 1.0
        bias2_sqrt[k] = math.sqrt(1.0 - ADAM_BETA2 ** steps[k]) if moving[k] else 1.0
    for p in range(params.shape[0]):
        for k in range(runs):
            if moving[k]:
                g = grad[p, k] + l2s[k] * params[p, k]
                adam_m[p, k] = ADAM_BETA1 * adam_m[p, k] + (1.0 - ADAM_BETA1) * g
                adam_v[p, k] = ADAM_BETA2 * adam_v[p, k] + (1.0 - ADAM_BETA2) * g * g
                params[p, k] -= (
                    (lrs[k] / bias1[k]) * adam_m[p, k] / (math.sqrt(adam_v[p, k]) / bias2_sqrt[k] + ADAM_EPS)
                )


@_jit
def _delta(zs, last, y, batch_ids, s, counts, n_classes, delta, arg, e):
    """engine._train's dLoss/dlogits for row s of every run (zero for a run with fewer rows)."""
    runs = zs.shape[3]
    if n_classes == 1:
        for k in range(runs):
            arg[k] = -abs(zs[last, s, 0, k])
        _exp_row(arg, e, runs)
        for k in range(runs):
            arg[k] = y[batch_ids[s, k]]
        for k in range(runs):  # x / 0 is harmless here (numpy's error model), and taken out below
            e[k] = (exact.sigmoid_of(zs[last, s, 0, k], e[k]) - arg[k]) / counts[k]
        for k in range(runs):
            delta[s, 0, k] = e[k] if s < counts[k] else 0.0
        return
    for k in range(runs):
        d = delta[s, :n_classes, k]
        if s < counts[k]:
            exact.softmax(zs[last, s, :, k], n_classes, d)
            d[int(y[batch_ids[s, k]])] -= 1.0
            for c in range(n_classes):
                d[c] /= counts[k]
        else:
            d[:] = 0.0


@_jit
def _train_many(params, adam_m, adam_v, steps, x, y, orders, n_train, train_ids, test_ids, n_test,
                batch_size, lrs, l2s, optimizer, act, sizes, out_params, out_loss, out_acc, out_test_loss,
                out_test_acc, done):  # fmt: skip
    """engine._train for K runs at once (run index last): run k trains in epoch e on the samples
    train_ids[orders[k, e, :n_train[k]], k] in that order, and is evaluated on train_ids[:n_train[k], k] and
    test_ids[:n_test[k], k]. done[k] (-1 on entry) becomes the number of epochs recorded for run k; a run
    stops before recording a non-finite epoch, as engine._train does, while the others go on. A run that
    stopped comes back with its last recorded parameters (its first ones if none) and zero moments."""
    runs = params.shape[1]
    n_layers = sizes.shape[0] - 1
    width = 0
    for size in sizes:
        width = max(width, size)
    w_off, b_off, n_params = _layer_offsets(sizes)
    n_max = orders.shape[2]
    batch_ids = np.zeros((min(batch_size, n_max), runs), np.int64)
    rows = min(batch_size, n_max)
    hs = np.zeros((n_layers + 1, rows, width, runs))
    zs = np.zeros((n_layers, rows, width, runs))
    delta = np.zeros((rows, width, runs))
    delta_prev = np.zeros((rows, width, runs))
    grad = np.zeros((n_params, runs))
    first = params.copy()
    counts = np.zeros(runs, np.int64)
    moving = np.zeros(runs, np.bool_)
    arg, e = np.empty(runs), np.empty(runs)
    bias1, bias2_sqrt = np.ones(runs), np.ones(runs)
    loss, accuracy = np.empty(runs), np.empty(runs)
    n_classes = sizes[n_layers]
    for epoch in range(orders.shape[1]):
        for start in range(0, n_max, batch_size):
            count = min(batch_size, n_max - start)
            for k in range(runs):
                counts[k] = max(0, min(batch_size, n_train[k] - start)) if done[k] < 0 else 0
                moving[k] = counts[k] > 0
                steps[k] += moving[k]
            for s in range(count):
                for k in range(runs):
                    batch_ids[s, k] = train_ids[orders[k, epoch, start + s], k]
                for k in range(runs):
                    hs[0, s, 0, k] = x[batch_ids[s, k], 0]
                    hs[0, s, 1, k] = x[batch_ids[s, k], 1]
            _forward(params, sizes, w_off, b_off, act, hs, zs, count)
            for s in range(count):
                _delta(zs, n_layers - 1, y, batch_ids, s, counts, n_classes, delta, arg, e)
            grad[:] = 0.0
            full = True
            for k in range(runs):
                full = full and counts[k] == count
            _backward(params, sizes, w_off, b_off, act, hs, zs, delta, delta_prev, grad, count, counts, full)
            _step(params, adam_m, adam_v, grad, steps, moving, lrs, l2s, optimizer, bias1, bias2_sqrt)
        for k in range(runs):
            counts[k] = n_train[k] if done[k] < 0 else 0
        _metrics(params, sizes, w_off, b_off, act, x, y, train_ids, counts, hs, zs, e, loss, accuracy)
        for k in range(runs):
            if done[k] >= 0:
                continue
            finite = math.isfinite(loss[k])
            for p in range(n_params):
                finite = finite and math.isfinite(params[p, k])
            if not finite:  # from here on the run rests at zeros (finite: no slow exp), not moving
                done[k] = epoch
                params[:, k] = 0.0
                adam_m[:, k] = 0.0
                adam_v[:, k] = 0.0
                continue
            for p in range(n_params):
                out_params[k, epoch, p] = params[p, k]
            out_loss[k, epoch] = loss[k]
            out_acc[k, epoch] = accuracy[k]
        if test_ids.shape[0] > 0:
            for k in range(runs):
                counts[k] = n_test[k] if done[k] < 0 else 0
            _metrics(params, sizes, w_off, b_off, act, x, y, test_ids, counts, hs, zs, e, loss, accuracy)
            for k in range(runs):
                if counts[k] > 0:
                    out_test_loss[k, epoch] = loss[k]
                    out_test_acc[k, epoch] = accuracy[k]
    for k in range(runs):
        if done[k] < 0:
            done[k] = orders.shape[1]
        elif done[k] > 0:
            params[:, k] = out_params[k, done[k] - 1]
        else:
            params[:, k] = first[:, k]


def _stacked(orders: list[np.ndarray], n_max: int) -> np.ndarray:
    """The runs' sample orders as one (K, E, n_max) array, shorter ones padded with position 0."""
    if all(np.shape(o)[1] == n_max for o in orders):
        return np.asarray(orders, dtype=np.int64)
    stacked = np.zeros((len(orders), np.shape(orders[0])[0], n_max), np.int64)
    for k, o in enumerate(orders):
        stacked[k, :, : np.shape(o)[1]] = o
    return stacked


def train_epochs_many(
    params: np.ndarray,
    adam_m: np.ndarray,
    adam_v: np.ndarray,
    steps: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    train_idx: list[np.ndarray],
    test_idx: list[np.ndarray],
    orders: list[np.ndarray],
    batch_size: int,
    learning_rates: np.ndarray,
    l2s: np.ndarray,
    optimizer: str,
    activation: str,
    layer_sizes: tuple[int, ...],
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """engine.train_epochs for K runs in one compiled call. params, adam_m, adam_v (P, K) float64
    C-contiguous and steps (K,) int64 are updated in place; run k trains on the samples x[train_idx[k]]
    (labels y: class indices), epoch e in the order train_idx[k][orders[k][e]] (orders[k]: (E,
    len(train_idx[k])), the same E for every run), in batches of batch_size, with learning_rates[k] and
    l2s[k], and is evaluated on x[test_idx[k]]. Returns per run what train_epochs returns but the step
    count: (params (d,P), loss, accuracy, test loss, test accuracy (d,), NaN without test samples), d < E
    where the next epoch diverged; each equal bit for bit to train_epochs on the same run (the same
    batch_size: full batches are each run's own training size). A run that diverged comes back with its last
    recorded parameters (its first ones if none), zero moments and the steps up to its failed epoch.
    Networks with a hidden layer of engine.WIDE_MIN_WIDTH or more neurons are not covered: ValueError."""
    if uses_wide_loop(layer_sizes):
        raise ValueError(f"the K-run loop covers no hidden layer of WIDE_MIN_WIDTH neurons: {layer_sizes}")
    runs = params.shape[1]
    n_epochs = orders[0].shape[0] if runs else 0
    if not (len(train_idx) == len(test_idx) == len(orders) == runs == len(learning_rates) == len(l2s)):
        raise ValueError(f"{runs} runs need as many sample lists, orders, learning rates and L2 weights")
    if any(np.shape(o) != (n_epochs, len(t)) for o, t in zip(orders, train_idx, strict=True)):
        raise ValueError("every run's orders must be (epochs, its training samples), the same epochs for all")
    if any(len(t) == 0 for t in train_idx):
        raise ValueError("every run needs samples to train on")
    for a in (params, adam_m, adam_v):
        if a.dtype != np.float64 or not a.flags.c_contiguous or not a.flags.writeable or a.ndim != 2:
            raise ValueError("params and moments must be writable C-contiguous float64 (P, K) arrays")
    y = np.array(y, dtype=np.float64)
    _check_class_labels(layer_sizes[-1], y)
    n_max = max(len(t) for t in train_idx)
    m_max = max(len(t) for t in test_idx)
    train_ids = np.zeros((n_max, runs), np.int64)
    test_ids = np.zeros((m_max, runs), np.int64)
    for k in range(runs):  # padding: a valid sample, never counted
        own = np.asarray(train_idx[k], np.int64)
        train_ids[:, k] = own[0]
        train_ids[: len(own), k] = own
        test_ids[: len(test_idx[k]), k] = test_idx[k]
    out_params = np.empty((runs, n_epochs, params.shape[0]))
    out_loss, out_acc = np.empty((runs, n_epochs)), np.empty((runs, n_epochs))
    out_test_loss, out_test_acc = np.full((runs, n_epochs), np.nan), np.full((runs, n_epochs), np.nan)
    done = np.full(runs, -1, np.int64)
    _train_many(
        params, adam_m, adam_v, steps, np.array(x, dtype=np.float64, order="C"), y, _stacked(orders, n_max),
        np.array([len(t) for t in train_idx], np.int64), train_ids, test_ids,
        np.array([len(t) for t in test_idx], np.int64), int(batch_size),
        np.array(learning_rates, np.float64), np.array(l2s, np.float64), OPTIMIZER_CODES[optimizer],
        ACTIVATION_CODES[activation], np.asarray(layer_sizes, dtype=np.int64),
        out_params, out_loss, out_acc, out_test_loss, out_test_acc, done,
    )  # fmt: skip
    return [
        (out_params[k, :d], out_loss[k, :d], out_acc[k, :d], out_test_loss[k, :d], out_test_acc[k, :d])
        for k, d in enumerate(done)
    ]


def warm_up() -> None:
    """Compiles (or loads from numba's cache) the K-run loop on two runs of a 2-1-1 network."""
    params = np.zeros((5, 2))
    train_epochs_many(
        params, np.zeros_like(params), np.zeros_like(params), np.zeros(2, np.int64), np.zeros((2, 2)),
        np.array([0.0, 1.0]), [np.arange(2)] * 2, [np.arange(0)] * 2, [np.array([[0, 1]])] * 2, 2, [0.1] * 2,
        [0.0] * 2, "adam", "tanh", (2, 1, 1),
    )  # fmt: skip
