"""Every recorded epoch's parameters and metrics (on the training and the held-out test samples), with
random access by epoch number, in bounded memory: every epoch is kept until the budget is reached, then
older epochs are thinned (never epoch 0, the newest, or an epoch where the data changed)."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence

import numpy as np

from app.core.network import NetworkSpec
from app.core.training import EpochChunk

DEFAULT_BUDGET_BYTES = 64 * 2**20
MIN_ROWS = 512
COMPACT_BLOCK = 8192
# The arrays holding one row per recorded epoch, appended, grown and thinned together.
_ROW_ARRAYS = ("_epochs", "_params", "_loss", "_accuracy", "_test_loss", "_test_accuracy")
# Their names in to_arrays() / from_arrays().
ARRAY_NAMES = tuple(name[1:] for name in _ROW_ARRAYS)


class TrainingHistory:
    """Record of epochs 0..latest (epoch 0 = the initial parameters). Lives in the GUI thread."""

    def __init__(
        self,
        spec: NetworkSpec,
        initial_params: np.ndarray,
        initial_loss: float,
        initial_acc: float,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        *,
        initial_test_loss: float = float("nan"),
        initial_test_acc: float = float("nan"),
    ):
        self.spec = spec
        self.max_rows = default_max_rows(spec, budget_bytes)
        self._size = 0
        capacity = min(1024, self.max_rows)
        self._epochs = np.empty(capacity, dtype=np.int64)
        self._params = np.empty((capacity, spec.n_params))
        self._loss = np.empty(capacity)
        self._accuracy = np.empty(capacity)
        self._test_loss = np.empty(capacity)
        self._test_accuracy = np.empty(capacity)
        self.data_changes: list[int] = []
        self.thinnings = 0
        self.stride = 1  # older epochs are kept where epoch % stride == 0
        self._append(
            np.array([0]), initial_params[None, :], np.array([initial_loss]), np.array([initial_acc]),
            np.array([initial_test_loss]), np.array([initial_test_acc]),
        )  # fmt: skip

    def __len__(self) -> int:
        return self._size

    @property
    def latest_epoch(self) -> int:
        return int(self._epochs[self._size - 1])

    @property
    def epochs(self) -> np.ndarray:
        return self._epochs[: self._size]

    @property
    def loss(self) -> np.ndarray:
        return self._loss[: self._size]

    @property
    def accuracy(self) -> np.ndarray:
        return self._accuracy[: self._size]

    @property
    def test_loss(self) -> np.ndarray:
        """Loss on the held-out samples per row; NaN where none was held out."""
        return self._test_loss[: self._size]

    @property
    def test_accuracy(self) -> np.ndarray:
        return self._test_accuracy[: self._size]

    @property
    def params(self) -> np.ndarray:
        return self._params[: self._size]

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in _ROW_ARRAYS)

    def append(self, chunk: EpochChunk) -> None:
        if chunk.n_epochs == 0:
            return
        if chunk.first_epoch != self.latest_epoch + 1:
            raise ValueError(f"epoch {chunk.first_epoch} does not follow epoch {self.latest_epoch}")
        epochs = np.arange(chunk.first_epoch, chunk.last_epoch + 1)
        rows = np.arange(chunk.n_epochs)
        if chunk.n_epochs > self.max_rows // 4:  # a huge chunk alone: keep it evenly spaced, with its last
            rows = np.unique(np.linspace(0, chunk.n_epochs - 1, self.max_rows // 4).round().astype(int))
        while self._size + len(rows) > self.max_rows:
            self._thin()
        self._append(
            epochs[rows], chunk.params[rows], chunk.loss[rows], chunk.accuracy[rows],
            chunk.test_loss[rows], chunk.test_accuracy[rows],
        )  # fmt: skip

    def mark_data_change(self, epoch: int) -> None:
        if not self.data_changes or self.data_changes[-1] != epoch:
            self.data_changes.append(epoch)

    def index_of(self, epoch: int) -> int:
        """Row of the newest recorded epoch at or before `epoch`."""
        if not 0 <= epoch <= self.latest_epoch:
            raise IndexError(f"epoch {epoch} is outside the history (0 to {self.latest_epoch})")
        return int(np.searchsorted(self.epochs, epoch, side="right") - 1)

    def recorded_epoch(self, epoch: int) -> int:
        """The epoch actually kept for `epoch`: itself, or the nearest earlier one after thinning."""
        return int(self._epochs[self.index_of(epoch)])

    def params_at(self, epoch: int) -> np.ndarray:
        return self._params[self.index_of(epoch)]

    def metrics_at(self, epoch: int) -> tuple[float, float]:
        i = self.index_of(epoch)
        return float(self._loss[i]), float(self._accuracy[i])

    def test_metrics_at(self, epoch: int) -> tuple[float, float]:
        """(test loss, test accuracy) of the held-out samples at `epoch`; NaN where none was held out."""
        i = self.index_of(epoch)
        return float(self._test_loss[i]), float(self._test_accuracy[i])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Copies of the recorded rows by ARRAY_NAMES: epochs (n,) int64, params (n, P) float64, loss,
        accuracy, test_loss, test_accuracy (n,) float64. With scalars(), all that from_arrays needs."""
        return {name: getattr(self, "_" + name)[: self._size].copy() for name in ARRAY_NAMES}

    def scalars(self) -> dict[str, object]:
        """The rest of the state, JSON-able: data_changes (list of epochs), thinnings, stride, max_rows."""
        return {
            "data_changes": [int(epoch) for epoch in self.data_changes],
            "thinnings": int(self.thinnings),
            "stride": int(self.stride),
            "max_rows": int(self.max_rows),
        }

    @classmethod
    def from_arrays(
        cls,
        spec: NetworkSpec,
        arrays: Mapping[str, np.ndarray],
        data_changes: Sequence[int],
        thinnings: int,
        stride: int,
        max_rows: int,
    ) -> TrainingHistory:
        """The history that gave ``to_arrays()`` and ``scalars()``, bit for bit: same rows, and later appends
        and thinnings behave as they would have in the original. Raises ValueError, naming the problem, for
        arrays or numbers no history can hold (missing or extra arrays, wrong dtypes or shapes, epochs not
        strictly increasing from 0, non-finite parameters, impossible metrics or counters)."""
        names = set(arrays)
        if names != set(ARRAY_NAMES):
            missing, extra = set(ARRAY_NAMES) - names, names - set(ARRAY_NAMES)
            raise ValueError(
                f"the history arrays do not match: missing {sorted(missing) or 'none'}, "
                f"unexpected {sorted(map(str, extra)) or 'none'}"
            )
        epochs = arrays["epochs"]
        rows = len(epochs) if isinstance(epochs, np.ndarray) and epochs.ndim == 1 else -1
        checked = {}
        for name in ARRAY_NAMES:
            a = arrays[name]
            dtype = np.int64 if name == "epochs" else np.float64
            if not isinstance(a, np.ndarray) or a.dtype != dtype:
                raise ValueError(f"the history's {name} must be a {np.dtype(dtype).name} array")
            shape = (rows, spec.n_params) if name == "params" else (rows,)
            if a.shape != shape:
                expected = "one row per epoch" if rows < 0 else str(shape)
                raise ValueError(f"the history's {name} has shape {a.shape}, expected {expected}")
            checked[name] = np.array(a, order="C")  # a private, writable copy
        epochs = checked["epochs"]
        if rows == 0 or epochs[0] != 0:
            raise ValueError("the history must start at epoch 0")
        if (np.diff(epochs) <= 0).any():
            raise ValueError("the history's epochs must be strictly increasing")
        if not np.isfinite(checked["params"]).all():
            raise ValueError("the history's parameters must be finite numbers")
        for name in ("loss", "test_loss"):
            if (checked[name] < 0).any():
                raise ValueError(f"the history's {name} must not be negative")
        for name in ("accuracy", "test_accuracy"):
            if ((checked[name] < 0) | (checked[name] > 1)).any():
                raise ValueError(f"the history's {name} must lie between 0 and 1")
        if not isinstance(data_changes, list | tuple | np.ndarray):
            raise ValueError(f"the history's data changes must be a list, not {type(data_changes).__name__}")
        changes = [_whole(epoch, "a data change epoch") for epoch in data_changes]
        thinnings, stride, max_rows = (
            _whole(thinnings, "thinnings"), _whole(stride, "stride"), _whole(max_rows, "max_rows")
        )  # fmt: skip
        if stride < 1 or stride & (stride - 1):
            raise ValueError(f"the history's stride must be a power of 2, not {stride}")
        if max_rows < max(MIN_ROWS, rows):
            raise ValueError(f"the history's max_rows must be at least {max(MIN_ROWS, rows)}, not {max_rows}")
        history = cls.__new__(cls)
        history.spec = spec
        history.max_rows = max_rows
        history._size = rows  # noqa: SLF001 - a constructor of its own class, bypassing __init__
        for name, a in checked.items():
            setattr(history, "_" + name, a)
        history.data_changes = changes
        history.thinnings = thinnings
        history.stride = stride
        return history

    def fit_budget(self, budget_bytes: int | None = None) -> bool:
        """Brings a restored history (whose max_rows came from a file) back within what a new history of its
        network gets from `budget_bytes` (DEFAULT_BUDGET_BYTES when None): max_rows lowered to that, or to
        what its kept data-change epochs need, and the rows thinned as appending would and the arrays cut to
        them when more are held. True when anything changed. A history grown by append() never needs this:
        thinning grows max_rows only to 2 * protected rows + 2, which stays at or below 4 * (kept data
        changes) + 8 (protected rows: epoch 0, the kept data changes and the newest max_rows // 4)."""
        changes = int(np.isin(self.epochs, self.data_changes).sum())
        limit = max(default_max_rows(self.spec, budget_bytes), 4 * changes + 8)
        if self.max_rows <= limit:
            return False
        self.max_rows = limit
        if self._size > limit:
            self._thin()
            for name in _ROW_ARRAYS:  # release the rows thinned away
                setattr(self, name, getattr(self, name)[: self._size].copy())
        return True

    def _thin(self) -> None:
        """Widens the spacing kept among older epochs (all but the newest quarter of the budget, which stays
        dense) until at most half the budget is used; older epochs stay evenly spread over the whole run, and
        protected epochs stay."""
        size = self._size
        rows = np.arange(size)
        epochs = self._epochs[:size]
        protected = (epochs == 0) | np.isin(epochs, self.data_changes) | (rows >= size - self.max_rows // 4)
        if protected.sum() > self.max_rows // 2:  # too many data changes to honour the budget: grow it
            self.max_rows = 2 * int(protected.sum()) + 2
        keep = protected | (epochs % self.stride == 0)
        while keep.sum() > self.max_rows // 2:
            self.stride *= 2
            keep = protected | (epochs % self.stride == 0)
        kept = np.flatnonzero(keep)
        # Compacts in place, block by block: kept[j] >= j, so no block overwrites rows a later block reads.
        for start in range(0, len(kept), COMPACT_BLOCK):
            block = kept[start : start + COMPACT_BLOCK]
            for name in _ROW_ARRAYS:
                array = getattr(self, name)
                array[start : start + len(block)] = array[block]
        self._size = len(kept)
        self.thinnings += 1

    def _append(self, epochs, params, loss, accuracy, test_loss, test_accuracy) -> None:
        k = len(epochs)
        if self._size + k > len(self._epochs):
            capacity = max(min(2 * len(self._epochs), self.max_rows), self._size + k)
            for name in _ROW_ARRAYS:
                old = getattr(self, name)
                new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
                new[: self._size] = old[: self._size]
                setattr(self, name, new)
        s = slice(self._size, self._size + k)
        self._epochs[s] = epochs
        self._params[s] = params
        self._loss[s] = loss
        self._accuracy[s] = accuracy
        self._test_loss[s] = test_loss
        self._test_accuracy[s] = test_accuracy
        self._size += k


def default_max_rows(spec: NetworkSpec, budget_bytes: int | None = None) -> int:
    """The rows a new history of `spec` keeps within `budget_bytes` (DEFAULT_BUDGET_BYTES when None): one
    row is the epoch, the parameters, loss, accuracy, test loss and test accuracy; never fewer than
    MIN_ROWS."""
    budget = DEFAULT_BUDGET_BYTES if budget_bytes is None else budget_bytes
    return max(MIN_ROWS, budget // (8 * (spec.n_params + 5)))


def _whole(value: object, name: str) -> int:
    """A whole number (not a bool or a float) from 0 to 2**62 as an int (numpy's int64 arrays must hold
    it); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"the history's {name} must be a whole number, not {value!r}")
    if not 0 <= value <= 2**62:
        raise ValueError(f"the history's {name} must lie between 0 and 2**62, not {value}")
    return operator.index(value)
