"""Counterfactual retraining ("what if these samples were not there?"): the run replayed from its first
epoch, and beside it the same run without some samples, with the same seed and batch order; how much each
hidden neuron's parameters moved, against what the influence maps predicted for those samples.

"The same batches" once samples are gone: every epoch the real run's shuffler draws its permutation of all
the training samples, exactly as the real run did (same seed, same draws); the counterfactual visits them
in that order with the removed ones dropped, and cuts the rest into consecutive mini-batches of the
configured size. Up to the first removed sample the batches are the real run's; after it they shift by the
samples dropped. Full batch: every remaining sample in one batch. Removing nothing gives the real run's
orders and so the real run, bit for bit."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.dataset import SampleSet, test_mask
from app.core.history import TrainingHistory
from app.core.influence import influence
from app.core.network import NetworkSpec, loss_and_accuracy, named_params, split_params
from app.core.training import TrainConfig, Trainer

CHUNK_SECONDS = 0.1  # about this long between two looks at the stop flag and two progress reports


class RetrainingRefused(ValueError):
    """The retraining cannot be the real run without those samples; the message says why, for a person."""


class RetrainingCancelled(Exception):
    """should_stop() became true while retraining."""


@dataclass(frozen=True, eq=False)
class RecordedRun:
    """What retraining needs of a run's history, copied (so that another thread may keep appending to the
    history): the recorded epochs up to the last one asked for, their parameters and the data changes."""

    epochs: np.ndarray
    params: np.ndarray
    data_changes: tuple[int, ...]
    restarts: tuple[int, ...] = ()

    @classmethod
    def of(cls, history: TrainingHistory, last_epoch: int | None = None) -> RecordedRun:
        last = history.latest_epoch if last_epoch is None else int(last_epoch)
        rows = history.index_of(last) + 1
        return cls(history.epochs[:rows].copy(), np.array(history.params_between(0, rows)),
                   tuple(int(c) for c in history.data_changes),
                   tuple(int(r) for r in history.restarts))  # fmt: skip

    @property
    def latest_epoch(self) -> int:
        return int(self.epochs[-1])

    @property
    def replay_start(self) -> int:
        """The epoch a replay begins at: the last time training began afresh from recorded parameters (an
        edit of the network: history.mark_restart) up to its latest epoch, 0 when it never did."""
        return max((r for r in self.restarts if r <= self.latest_epoch), default=0)


def derived_orders(full_orders: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """The real run's sample orders (epochs, n) without the removed positions, renumbered 0..n-m-1 in the
    order the remaining samples keep (as SampleSet.without_samples leaves them)."""
    n = full_orders.shape[1]
    kept = np.ones(n, bool)
    kept[np.asarray(removed, dtype=np.int64)] = False
    renumber = np.cumsum(kept) - 1
    rows = full_orders[kept[full_orders]].reshape(len(full_orders), int(kept.sum()))
    return renumber[rows]


@dataclass
class DerivedOrderTrainer(Trainer):
    """A trainer on the samples left after removing `removed` (positions among `full_n` training samples),
    whose epochs draw the real run's permutations of all `full_n` and drop the removed ones."""

    full_n: int = 0
    removed: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def sample_orders(self, n_samples: int, n_epochs: int) -> np.ndarray:
        if n_samples != self.full_n - len(self.removed):
            raise ValueError(f"{n_samples} samples to train on, expected {self.full_n - len(self.removed)}")
        return derived_orders(super().sample_orders(self.full_n, n_epochs), self.removed)


@dataclass(frozen=True, eq=False)
class Counterfactual:
    """A retraining without some samples, from `start_epoch` to `end_epoch`. Arrays by hidden layer are lists
    of (width_l,) arrays.

    - epochs, params (rows, P), loss, accuracy: the counterfactual at the real history's recorded epochs in
      [start, end] (and at both ends), its figures on its own training samples.
    - reference: the replayed real run at those epochs; `reproduced`: the replay equals the recorded run at
      every recorded epoch up to the end, bit for bit (if not, `mismatch_epoch` is the first that differs:
      settings changed while it trained, or the engine fell back to torch; changes are then against it).
    - change: per neuron, the norm of (counterfactual - real) of its incoming weights and bias at the end.
    - predicted: what the accumulated influence maps predict: over the removed samples i, the sum of
      sqrt(sum over every epoch e from start to end of I_ij(e) ** 2), I the per-sample gradient norm (from
      epoch 0 on an unthinned history, the "Accumulated up to it" map at the end epoch, summed over them).
    - predicted_now: the "At this epoch" map at the end epoch, summed over the removed samples.
    - rank_correlation(_now): Spearman's rho over all hidden neurons between predicted(_now) and change; NaN
      where undefined (fewer than two neurons, or either side all equal)."""

    removed: np.ndarray
    held_out: np.ndarray
    start_epoch: int
    end_epoch: int
    epochs: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    reference: np.ndarray
    reproduced: bool
    mismatch_epoch: int | None
    change: list[np.ndarray]
    predicted: list[np.ndarray]
    predicted_now: list[np.ndarray]
    rank_correlation: float
    rank_correlation_now: float

    def params_at(self, epoch: int) -> np.ndarray | None:
        """The counterfactual's parameters at `epoch` if it is one of its rows, else None."""
        row = int(np.searchsorted(self.epochs, epoch))
        return self.params[row] if row < len(self.epochs) and self.epochs[row] == epoch else None

    def to_arrays(self, spec: NetworkSpec) -> dict[str, np.ndarray]:
        """The --export-data arrays, under counterfactual/ (README, export table)."""
        arrays = {"epochs": self.epochs, "params": self.params, "loss": self.loss, "accuracy": self.accuracy,
                  "removed": self.removed, "held_out_ignored": self.held_out,
                  "start_epoch": np.array(self.start_epoch), "end_epoch": np.array(self.end_epoch),
                  "reproduced": np.array(self.reproduced),
                  "rank_correlation": np.array(self.rank_correlation),
                  "rank_correlation_now": np.array(self.rank_correlation_now)}  # fmt: skip
        arrays.update(named_params(spec, self.params))
        for name in ("change", "predicted", "predicted_now"):
            arrays.update({f"{name}/layer{k + 1}": a for k, a in enumerate(getattr(self, name))})
        return {f"counterfactual/{name}": value for name, value in arrays.items()}


def neuron_change(spec: NetworkSpec, params: np.ndarray, reference: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer (width,): the norm of each neuron's change of incoming weights and bias."""
    out = []
    layers = split_params(spec, np.asarray(params) - np.asarray(reference))[:-1]
    for w, b in layers:
        out.append(np.sqrt((w * w).sum(axis=1) + b * b))
    return out


def rank_correlation(predicted: list[np.ndarray], actual: list[np.ndarray]) -> float:
    """Spearman's rho between the two over all hidden neurons (scipy.stats.spearmanr); NaN when undefined."""
    from scipy.stats import spearmanr

    x, y = np.concatenate(predicted), np.concatenate(actual)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)


def replay_problem(run: RecordedRun) -> str:
    """Why today's samples would not replay this run from its replay_start ("" when they would): they
    changed while it trained since then."""
    later = [c for c in run.data_changes if c > max(1, run.replay_start) and c not in run.restarts]
    if later:
        return (f"The samples changed at epoch {later[0]:,} of this run, so retraining on today's samples "
                "would not be the run you see. Press Reset and train again to compare.")  # fmt: skip
    return ""


def retrain_without(
    spec: NetworkSpec,
    config: TrainConfig,
    history: TrainingHistory | RecordedRun,
    samples: SampleSet,
    removed_indices,
    start_epoch: int = 0,
    epochs: int | None = None,
    *,
    backend: str = "auto",
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Counterfactual:
    """Replays the run recorded in `history` on `samples` (those it trained on throughout) with `config` from
    epoch 0, or from its last edit (RecordedRun.replay_start: the retraining starts there at the earliest),
    and from `start_epoch` trains a copy of it `epochs` epochs (default: to the history's last)
    without the samples `removed_indices` (indices into `samples`; held-out ones were never trained on and
    are only reported), with the same batch order (module docstring). progress(done, total) counts epochs
    trained; RetrainingCancelled when should_stop(); RetrainingRefused (a sentence) when it cannot be done.
    Reads `history` once, at the start: pass a RecordedRun where another thread appends to it."""
    latest = history.latest_epoch
    start = int(start_epoch)
    end = latest if epochs is None else start + int(epochs)
    if not 0 <= start < end <= latest:
        raise RetrainingRefused(f"Retraining needs epochs from {start:,} to {end:,} that the run has trained "
                                f"(it has 0 to {latest:,}).")  # fmt: skip
    run = history if isinstance(history, RecordedRun) else RecordedRun.of(history, end)
    begin = run.replay_start
    start = max(start, begin)
    if start >= end:
        raise RetrainingRefused(f"The network was edited at epoch {begin:,}, and retraining starts there: "
                                "train a few epochs past it, then retrain without the samples.")  # fmt: skip
    problem = replay_problem(run)
    if problem:
        raise RetrainingRefused(problem)
    selected = np.unique(np.asarray(list(removed_indices), dtype=np.int64))
    outside = selected[(selected < 0) | (selected >= samples.n)]
    if len(outside):
        raise RetrainingRefused(f"There is no sample {int(outside[0])} (the samples are numbered 0 to "
                                f"{samples.n - 1}).")  # fmt: skip
    held = test_mask(samples.n, config.test_fraction, config.seed)
    removed, held_out = selected[~held[selected]], selected[held[selected]]
    if len(selected) and not len(removed):
        raise RetrainingRefused("The selected samples are all held out for testing: training never saw "
                                "them, so removing them changes nothing.")  # fmt: skip
    training = samples.split(config.test_fraction, config.seed)[0]
    positions = (np.cumsum(~held) - 1)[removed]
    reduced = training.without_samples(positions)
    why = reduced.training_problem()
    if why:
        raise RetrainingRefused(f"Without the selected samples the network cannot train: {why}")
    plain = dataclasses.replace(config, test_fraction=0.0)  # the held-out part is set aside already
    replay = _Replay(spec, run, start, end, samples.points[removed], samples.labels[removed])
    replay.progress = lambda k: progress(replay.count(k), (end - begin) + (end - start))
    first = int(np.searchsorted(run.epochs, begin))  # a restart is a data change: always recorded
    reference = Trainer(spec, plain, params=run.params[first].copy(), epoch=begin, backend=backend)
    replay.on_reference(begin, run.params[first : first + 1], np.zeros(0), np.zeros(0))
    _in_steps(reference, start, should_stop, lambda t: _advance(reference, training, t, replay.on_reference))
    counterfactual = DerivedOrderTrainer.from_state(spec, plain, reference.state(), backend=reference.backend)
    counterfactual.full_n, counterfactual.removed = training.n, positions
    figures = loss_and_accuracy(spec, reference.params, reduced.points, reduced.labels)
    replay.on_counterfactual(start, reference.params[None], *(np.array([v]) for v in figures))

    def both(target: int) -> None:
        _advance(reference, training, target, replay.on_reference)
        _advance(counterfactual, reduced, target, replay.on_counterfactual)

    _in_steps(reference, end, should_stop, both)
    return replay.result(removed, held_out)


class _Replay:
    """What retraining collects as epochs arrive: the rows to keep of both runs, the first epoch where the
    replay differs from the recorded run, and the removed samples' squared influence summed over epochs."""

    def __init__(self, spec: NetworkSpec, run: RecordedRun, start: int, end: int, points, labels):
        self.spec, self.run, self.start, self.end = spec, run, start, end
        self.points, self.labels = points, labels
        self.recorded = {int(e): row for row, e in enumerate(run.epochs)}
        self.wanted = sorted({e for e in self.recorded if start <= e <= end} | {start, end})
        self.kept = set(self.wanted)
        self.reference: dict[int, np.ndarray] = {}
        self.counterfactual: dict[int, tuple[np.ndarray, float, float]] = {}
        self.mismatch: int | None = None
        self.squares = [np.zeros((len(points), w)) for w in spec.widths]
        self.done = 0
        self.progress: Callable[[int], None] = lambda k: None

    def count(self, k: int) -> int:
        self.done += k
        return self.done

    def on_reference(self, first: int, rows: np.ndarray, _loss, _accuracy) -> None:
        for k, params in enumerate(rows):
            e = first + k
            if self.mismatch is None and e in self.recorded:
                if not np.array_equal(params, self.run.params[self.recorded[e]]):
                    self.mismatch = e
            if e in self.kept:
                self.reference[e] = params.copy()
        if first > self.run.replay_start:
            self.progress(len(rows))
        retrained = rows[max(0, self.start - first) :]  # the influence over the epochs retrained, start..end
        if len(retrained) and len(self.points):
            parts = influence(self.spec, retrained, self.points, self.labels)
            for total, part in zip(self.squares, parts, strict=True):
                total += (part * part).sum(axis=0)

    def on_counterfactual(self, first: int, rows: np.ndarray, loss, accuracy) -> None:
        for k, params in enumerate(rows):
            if first + k in self.kept:
                self.counterfactual[first + k] = (params.copy(), float(loss[k]), float(accuracy[k]))
        if first > self.start:
            self.progress(len(rows))

    def result(self, removed: np.ndarray, held_out: np.ndarray) -> Counterfactual:
        spec, end = self.spec, self.end
        change = neuron_change(spec, self.counterfactual[end][0], self.reference[end])
        predicted = [np.sqrt(s).sum(axis=0) for s in self.squares]
        now = [part.sum(axis=0) for part in influence(spec, self.reference[end], self.points, self.labels)]
        rows = [self.counterfactual[e] for e in self.wanted]
        return Counterfactual(
            removed=removed, held_out=held_out, start_epoch=self.start, end_epoch=end,
            epochs=np.array(self.wanted, dtype=np.int64), params=np.array([r[0] for r in rows]),
            loss=np.array([r[1] for r in rows]), accuracy=np.array([r[2] for r in rows]),
            reference=np.array([self.reference[e] for e in self.wanted]),
            reproduced=self.mismatch is None, mismatch_epoch=self.mismatch,
            change=change, predicted=predicted, predicted_now=now,
            rank_correlation=rank_correlation(predicted, change),
            rank_correlation_now=rank_correlation(now, change),
        )  # fmt: skip


def _in_steps(trainer: Trainer, end: int, should_stop: Callable[[], bool], advance) -> None:
    """Calls advance(target) with targets up to `end`, each about CHUNK_SECONDS of work, looking at
    should_stop() before each (RetrainingCancelled)."""
    step = 16
    while trainer.epoch < end:
        if should_stop():
            raise RetrainingCancelled
        began = time.perf_counter()
        advance(min(end, trainer.epoch + step))
        elapsed = time.perf_counter() - began
        step = int(np.clip(step * CHUNK_SECONDS / max(elapsed, 1e-6), 1, 4 * step))


def _advance(trainer: Trainer, samples: SampleSet, target: int, on_rows) -> None:
    """Trains until trainer.epoch == target (the engine failing, torch trains an epoch a call), handing
    on_rows(first epoch, params, loss, accuracy) each call's epochs; RetrainingRefused if it diverges."""
    while trainer.epoch < target:
        first = trainer.epoch + 1
        params, loss, acc, diverged = trainer.run(samples, target - trainer.epoch)
        on_rows(first, params, loss, acc)
        if diverged:
            raise RetrainingRefused(f"Retraining diverged after epoch {trainer.epoch:,}: the loss became NaN "
                                    "or infinite.")  # fmt: skip
