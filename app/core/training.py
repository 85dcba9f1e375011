"""Training settings, the trainer that advances a network by whole epochs (compiled engine, or torch as the
reference and fallback), and a stoppable generator of epoch snapshots for the worker thread."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from app.core import engine
from app.core.dataset import SampleSet, test_mask
from app.core.network import NetworkSpec, init_params

OPTIMIZERS = ("sgd", "adam")
BACKENDS = ("engine", "torch", "cuda")  # cuda: the torch loop on a CUDA device


def default_backend() -> str:
    """UNBOXED_BACKEND if set, else the compiled engine where numba is installed, else torch on the CPU."""
    chosen = os.environ.get("UNBOXED_BACKEND")
    if chosen:
        return chosen
    return "engine" if engine.AVAILABLE else "torch"


OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam"}


@dataclass(frozen=True)
class TrainConfig:
    """How to train; batch_size 0 means full batch. test_fraction of the samples (chosen by
    dataset.test_mask with this seed) are held out: evaluated every epoch, never trained on."""

    optimizer: str = "adam"
    learning_rate: float = 0.03
    batch_size: int = 0
    l2: float = 0.0
    seed: int = 0
    test_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if not (self.learning_rate > 0 and np.isfinite(self.learning_rate)):
            raise ValueError("the learning rate must be a positive number")
        if self.batch_size < 0 or self.l2 < 0:
            raise ValueError("batch size and L2 must not be negative")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"the test fraction must be at least 0 and below 1, not {self.test_fraction!r}")


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class EpochChunk:
    """Snapshots of consecutive epochs first_epoch.. (params (k,P), loss (k,), accuracy (k,), and on the
    held-out samples test_loss (k,), test_accuracy (k,), NaN where none is held out or when not given),
    read-only, safe to hand from the training thread to the GUI. `diverged` says the epoch after the last
    one failed."""

    first_epoch: int
    params: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    data_version: int
    diverged: bool = False
    generation: int = 0
    test_loss: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("test_loss", "test_accuracy"):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, np.full(len(self.loss), np.nan))
            elif np.shape(value) != np.shape(self.loss):
                raise ValueError(f"{name} has shape {np.shape(value)}, the loss {np.shape(self.loss)}")
        for a in (self.params, self.loss, self.accuracy, self.test_loss, self.test_accuracy):
            _read_only(a)

    @property
    def n_epochs(self) -> int:
        return len(self.loss)

    @property
    def last_epoch(self) -> int:
        return self.first_epoch + self.n_epochs - 1


@dataclass
class Trainer:
    """Holds a network's parameters and optimizer state and trains it by whole epochs on given samples."""

    spec: NetworkSpec
    config: TrainConfig
    params: np.ndarray | None = None
    backend: str = "auto"
    epoch: int = 0
    _step: int = 0
    _adam_m: np.ndarray = field(init=False, repr=False)
    _adam_v: np.ndarray = field(init=False, repr=False)
    _torch: tuple | None = field(default=None, init=False, repr=False)
    last_test: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.params is None:
            self.params = init_params(self.spec, self.config.seed)
        self.params = np.array(self.params, dtype=np.float64)
        if self.backend == "auto":
            self.backend = default_backend()
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}")
        self._rng = np.random.default_rng(self.config.seed)
        self.last_test = (np.empty(0), np.empty(0))
        self.reset_optimizer()

    def reset_optimizer(self) -> None:
        self._step = 0
        self._adam_m = np.zeros_like(self.params)
        self._adam_v = np.zeros_like(self.params)
        self._torch = None

    def set_config(self, config: TrainConfig) -> None:
        """Takes new settings from the next epoch on; a new optimizer kind starts with fresh state."""
        if config.optimizer != self.config.optimizer:
            self.reset_optimizer()
        elif self._torch is not None:
            for group in self._torch[1].param_groups:
                group.update(lr=config.learning_rate, weight_decay=config.l2)
        self.config = config

    def sample_orders(self, n_samples: int, n_epochs: int) -> np.ndarray:
        """The sample order of each of the next epochs: shuffled for mini-batches, identity for full batch."""
        orders = np.tile(np.arange(n_samples, dtype=np.int64), (n_epochs, 1))
        if 0 < self.config.batch_size < n_samples:
            orders = self._rng.permuted(orders, axis=1)
        return orders

    def run(self, samples: SampleSet, n_epochs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Trains up to n_epochs on the training part of the samples (all but test_mask(n,
        config.test_fraction, config.seed)); returns (params (k,P), loss, accuracy, diverged), the metrics
        on the training part, and leaves the held-out part's metrics (test loss (k,), test accuracy (k,),
        NaN when nothing is held out) in self.last_test."""
        x = samples.points
        y = samples.labels.astype(np.float64)
        held_out = test_mask(samples.n, self.config.test_fraction, self.config.seed)
        x_test, y_test = x[held_out], y[held_out]
        if len(x_test):
            x, y = x[~held_out], y[~held_out]
        if len(x) == 0:
            raise ValueError(
                f"no samples to train on ({samples.n} samples, {len(x_test)} held out for testing)"
            )
        orders = self.sample_orders(len(x), n_epochs)
        batch = self.config.batch_size if self.config.batch_size > 0 else len(x)
        last_good = self.params.copy()
        if self.backend == "engine":
            params, loss, acc, test_loss, test_acc, self._step = engine.train_epochs(
                self.params, self._adam_m, self._adam_v, self._step, x, y, x_test, y_test, orders, batch,
                self.config.learning_rate, self.config.l2, self.config.optimizer,
                self.spec.activation, self.spec.layer_sizes,
            )  # fmt: skip
        else:
            params, loss, acc, test_loss, test_acc = self._run_torch(x, y, x_test, y_test, orders, batch)
        diverged = len(loss) < n_epochs
        if diverged:
            self.params = params[-1].copy() if len(loss) else last_good
            self.reset_optimizer()
        self.epoch += len(loss)
        self.last_test = test_loss, test_acc
        return params, loss, acc, diverged

    def _run_torch(self, x, y, x_test, y_test, orders, batch):
        from app.core.torch_model import build_module, make_optimizer, module_params, train_epochs_torch

        if self._torch is None:
            device = "cuda" if self.backend == "cuda" else "cpu"
            module = build_module(self.spec, params=self.params).to(device)
            c = self.config
            self._torch = module, make_optimizer(module, c.optimizer, c.learning_rate, c.l2)
        module, optim = self._torch
        result = train_epochs_torch(module, optim, x, y, x_test, y_test, orders, batch)
        self.params = module_params(module)
        return result


CHUNKS_PER_SECOND_AT_LIMITED_SPEED = 60


def train(
    trainer: Trainer,
    get_samples: Callable[[], SampleSet],
    should_stop: Callable[[], bool],
    chunk_seconds: float = 0.02,
    max_epochs: int | None = None,
    max_rate: Callable[[], float | None] = lambda: None,
    wait: Callable[[float], object] = time.sleep,
) -> Iterator[EpochChunk]:
    """Yields one EpochChunk per call to the trainer, sizing chunks to take about chunk_seconds each.
    Reads the samples (and the speed limit max_rate(), epochs per second or None) afresh before every chunk,
    so edits take effect at the next epoch. Ends when should_stop() is true, max_epochs have been trained,
    or training diverged. `wait(seconds)` paces a limited speed; pass a stop-aware one (Event.wait)."""
    fastest = 1
    trained = 0
    anchor = (time.perf_counter(), 0, None)  # time, epochs trained, rate: where the current pace started
    while not should_stop() and (max_epochs is None or trained < max_epochs):
        samples = get_samples()
        if samples.training_problem(trainer.config.test_fraction, trainer.config.seed):
            return
        rate = max_rate()
        if rate != anchor[2]:
            anchor = (time.perf_counter(), trained, rate)
        chunk = fastest
        if rate is not None:
            chunk = max(1, min(fastest, int(rate / CHUNKS_PER_SECOND_AT_LIMITED_SPEED)))
            delay = anchor[0] + (trained - anchor[1]) / rate - time.perf_counter()
            if delay > 0:
                wait(delay)
                if should_stop():
                    return
        if max_epochs is not None:
            chunk = min(chunk, max_epochs - trained)
        started = time.perf_counter()
        first = trainer.epoch + 1
        params, loss, acc, diverged = trainer.run(samples, chunk)
        test_loss, test_acc = trainer.last_test
        elapsed = time.perf_counter() - started
        trained += len(loss)
        yield EpochChunk(
            first, params, loss, acc, samples.version, diverged, test_loss=test_loss, test_accuracy=test_acc
        )
        if diverged:
            return
        fastest = int(np.clip(chunk * chunk_seconds / max(elapsed, 1e-6), 1, max(1, 4 * chunk)))
