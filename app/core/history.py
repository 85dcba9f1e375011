"""Every recorded epoch's parameters and metrics (on the training and the held-out test samples), with
random access by epoch number, in bounded memory: every epoch is kept until the budget is reached, then
older epochs are thinned (never epoch 0, the newest, or an epoch where the data changed).

No append stalls the window: the arrays are reserved for the whole budget when a history is made (the
system commits a small page only when a row is first written to it), so none is copied to grow; and a
thinning filters the epochs and metrics (a few numbers a row) at once, while the parameters (most of a row)
move into place at most COMPACT_RATE rows per row appended afterwards, read through a slot map until then."""

from __future__ import annotations

import mmap
import operator
from collections.abc import Mapping, Sequence

import numpy as np

from app.core.network import NetworkSpec
from app.core.training import EpochChunk

DEFAULT_BUDGET_BYTES = 64 * 2**20
MIN_ROWS = 512
# Parameter rows moved into place per row appended while a thinning's move is pending: the move ends within
# max_rows / 2 / (COMPACT_RATE - 1) appended rows, which is all the room beyond max_rows it needs.
COMPACT_RATE = 16
# The arrays of one number per recorded epoch, filtered at once by a thinning.
_SCALARS = ("_epochs", "_loss", "_accuracy", "_test_loss", "_test_accuracy")
# The row arrays' names in to_arrays() / from_arrays().
ARRAY_NAMES = ("epochs", "params", "loss", "accuracy", "test_loss", "test_accuracy")


def lazy_zeros(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """Zeros that take memory a small page at a time, as they are first written: where the system would
    otherwise give a large array 2 MB pages, an append's first write into one would clear all 2 MB at once
    (and, in a virtual machine, have the host find them): 40 ms and more on a busy machine."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size < 1 << 20 or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.zeros(shape, dtype)
    memory = mmap.mmap(-1, size)
    memory.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)


def slack_rows(max_rows: int) -> int:
    """Parameter rows beyond `max_rows` that a pending move may need: rows appended meanwhile go after the
    rows still to move (at most max_rows // 2), and the move finishes within this many appended rows."""
    return max_rows // (2 * max(1, COMPACT_RATE - 1)) + 1


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
        self.data_changes: list[int] = []
        self.restarts: list[int] = []  # data changes where training began afresh (mark_restart)
        self.thinnings = 0
        self.stride = 1  # older epochs are kept where epoch % stride == 0
        # Parameter rows copied inside the history (moves after thinnings, copies into larger arrays): its
        # work beyond storing what is appended.
        self.moved_rows = 0
        empty = {name: np.empty((0, spec.n_params) if name == "params" else 0) for name in ARRAY_NAMES}
        empty["epochs"] = np.empty(0, dtype=np.int64)
        self._restore(empty, min(self.max_rows, default_max_rows(spec)))
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
        """(rows, P), a view; finishes a pending move first (all at once: the window reads rows through
        params_between and params_at, which move nothing)."""
        self._move(self._size)
        return self._params[: self._size]

    def params_between(self, start: int, stop: int) -> np.ndarray:
        """The parameters of rows start..stop-1 (rows, not epochs): a view where they are in place, a copy
        where a thinning's move is still pending."""
        if self._slot is None:
            return self._params[start:stop]
        return self._params[self._slot[start:stop]]

    @property
    def nbytes(self) -> int:
        """The memory the rows hold: what has been written into the reserved arrays (the system commits only
        those pages), the most ever in use, and the slot map while a move is pending."""
        slots = 0 if self._slot is None else 8 * self._slot_rows
        return 8 * (self.spec.n_params * self._params_high + len(_SCALARS) * self._rows_high) + slots

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
        self._move(COMPACT_RATE * len(rows))
        self._append(
            epochs[rows], chunk.params[rows], chunk.loss[rows], chunk.accuracy[rows],
            chunk.test_loss[rows], chunk.test_accuracy[rows],
        )  # fmt: skip

    def mark_data_change(self, epoch: int) -> None:
        if not self.data_changes or self.data_changes[-1] != epoch:
            self.data_changes.append(epoch)

    def mark_restart(self, epoch: int) -> None:
        """Training began afresh at `epoch` from its recorded parameters (an edit of the network: a new
        trainer, with a fresh optimizer state and shuffler): a data change (kept, marked on the timeline) from
        which the run can be replayed (counterfactual retraining)."""
        self.mark_data_change(epoch)
        if not self.restarts or self.restarts[-1] != epoch:
            self.restarts.append(epoch)

    def index_of(self, epoch: int) -> int:
        """Row of the newest recorded epoch at or before `epoch`."""
        if not 0 <= epoch <= self.latest_epoch:
            raise IndexError(f"epoch {epoch} is outside the history (0 to {self.latest_epoch})")
        return int(np.searchsorted(self.epochs, epoch, side="right") - 1)

    def recorded_epoch(self, epoch: int) -> int:
        """The epoch actually kept for `epoch`: itself, or the nearest earlier one after thinning."""
        return int(self._epochs[self.index_of(epoch)])

    def params_at(self, epoch: int) -> np.ndarray:
        """A copy: a row's place changes while a thinning's move goes on."""
        i = self.index_of(epoch)
        return self._params[i if self._slot is None else self._slot[i]].copy()

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
        params = self.params_between(0, self._size)
        return {
            name: (params.copy() if self._slot is None else params)
            if name == "params"
            else getattr(self, "_" + name)[: self._size].copy()
            for name in ARRAY_NAMES
        }

    def scalars(self) -> dict[str, object]:
        """The rest of the state, JSON-able: data_changes and restarts (lists of epochs), thinnings, stride,
        max_rows."""
        return {
            "data_changes": [int(epoch) for epoch in self.data_changes],
            "restarts": [int(epoch) for epoch in self.restarts],
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
        restarts: Sequence[int] = (),
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
        if not isinstance(restarts, list | tuple | np.ndarray):
            raise ValueError(f"the history's restarts must be a list, not {type(restarts).__name__}")
        fresh = [_whole(epoch, "a restart epoch") for epoch in restarts]
        if fresh and set(fresh).difference(changes):  # no set of the changes: there may be a million
            raise ValueError("the history's restarts must be among its data changes")
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
        history.data_changes = changes
        history.restarts = fresh
        history.thinnings = thinnings
        history.stride = stride
        history.moved_rows = 0
        reserve = min(max_rows, max(rows, default_max_rows(spec)))
        history._restore(checked, reserve)  # noqa: SLF001 - a constructor of its own class, bypassing __init__
        return history

    def branch(self, epoch: int, max_rows: int = 0) -> TrainingHistory:
        """A new history holding this one's recorded epochs up to `epoch` (and the data changes up to it),
        for a run that goes another way from there (an edit of the network); this one is left as it is. It
        keeps at least `max_rows` rows as it grows (a run handed over from a smaller budget gets more)."""
        keep = self.index_of(epoch) + 1
        arrays = {name: values[:keep] for name, values in self.to_arrays().items()}
        scalars = self.scalars()
        changes = [e for e in scalars["data_changes"] if e <= epoch]
        restarts = [e for e in scalars["restarts"] if e <= epoch]
        counters = scalars["thinnings"], scalars["stride"], max(scalars["max_rows"], int(max_rows))
        return TrainingHistory.from_arrays(self.spec, arrays, changes, *counters, restarts=restarts)

    def fit_budget(self, budget_bytes: int | None = None) -> bool:
        """Brings a restored history (whose max_rows came from a file) back within what a new history of its
        network gets from `budget_bytes` (DEFAULT_BUDGET_BYTES when None): max_rows lowered to that, or to
        what its kept data-change epochs need, the rows thinned as appending would when more are held, and
        the arrays reserved anew for that budget (releasing the larger ones). True when anything changed.
        A history grown by append() never needs this: thinning grows max_rows only to 2 * protected rows + 2,
        which stays at or below 4 * (kept data changes) + 8 (protected rows: epoch 0, the kept data changes
        and the newest max_rows // 4)."""
        changes = int(np.isin(self.epochs, self.data_changes).sum())
        limit = max(default_max_rows(self.spec, budget_bytes), 4 * changes + 8)
        if self.max_rows <= limit:
            return False
        self.max_rows = limit
        if self._size > limit:
            self._thin()
        self._restore(self.to_arrays(), limit)  # releases the rows thinned away and the larger arrays
        return True

    def _restore(self, arrays: Mapping[str, np.ndarray], capacity: int) -> None:
        """Takes `arrays` (by ARRAY_NAMES, in order, as to_arrays gives) into new arrays reserved for
        `capacity` rows (the parameters' with their slack), nothing pending."""
        rows = len(arrays["epochs"])
        params = lazy_zeros((capacity + slack_rows(capacity), self.spec.n_params))
        params[:rows] = arrays["params"]
        self._params = params
        for name in _SCALARS:
            source = arrays[name[1:]]
            array = lazy_zeros((capacity,), source.dtype.type)
            array[:rows] = source
            setattr(self, name, array)
        self._size = self._end = self._params_high = self._rows_high = rows
        self._slot: np.ndarray | None = None  # while a move is pending: the array row of each row
        self._slot_rows = 0
        self._cursor = rows  # rows before it are in place

    def _thin(self) -> None:
        """Widens the spacing kept among older epochs (all but the newest quarter of the budget, which stays
        dense) until at most half the budget is used; older epochs stay evenly spread over the whole run, and
        protected epochs stay. The epochs and metrics are filtered now, the parameters by later appends."""
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
        n = len(kept)
        for name in _SCALARS:
            array = getattr(self, name)
            array[:n] = array[kept]
        # Row j's parameters now lie at the array row of old row kept[j]; rows before the first dropped one
        # (and before the cursor) are in place. Slots increase and slot[j] >= j: see _move.
        out_of_place = np.flatnonzero(kept != np.arange(n))
        self._cursor = min(self._cursor, int(out_of_place[0]) if len(out_of_place) else n)
        if self._cursor < n:
            slots = kept if self._slot is None else self._slot[kept]
            if self._slot is None:
                self._slot = np.empty(len(self._epochs), dtype=np.int64)
            self._slot[:n] = slots
            self._slot_rows = max(self._slot_rows, n)
        self._size = n
        self._move(0)
        self.thinnings += 1

    def _move(self, budget: int) -> None:
        """Moves up to `budget` rows of a pending move into place, front to back: the rows after the cursor
        have increasing slots at or after their places, so each block is read before anything overwrites
        it, and nothing a later row needs lies before its slot."""
        if self._slot is None:
            return
        stop = min(self._size, self._cursor + budget)
        if stop > self._cursor:
            self._params[self._cursor : stop] = self._params[self._slot[self._cursor : stop]]
            self._slot[self._cursor : stop] = np.arange(self._cursor, stop)
            self.moved_rows += stop - self._cursor
            self._cursor = stop
        if self._cursor == self._size:
            self._slot = None
            self._slot_rows = 0
            self._end = self._size

    def _append(self, epochs, params, loss, accuracy, test_loss, test_accuracy) -> None:
        """Appends rows: the parameters after the last array row in use (after the rows a pending move has
        still to move), the rest at the end."""
        k, size = len(epochs), self._size
        if size + k > len(self._epochs) or self._end + k > len(self._params):
            # Only a restored history, or one whose data changes grew max_rows, outgrows its reservation.
            self.moved_rows += size
            self._restore(self.to_arrays(), max(min(2 * len(self._epochs), self.max_rows), size + k))
        s = slice(size, size + k)
        self._epochs[s] = epochs
        self._loss[s] = loss
        self._accuracy[s] = accuracy
        self._test_loss[s] = test_loss
        self._test_accuracy[s] = test_accuracy
        self._params[self._end : self._end + k] = params
        if self._slot is None:
            self._cursor = size + k
        else:
            self._slot[s] = np.arange(self._end, self._end + k)
            self._slot_rows = max(self._slot_rows, size + k)
        self._end += k
        self._size += k
        self._params_high = max(self._params_high, self._end)
        self._rows_high = max(self._rows_high, self._size)


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
