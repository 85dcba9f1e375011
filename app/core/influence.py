"""Per-sample, per-neuron influence: the norm of a sample's own loss gradient w.r.t. one neuron's incoming
weights and bias, in closed form for all samples at once, and accumulated over the recorded epochs."""

from __future__ import annotations

import time
import weakref

import numpy as np

from app.core.history import TrainingHistory
from app.core.network import LEAKY_SLOPE, NetworkSpec, activate, named_params

BATCH_FLOATS = 1 << 16  # floats per (epochs, samples, width) array in one batch: cache-sized is fastest
CHECKPOINT_EVERY = 64  # recorded rows between the cumulative sums kept by AccumulatedInfluence


def _derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d activate(name, z) / dz from z and a = activate(name, z), with torch's values at the kinks."""
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (z > 0).astype(np.float64)  # 0 at z = 0
    return np.where(z > 0, 1.0, LEAKY_SLOPE)  # the slope at z = 0


def _deltas(
    spec: NetworkSpec, params: np.ndarray, points: np.ndarray, labels: np.ndarray, include_bias: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per hidden layer (delta, q): delta = d loss_i / d z_ij with shape (..., n, width), and q = h_i . h_i
    (+ 1 with the bias) with shape (..., n), for parameters (P,) or a stack (..., P)."""
    x = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    p = named_params(spec, np.asarray(params, dtype=np.float64))
    n_layers = len(spec.layer_sizes) - 1
    weights = [p[f"layers.{i}.weight"] for i in range(n_layers)]
    biases = [p[f"layers.{i}.bias"] for i in range(n_layers)]
    h, inputs, slopes = x, [], []
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        inputs.append(h)
        z = h @ np.swapaxes(w, -1, -2) + b[..., None, :]
        h = activate(spec.activation, z)
        slopes.append(_derivative(spec.activation, z, h))
    logit = (h @ np.swapaxes(weights[-1], -1, -2))[..., 0] + biases[-1]
    grad = (0.5 * (1.0 + np.tanh(0.5 * logit)) - y)[..., None] * weights[-1]  # d loss / d h of the last layer
    out = []
    for i in reversed(range(n_layers - 1)):
        delta = grad * slopes[i]
        out.append((delta, np.einsum("...i,...i->...", inputs[i], inputs[i]) + float(include_bias)))
        if i:
            grad = delta @ weights[i]
    return out[::-1]


def influence(
    spec: NetworkSpec, params: np.ndarray, points: np.ndarray, labels: np.ndarray, include_bias: bool = True
) -> list[np.ndarray]:
    """I_ij = || d loss_i / d (W_l[j, :], b_l[j]) || per hidden layer l, each (n_samples, width_l); labels 1 =
    blue. Without the bias, the norm over the incoming weights only. For a stack of epochs' parameters
    (E, P), each (E, n_samples, width_l)."""
    return [np.abs(d) * np.sqrt(q)[..., None] for d, q in _deltas(spec, params, points, labels, include_bias)]


def _squared(
    spec: NetworkSpec, params_rows: np.ndarray, points: np.ndarray, labels: np.ndarray, include_bias: bool
) -> list[np.ndarray]:
    """Per hidden layer I ** 2, without the square root."""
    return [d * d * q[..., None] for d, q in _deltas(spec, params_rows, points, labels, include_bias)]


class AccumulatedInfluence:
    """Influence accumulated over training up to an epoch: sqrt(sum over recorded rows k at or before it of
    weight_k * I_k ** 2), weight_k = the epochs row k stands for (its epoch minus the previous kept one, 1 for
    epoch 0); all 1 without thinning, which makes it the per-neuron part of TracIn self-influence.

    Keeps the cumulative sums at every `every`-th row (per checkpoint n_samples * sum(widths) floats), built
    lazily and extended as the history grows; a call starts from the nearest checkpoint (before or after) or
    from the previous call's result, so it costs at most every/2 rows of influence, and a step of a drag only
    the rows stepped over. The cache follows the history object (and its network), its thinnings and the
    values of points and labels: another history, a thinning or other samples rebuild it by themselves;
    `reset()` drops it."""

    def __init__(self, spec: NetworkSpec, include_bias: bool = True, every: int = CHECKPOINT_EVERY):
        self.spec = spec
        self.include_bias = include_bias
        self.every = max(1, int(every))
        self.reset()

    def reset(self) -> None:
        self._history: weakref.ref | None = None
        self._thinnings = -1
        self._points = np.empty((0, 2))
        self._labels = np.empty(0)
        self._sums: list[list[np.ndarray]] = []  # [m][layer]: sums over rows [0, m * every), (n, width)
        self._last: tuple[int, list[np.ndarray], list[np.ndarray]] | None = None  # row, sums to it, result

    def at(
        self, history: TrainingHistory, points: np.ndarray, labels: np.ndarray, epoch: int
    ) -> list[np.ndarray]:
        """Per hidden layer (n_samples, width_l), read-only, accumulated up to `epoch`."""
        self._follow(history, points, labels)
        row = history.index_of(epoch)
        if self._last is None or self._last[0] != row:
            sums = [np.maximum(s, 0.0) for s in self._sum_to(history, row + 1)]
            result = [np.sqrt(s) for s in sums]
            for r in result:
                r.flags.writeable = False
            self._last = (row, sums, result)
        return self._last[2]

    def prepare(
        self, history: TrainingHistory, points: np.ndarray, labels: np.ndarray, seconds: float = 0.05
    ) -> bool:
        """Builds checkpoints towards the newest row for about `seconds` (e.g. from a timer, so that no later
        `at` waits for a long history); True once all are built."""
        self._follow(history, points, labels)
        deadline = time.perf_counter() + seconds
        needed = len(history) // self.every
        while len(self._sums) <= needed and time.perf_counter() < deadline:
            self._extend(history, len(self._sums))
        return len(self._sums) > needed

    def _follow(self, history: TrainingHistory, points: np.ndarray, labels: np.ndarray) -> None:
        """Drops the cache unless it was built for this history (unthinned since) and these samples; takes the
        history's network."""
        x = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        y = np.asarray(labels, dtype=np.float64).reshape(-1)
        same = (
            self._history is not None
            and self._history() is history
            and history.spec == self.spec
            and history.thinnings == self._thinnings
            and len(history) >= (len(self._sums) - 1) * self.every
            and np.array_equal(x, self._points)
            and np.array_equal(y, self._labels)
        )
        if not same:
            self.reset()
            self.spec = history.spec
            self._history = weakref.ref(history)
            self._thinnings = history.thinnings
            self._points, self._labels = x.copy(), y.copy()
            self._sums = [[np.zeros((len(x), w)) for w in self.spec.widths]]

    def _sum_to(self, history: TrainingHistory, stop: int) -> list[np.ndarray]:
        """Sums of weight * I ** 2 over rows [0, stop), from the nearest checkpoint or the last result."""
        k = self.every
        m = stop // k
        if (m + 1) * k <= len(history) and (m + 1) * k - stop < stop - m * k:
            m += 1  # the checkpoint after `stop` is nearer: subtract back to it
        start = m * k
        if self._last is not None and abs(self._last[0] + 1 - stop) < abs(start - stop):
            start, sums = self._last[0] + 1, self._last[1]
        else:
            self._extend(history, m)
            sums = self._sums[m]
        if start <= stop:
            return [s + r for s, r in zip(sums, self._rows_sum(history, start, stop), strict=True)]
        return [s - r for s, r in zip(sums, self._rows_sum(history, stop, start), strict=True)]

    def _extend(self, history: TrainingHistory, m: int) -> None:
        """Builds the checkpoints up to number m (rows [0, m * every))."""
        while len(self._sums) <= m:
            start = (len(self._sums) - 1) * self.every
            block = self._rows_sum(history, start, start + self.every)
            self._sums.append([s + b for s, b in zip(self._sums[-1], block, strict=True)])

    def _rows_sum(self, history: TrainingHistory, lo: int, hi: int) -> list[np.ndarray]:
        """Sums over rows [lo, hi) of weight * I ** 2, per layer (n, width), in batches of bounded size."""
        n = len(self._points)
        total = [np.zeros((n, w)) for w in self.spec.widths]
        epochs, bias = history.epochs, self.include_bias
        batch = max(1, BATCH_FLOATS // max(1, n * max(self.spec.widths)))
        for start in range(lo, hi, batch):
            stop = min(hi, start + batch)
            previous = epochs[start - 1] if start else -1
            weights = np.diff(epochs[start:stop], prepend=previous).astype(np.float64)
            squared = _squared(self.spec, history.params[start:stop], self._points, self._labels, bias)
            for t, s in zip(total, squared, strict=True):
                t += np.tensordot(weights, s, axes=1)
        return total
