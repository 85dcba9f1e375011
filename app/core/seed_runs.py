"""Seeds side by side: the same samples and settings trained from several seeds at once (MultiTrainer), each
run with its own history, so that a view shows every run at any epoch and one can become the main run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from app.core.dataset import SampleSet
from app.core.history import DEFAULT_BUDGET_BYTES, TrainingHistory, default_max_rows
from app.core.multi_training import MultiTrainer
from app.core.network import NetworkSpec, loss_and_accuracy
from app.core.training import EpochChunk, TrainConfig, Trainer

MIN_SEEDS, MAX_SEEDS, DEFAULT_SEEDS = 2, 9, 4


def seeds_from(first: int, count: int) -> tuple[int, ...]:
    """`count` seeds: `first` (the main run's) and the ones after it."""
    return tuple(range(int(first), int(first) + int(count)))


def default_workers() -> int:
    """Threads that train the runs: every core but one, left to the main run and the window."""
    return max(1, (os.cpu_count() or 1) - 1)


def groups_of(indices: Sequence[int], workers: int) -> list[list[int]]:
    """`indices` in at most `workers` groups of sizes as equal as can be, in order."""
    count = max(1, min(int(workers), len(indices)))
    size, extra = divmod(len(indices), count)
    groups, start = [], 0
    for g in range(count):
        stop = start + size + (g < extra)
        groups.append(list(indices[start:stop]))
        start = stop
    return [g for g in groups if g]


def fresh_history(
    spec: NetworkSpec, trainer: Trainer, samples: SampleSet, budget_bytes: int = DEFAULT_BUDGET_BYTES
) -> TrainingHistory:
    """Epoch 0 of a run: its initial parameters and their figures on its training and held-out parts, as
    the session model records a fresh run (within `budget_bytes`)."""
    config = trainer.config
    (loss, accuracy), (test_loss, test_accuracy) = (
        loss_and_accuracy(spec, trainer.params, part.points, part.labels)
        for part in samples.split(config.test_fraction, config.seed)
    )
    return TrainingHistory(spec, trainer.params, loss, accuracy, budget_bytes,
                           initial_test_loss=test_loss, initial_test_acc=test_accuracy)  # fmt: skip


class SeedRuns:
    """One run per seed of the same spec, settings and samples. `train(n)` may run in another thread (it
    touches the trainers only); `record(result)` appends what it trained to the histories, in the thread that
    reads them. A run that diverges stops there; the others go on. The runs train in up to `workers` groups
    at once, one thread each (the compiled loops release the GIL); a run's numbers do not depend on its
    group."""

    def __init__(
        self,
        spec: NetworkSpec,
        config: TrainConfig,
        samples: SampleSet,
        seeds: Sequence[int],
        workers: int | None = None,
    ):
        self.spec, self.samples, self.seeds = spec, samples, tuple(seeds)
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self.configs = [replace(config, seed=seed) for seed in self.seeds]
        self.trainers = [Trainer(spec, c) for c in self.configs]
        budget = DEFAULT_BUDGET_BYTES // len(self.seeds)  # all of them together: one main run's
        self.histories = [fresh_history(spec, t, samples, budget) for t in self.trainers]
        self.diverged = [False] * len(self.seeds)

    @property
    def epoch(self) -> int:
        """The last epoch every run still training has reached (the latest of all when none trains on)."""
        going = [h.latest_epoch for h, d in zip(self.histories, self.diverged, strict=True) if not d]
        return min(going) if going else max(h.latest_epoch for h in self.histories)

    @property
    def done(self) -> bool:
        return all(self.diverged)

    def train(self, n_epochs: int) -> list[tuple[int, EpochChunk]]:
        """n_epochs more of every run still training, a compiled loop per group of runs, the groups side by
        side in threads: (run index, its chunk), in run order."""
        going = [k for k, d in enumerate(self.diverged) if not d]
        groups = groups_of(going, self.workers)
        if len(groups) <= 1:
            return self._train_group(groups[0], n_epochs) if groups else []
        with ThreadPoolExecutor(len(groups), thread_name_prefix="seed-runs") as pool:
            parts = list(pool.map(lambda group: self._train_group(group, n_epochs), groups))
        return [pair for part in parts for pair in part]

    def _train_group(self, group: list[int], n_epochs: int) -> list[tuple[int, EpochChunk]]:
        multi = MultiTrainer([self.trainers[k] for k in group])
        chunks = multi.run(self.samples, n_epochs)
        for k, trainer in zip(group, multi.trainers, strict=True):
            self.trainers[k] = trainer
        return list(zip(group, chunks, strict=True))

    def record(self, result: list[tuple[int, EpochChunk]]) -> None:
        for k, chunk in result:
            if chunk.n_epochs:
                self.histories[k].append(chunk)
            self.diverged[k] = self.diverged[k] or chunk.diverged

    def accuracy_at(self, k: int, epoch: int) -> float:
        """Run k's training accuracy at `epoch` (its last epoch when it has not trained that far)."""
        history = self.histories[k]
        return history.metrics_at(min(epoch, history.latest_epoch))[1]

    def hand_over(self, k: int) -> tuple[Trainer, TrainingHistory, TrainConfig]:
        """Copies of run k's trainer and history (to go on as the main run) and its settings; this run keeps
        its own and trains on."""
        trainer, history = self.trainers[k], self.histories[k]
        copy = Trainer.from_state(self.spec, self.configs[k], trainer.state(), backend=trainer.backend)
        main = history.branch(history.latest_epoch, max_rows=default_max_rows(self.spec))  # a main run's
        return copy, main, self.configs[k]
