"""Per-sample, per-neuron influence: the norm of a sample's own loss gradient w.r.t. one neuron's incoming
weights and bias, in closed form for all samples at once, and accumulated over the recorded epochs. The loss
is the one trained: binary cross-entropy for two classes, softmax cross-entropy for more."""

from __future__ import annotations

import time
import weakref

import numpy as np

from app.core.history import TrainingHistory, default_max_rows, lazy_zeros
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


def _widest(spec: NetworkSpec) -> int:
    """The widest layer whose (epochs, samples, width) arrays a batch holds: a hidden one, or k logits."""
    return max(*spec.widths, spec.output_units)


def _softmax_error(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """d loss_i / d z_i for softmax cross-entropy: p_i - onehot(y_i), from the logits z (..., n, k)."""
    classes = np.asarray(labels).astype(np.int64)
    if len(classes) and (classes.min() < 0 or classes.max() >= z.shape[-1]):
        raise ValueError(f"labels must be classes 0 to {z.shape[-1] - 1}")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    e[..., np.arange(len(classes)), classes] -= 1.0
    return e


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
    if spec.classes == 2:
        logit = (h @ np.swapaxes(weights[-1], -1, -2))[..., 0] + biases[-1]
        grad = (0.5 * (1.0 + np.tanh(0.5 * logit)) - y)[..., None] * weights[-1]  # d loss / d h, last layer
    else:
        z = h @ np.swapaxes(weights[-1], -1, -2) + biases[-1][..., None, :]
        grad = _softmax_error(z, y) @ weights[-1]
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
    """I_ij = || d loss_i / d (W_l[j, :], b_l[j]) || per hidden layer l, each (n_samples, width_l); labels
    0 to k - 1 (two classes: 1 = blue). Without the bias, the norm over the incoming weights only. For a stack
    of epochs' parameters (E, P), each (E, n_samples, width_l)."""
    return [np.abs(d) * np.sqrt(q)[..., None] for d, q in _deltas(spec, params, points, labels, include_bias)]


def _squared(
    spec: NetworkSpec, params_rows: np.ndarray, points: np.ndarray, labels: np.ndarray, include_bias: bool
) -> list[np.ndarray]:
    """Per hidden layer I ** 2, without the square root."""
    return [d * d * q[..., None] for d, q in _deltas(spec, params_rows, points, labels, include_bias)]


class _Sums:
    """Cumulative sums over a history's rows of weight * I ** 2 at every `every`-th row, one column per sample
    (by value: a sample's influence does not depend on the others) with every hidden neuron side by side,
    kept for one history, network and include_bias and shared by every AccumulatedInfluence reading them.
    Each column is built up to its own checkpoint (`levels`), so a new sample costs its own column only. A
    column's sums lie together and room is reserved for the history's budget and twice the samples (only
    the columns written take memory), so that neither a new sample nor a new checkpoint copies the rest."""

    def __init__(self, history: TrainingHistory, include_bias: bool, every: int):
        self.spec, self.include_bias, self.every = history.spec, include_bias, every
        self.thinnings = history.thinnings
        self.columns: dict[bytes, int] = {}  # a sample's (x, y, label) bytes -> its column
        self.samples = np.empty((0, 3))  # per column: x, y, label
        self.levels = np.zeros(0, dtype=np.int64)  # per column: cum[0..level] are built
        self.used = 0  # columns handed out
        self.generation = 0  # counts hand-outs of columns: a reader's may since have gone to other samples
        rows = min(history.max_rows, default_max_rows(self.spec))  # (a restored history's may be absurd)
        self.cum = np.zeros((0, rows // every + 2, sum(self.spec.widths)))  # [column, m]: rows [0, m * every)
        self.evaluated = 0  # (row, sample) influences computed so far

    def columns_for(self, samples: np.ndarray) -> np.ndarray:
        """The columns of these samples (n, 3), new ones at level 0 in the places of samples not among these
        (or in new places)."""
        keys = [row.tobytes() for row in samples]
        missing = list(dict.fromkeys(key for key in keys if key not in self.columns))
        if missing:
            wanted = set(keys)
            free = [column for key, column in self.columns.items() if key not in wanted]
            for key in [key for key in self.columns if key not in wanted][: len(missing)]:
                del self.columns[key]
            new = len(missing) - len(free)
            if new > 0:
                if self.used + new > len(self.levels):
                    self._grow(2 * (self.used + new) + 64, self.cum.shape[1])
                free += range(self.used, self.used + new)
                self.used += new
            self.generation += 1
            for key, column in zip(missing, free, strict=False):
                self.columns[key] = column
                self.samples[column] = np.frombuffer(key)
                self.levels[column] = 0
        return np.array([self.columns[key] for key in keys], dtype=np.int64)

    def build(
        self, history: TrainingHistory, columns: np.ndarray, target: int, deadline: float | None
    ) -> bool:
        """Builds these columns' checkpoints up to `target`, the columns furthest behind first, a bounded
        step at a time until `deadline` (None: all); True once all are built."""
        columns = np.unique(columns)
        while True:
            behind = columns[self.levels[columns] < target]
            if not len(behind):
                return True
            if deadline is not None and time.perf_counter() > deadline:
                return False
            level = int(self.levels[behind].min())
            group = behind[self.levels[behind] == level]
            step = max(1, 4 * BATCH_FLOATS // (len(group) * _widest(self.spec) * self.every))
            count = min(step, target - level)
            blocks = self._blocks(history, level, count, self.samples[group])
            if level + count >= self.cum.shape[1]:  # (only where data changes grew the history's budget)
                self._grow(len(self.levels), 2 * (level + count + 1))
            built = self.cum[group, level][:, None] + np.cumsum(blocks, axis=0).transpose(1, 0, 2)
            self.cum[group, level + 1 : level + count + 1] = built
            self.levels[group] = level + count

    def rows_sum(self, history: TrainingHistory, lo: int, hi: int, samples: np.ndarray) -> np.ndarray:
        """Sums over rows [lo, hi) of weight * I ** 2, (n, sum of widths), in batches of bounded size."""
        return self._blocks(history, lo, 1, samples, rows=hi - lo)[0]

    def _blocks(
        self, history: TrainingHistory, first: int, count: int, samples: np.ndarray, rows: int | None = None
    ) -> np.ndarray:
        """The sums over each of `count` consecutive blocks of `every` rows from block `first` (or over
        `rows` rows from row `first`), (count, n, sum of widths)."""
        if rows is None:
            size, lo, hi = self.every, first * self.every, (first + count) * self.every
        else:
            size, lo, hi = max(1, rows), first, first + rows
        n = len(samples)
        points, labels = np.ascontiguousarray(samples[:, :2]), np.ascontiguousarray(samples[:, 2])
        out = np.zeros((count, n, self.cum.shape[-1]))
        epochs = history.epochs
        # Half a batch: every layer's arrays are alive at once, and twice as many rows ran 1.6 times slower.
        batch = max(1, BATCH_FLOATS // max(1, 2 * n * _widest(self.spec)))
        if rows is None:
            batch = min(batch, 4 * size)  # a few blocks a batch: rows are summed into them by a product
        for start in range(lo, hi, batch):
            stop = min(hi, start + batch)
            previous = epochs[start - 1] if start else -1
            weights = np.diff(epochs[start:stop], prepend=previous).astype(np.float64)
            params = history.params_between(start, stop)
            squared = _squared(self.spec, params, points, labels, self.include_bias)
            block = (np.arange(start, stop) - lo) // size
            first_block = block[0]
            by_block = np.zeros((block[-1] - first_block + 1, stop - start))  # each row's weight in its block
            by_block[block - first_block, np.arange(stop - start)] = weights
            column = 0
            for s in squared:
                width = s.shape[-1]
                summed = by_block @ s.reshape(stop - start, n * width)
                out[first_block : block[-1] + 1, :, column : column + width] += summed.reshape(
                    len(summed), n, width
                )
                column += width
            self.evaluated += (stop - start) * n
        return out

    def _grow(self, columns: int, checkpoints: int) -> None:
        """Room for `columns` columns of `checkpoints` checkpoints (at least as many as now), a copy."""
        columns, checkpoints = max(columns, len(self.levels)), max(checkpoints, self.cum.shape[1])
        extra = columns - len(self.levels)
        self.samples = np.concatenate([self.samples, np.zeros((extra, 3))])
        self.levels = np.concatenate([self.levels, np.zeros(extra, dtype=np.int64)])
        cum = lazy_zeros((columns, checkpoints, self.cum.shape[2]))
        cum[: len(self.cum), : self.cum.shape[1]] = self.cum
        self.cum = cum


# The sums kept per history (and include_bias, checkpoint spacing), for as long as the history lives.
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # {history: {(include_bias, every): _Sums}}


class AccumulatedInfluence:
    """Influence accumulated over training up to an epoch: sqrt(sum over recorded rows k at or before it of
    weight_k * I_k ** 2), weight_k = the epochs row k stands for (its epoch minus the previous kept one, 1 for
    epoch 0); all 1 without thinning, which makes it the per-neuron part of TracIn self-influence.

    Running sums are kept as epochs arrive: cumulative sums at every `every`-th row, per sample, built by
    `prepare` (a little per display tick) and extended as the history grows. They belong to the history, not
    to this reader: a new reader of the same history (and include_bias) finds them, and after a change of
    the samples only the new samples' sums are built. A lookup adds rows to the checkpoint before it, or to
    the previous lookup, so it costs less than `every` rows of influence, and a step of a drag forwards only
    the rows stepped over. A thinning changes the weight of most older rows, so the sums are rebuilt
    after one (exact sums across thinnings would need every kept row's I ** 2 per sample and neuron: for
    the default network 1,200 floats a row against its 42 in the history). `reset()` drops them."""

    def __init__(self, spec: NetworkSpec, include_bias: bool = True, every: int = CHECKPOINT_EVERY):
        self.spec = spec
        self.include_bias = include_bias
        self.every = max(1, int(every))
        self._history: weakref.ref | None = None
        self.reset()

    def reset(self) -> None:
        history = self._history() if self._history is not None else None
        if history is not None and history in _SHARED:
            _SHARED[history].pop((self.include_bias, self.every), None)
        self._history = None
        self._sums: _Sums | None = None
        self._samples = np.empty((0, 3))
        self._columns = np.zeros(0, dtype=np.int64)
        self._generation = -1
        self._last: tuple[int, np.ndarray, list[np.ndarray]] | None = None  # row, sums to it, result

    def at(
        self, history: TrainingHistory, points: np.ndarray, labels: np.ndarray, epoch: int
    ) -> list[np.ndarray]:
        """Per hidden layer (n_samples, width_l), read-only, accumulated up to `epoch`."""
        self._follow(history, points, labels)
        row = history.index_of(epoch)
        if self._last is None or self._last[0] != row:
            sums = self._sum_to(history, row + 1)
            total = np.sqrt(np.maximum(sums, 0.0))
            result = np.split(total, np.cumsum(self.spec.widths)[:-1], axis=1)
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
        return self._sums.build(history, self._columns, len(history) // self.every, deadline)

    @property
    def nbytes(self) -> int:
        """The room of the sums' columns handed out (one per distinct sample seen, reused once it is gone;
        each reserved for the history's budget, of which only the pages written take memory)."""
        return 0 if self._sums is None else self._sums.used * self._sums.cum[0].nbytes

    @property
    def evaluated(self) -> int:
        """(row, sample) influences computed for the sums this reader reads, by any reader."""
        return 0 if self._sums is None else self._sums.evaluated

    def _follow(self, history: TrainingHistory, points: np.ndarray, labels: np.ndarray) -> None:
        """Finds (or starts) the history's sums, new ones after a thinning, and the columns of these samples;
        takes the history's network."""
        x = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        y = np.asarray(labels, dtype=np.float64).reshape(-1)
        samples = np.column_stack([x, y])
        shared = _SHARED.setdefault(history, {})
        key = (self.include_bias, self.every)
        sums = shared.get(key)
        if (
            sums is None
            or sums.spec != history.spec
            or sums.thinnings != history.thinnings
            or sums.levels.max(initial=0) * self.every > len(history)
        ):
            sums = shared[key] = _Sums(history, self.include_bias, self.every)
        if (
            sums is not self._sums
            or sums.generation != self._generation
            or not np.array_equal(samples, self._samples)
        ):
            self._history = weakref.ref(history)
            self.spec = history.spec
            self._sums = sums
            self._samples = samples
            self._columns = sums.columns_for(samples)
            self._generation = sums.generation
            self._last = None

    def _sum_to(self, history: TrainingHistory, stop: int) -> np.ndarray:
        """Sums of weight * I ** 2 over rows [0, stop), (n, sum of widths): from the checkpoint at or before
        `stop`, or from the last result where that lies between them, adding rows (never subtracting them
        from a later sum, which would lose the small sums' precision to cancellation)."""
        m = stop // self.every
        start = m * self.every
        if self._last is not None and start <= self._last[0] + 1 <= stop:
            start, sums = self._last[0] + 1, self._last[1]
        else:
            self._sums.build(history, self._columns, m, None)
            sums = self._sums.cum[self._columns, m]
        return sums + self._sums.rows_sum(history, start, stop, self._samples)
