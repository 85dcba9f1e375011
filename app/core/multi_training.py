"""Many trainers at once: runs that share the samples and the network's shape (different seeds, learning
rates, L2 weights or held-out parts) train in one compiled call of engine_multi, and each run's epochs equal
bit for bit what its Trainer.run records alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.core import engine, engine_multi
from app.core.dataset import SampleSet, test_mask
from app.core.network import NetworkSpec
from app.core.training import EpochChunk, TrainConfig, Trainer, TrainerState


class MultiTrainer:
    """Trainers trained together. `trainers` holds their current state: each trains on alone (Trainer.run)
    exactly as if it had trained alone so far. Runs on the compiled engine whose network engine_multi
    covers (every hidden layer narrower than engine.WIDE_MIN_WIDTH) train together, in one call per
    group of the same network, optimizer and batch size; the others (wide networks, the torch backends)
    train one after another by Trainer.run."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        self.trainers = list(trainers)

    @classmethod
    def from_configs(
        cls, spec: NetworkSpec, configs: Sequence[TrainConfig], backend: str = "auto"
    ) -> MultiTrainer:
        """One fresh trainer per config (initial parameters from its seed, as Trainer makes them)."""
        return cls([Trainer(spec, config, backend=backend) for config in configs])

    def run(self, samples: SampleSet, n_epochs: int) -> list[EpochChunk]:
        """Trains every trainer up to n_epochs on the samples, as Trainer.run would (its held-out part, its
        own sample orders, stopping at a divergence); returns one EpochChunk per trainer, as train() yields
        them, and replaces each trainer in `trainers` by one in the state it is left in."""
        chunks: list[EpochChunk | None] = [None] * len(self.trainers)
        groups: dict[tuple, list[int]] = {}
        for index, trainer in enumerate(self.trainers):
            groups.setdefault(_group_key(trainer), []).append(index)
        for key, members in groups.items():
            together = key is not None and len(members) > 1
            if together:
                try:
                    done = _run_together([self.trainers[i] for i in members], samples, n_epochs)
                except Exception:  # noqa: BLE001 - the K-run loop failed to compile or run: one by one
                    together = False
                else:
                    for i, (trainer, chunk) in zip(members, done, strict=True):
                        self.trainers[i], chunks[i] = trainer, chunk
            if not together:
                for i in members:
                    chunks[i] = _run_alone(self.trainers[i], samples, n_epochs)
        return chunks


def train_many(
    spec: NetworkSpec, configs: Sequence[TrainConfig], samples: SampleSet, n_epochs: int
) -> list[EpochChunk]:
    """n_epochs of fresh runs of `spec`, one per config, trained together: each chunk equals bit for bit
    the one Trainer(spec, config).run(samples, n_epochs) gives. Networks with a hidden layer of
    engine.WIDE_MIN_WIDTH or more neurons train one after another (engine_multi does not cover them)."""
    return MultiTrainer.from_configs(spec, configs).run(samples, n_epochs)


def _group_key(trainer: Trainer) -> tuple | None:
    """Trainers with the same key train together; None: this one trains alone."""
    sizes = trainer.spec.layer_sizes
    if trainer.backend != "engine" or not engine.AVAILABLE or engine.uses_wide_loop(sizes):
        return None
    return sizes, trainer.spec.activation, trainer.config.optimizer, trainer.config.batch_size


def _run_alone(trainer: Trainer, samples: SampleSet, n_epochs: int) -> EpochChunk:
    first = trainer.epoch + 1
    params, loss, acc, diverged = trainer.run(samples, n_epochs)
    test_loss, test_acc = trainer.last_test
    return EpochChunk(
        first, params, loss, acc, samples.version, diverged, test_loss=test_loss, test_accuracy=test_acc
    )


def _run_together(
    trainers: list[Trainer], samples: SampleSet, n_epochs: int
) -> list[tuple[Trainer, EpochChunk]]:
    """One engine_multi call for trainers of one group; each comes back as a new trainer in the state that
    Trainer.run leaves it in, with its chunk."""
    x = np.asarray(samples.points, dtype=np.float64)
    y = samples.labels.astype(np.float64)
    train_idx, test_idx, orders, rng_states = [], [], [], []
    for trainer in trainers:
        held_out = test_mask(samples.n, trainer.config.test_fraction, trainer.config.seed)
        train_idx.append(np.flatnonzero(~held_out))
        test_idx.append(np.flatnonzero(held_out))
        if len(train_idx[-1]) == 0:
            raise ValueError(
                f"no samples to train on ({samples.n} samples, {len(test_idx[-1])} held out for testing)"
            )
    states = [trainer.state() for trainer in trainers]
    for trainer, state, own in zip(trainers, states, train_idx, strict=True):
        # Each run's orders as its trainer would draw them, from a copy: the trainers stay as they are in case
        # this call fails and they train one by one.
        copy = Trainer.from_state(trainer.spec, trainer.config, state, backend=trainer.backend)
        orders.append(copy.sample_orders(len(own), n_epochs))
        rng_states.append(copy.state().rng_state)
    batch = trainers[0].config.batch_size
    batch = batch if batch > 0 else max(len(own) for own in train_idx)  # full batches: each run's own
    params = np.ascontiguousarray(np.stack([s.params for s in states], axis=1))
    adam_m = np.ascontiguousarray(np.stack([s.adam_m for s in states], axis=1))
    adam_v = np.ascontiguousarray(np.stack([s.adam_v for s in states], axis=1))
    steps = np.array([s.step for s in states], np.int64)
    results = engine_multi.train_epochs_many(
        params, adam_m, adam_v, steps, x, y, train_idx, test_idx, orders, batch,
        np.array([t.config.learning_rate for t in trainers]), np.array([t.config.l2 for t in trainers]),
        trainers[0].config.optimizer, trainers[0].spec.activation, trainers[0].spec.layer_sizes,
    )  # fmt: skip
    done = []
    for k, (trainer, state, result) in enumerate(zip(trainers, states, results, strict=True)):
        p, loss, acc, test_loss, test_acc = result
        rng = rng_states[k]
        diverged = len(loss) < n_epochs
        epoch = state.epoch + len(loss)
        if diverged:  # as Trainer.run: back to the last good parameters, a fresh optimizer
            last = p[-1] if len(loss) else state.params
            after = TrainerState(last, np.zeros_like(last), np.zeros_like(last), 0, epoch, rng)
        else:
            after = TrainerState(params[:, k], adam_m[:, k], adam_v[:, k], int(steps[k]), epoch, rng)
        new = Trainer.from_state(trainer.spec, trainer.config, after, backend=trainer.backend)
        new.last_test = (test_loss, test_acc)
        chunk = EpochChunk(state.epoch + 1, p, loss, acc, samples.version, diverged, test_loss, test_acc)
        done.append((new, chunk))
    return done
