"""Training settings, the trainer that advances a network by whole epochs (compiled engine, or torch as the
reference and fallback), and a stoppable generator of epoch snapshots for the worker thread."""

from __future__ import annotations

import json
import operator
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from app.core import engine
from app.core.dataset import SampleSet, test_mask
from app.core.network import NetworkSpec

OPTIMIZERS = ("sgd", "adam")
BACKENDS = ("engine", "torch", "cuda")  # cuda: the torch loop on a CUDA device


def default_backend() -> str:
    """UNBOXED_BACKEND if set, else the compiled engine where numba is installed, else torch on the CPU."""
    chosen = os.environ.get("UNBOXED_BACKEND")
    if chosen:
        return chosen
    return "engine" if engine.AVAILABLE else "torch"


OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam"}
MAX_EPOCH = 2**31 - 1  # training stops there: the timeline's slider and epoch box hold int32
ENGINE_FALLBACK = "The compiled engine failed ({}); training goes on with torch."


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


@dataclass(frozen=True, eq=False)
class TrainerState:
    """Everything a Trainer needs to go on exactly where it stopped (see Trainer.state / from_state): the
    parameters, Adam's moments (zeros for SGD or before the first step) and step count, the epochs trained
    so far, and the mini-batch shuffler's state (numpy ``Generator.bit_generator.state`` of a PCG64, a
    JSON-able dict). The arrays are read-only float64 copies of one length P. Raises ValueError for
    ill-shaped or impossible values: non-finite parameters or first moments, a negative or NaN second
    moment, a negative step or epoch, or a shuffler state numpy does not take back exactly."""

    params: np.ndarray
    adam_m: np.ndarray
    adam_v: np.ndarray
    step: int
    epoch: int
    rng_state: dict

    def __post_init__(self) -> None:
        arrays = {
            name: np.array(getattr(self, name), dtype=np.float64) for name in ("params", "adam_m", "adam_v")
        }
        n = len(arrays["params"]) if arrays["params"].ndim == 1 else -1
        for name, a in arrays.items():
            if a.ndim != 1 or len(a) != n:
                raise ValueError(
                    f"the trainer's {name} must be one vector as long as the parameters, not {a.shape}"
                )
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        if not (np.isfinite(arrays["params"]).all() and np.isfinite(arrays["adam_m"]).all()):
            raise ValueError("the trainer's parameters and first moments must be finite numbers")
        if not (arrays["adam_v"] >= 0).all():  # infinity can happen before a divergence, NaN never
            raise ValueError("the trainer's second moments must not be negative or NaN")
        for name in ("step", "epoch"):
            value = getattr(self, name)
            if isinstance(value, bool | float) or not isinstance(value, int | np.integer):
                raise ValueError(f"the trainer's {name} must be a whole number, not {value!r}")
            if value < 0:
                raise ValueError(f"the trainer's {name} must not be negative, not {value}")
            object.__setattr__(self, name, operator.index(value))
        object.__setattr__(self, "rng_state", _checked_rng_state(self.rng_state))


def _checked_rng_state(rng_state: object) -> dict:
    """A private, JSON-able copy of a PCG64 state that numpy takes back exactly; ValueError otherwise."""
    if not isinstance(rng_state, dict):
        raise ValueError(f"the shuffler state must be a dict, not {type(rng_state).__name__}")
    try:
        copy = json.loads(json.dumps(rng_state))
        generator = np.random.default_rng(0)
        generator.bit_generator.state = copy
        exact = generator.bit_generator.state == rng_state
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError) as e:
        raise ValueError(f"the shuffler state is invalid ({e})") from None
    if not exact:
        raise ValueError("the shuffler state is invalid (numpy does not take it back unchanged)")
    return generator.bit_generator.state


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
    notice: str = field(default="", init=False, repr=False)  # for the user; set when torch took over

    def __post_init__(self) -> None:
        if self.params is None:
            from app.core.torch_model import init_params  # torch loads only when a network is first made

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

    def fall_back_to_torch(self, error: Exception) -> None:
        """The compiled engine failed (compiling or running): torch trains from here on, from this state,
        and `notice` says so."""
        self.backend = "torch"
        self.notice = ENGINE_FALLBACK.format(f"{type(error).__name__}: {error}")

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
        config.test_fraction, config.seed); labels are class indices below spec.classes); returns (params
        (k,P), loss, accuracy, diverged), the metrics on the training part, and leaves the held-out part's
        metrics (test loss (k,), test accuracy (k,), NaN when nothing is held out) in self.last_test. When
        the compiled engine fails, torch takes over (see fall_back_to_torch) and trains one epoch of this
        call. The engine trains wide networks (engine.prefers_float32) in float32, the others in float64."""
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
        result = None
        if self.backend == "engine":
            moments = self._adam_m.copy(), self._adam_v.copy(), self._step  # the engine updates in place
            try:
                sizes = self.spec.layer_sizes
                *result, self._step = engine.train_epochs(
                    self.params, self._adam_m, self._adam_v, self._step, x, y, x_test, y_test, orders, batch,
                    self.config.learning_rate, self.config.l2, self.config.optimizer,
                    self.spec.activation, sizes, engine.prefers_float32(sizes),
                )  # fmt: skip
            except Exception as error:  # noqa: BLE001 - numba failing to compile or run: torch takes over
                self.params = last_good.copy()
                self._adam_m, self._adam_v, self._step = moments
                self.fall_back_to_torch(error)
                orders = orders[:1]  # the chunk was sized for the engine: torch may be 400 times slower
        if result is None:
            result = self._run_torch(x, y, x_test, y_test, orders, batch)
        params, loss, acc, test_loss, test_acc = _finite_epochs(*result)
        diverged = len(loss) < len(orders)
        if diverged:
            self.params = params[-1].copy() if len(loss) else last_good
            self.reset_optimizer()
        self.epoch += len(loss)
        self.last_test = test_loss, test_acc
        return params, loss, acc, diverged

    def state(self) -> TrainerState:
        """A copy of everything needed to resume training exactly here: Trainer.from_state(spec, config,
        state) trains the same next epochs as this trainer would (same backend)."""
        adam_m, adam_v, step = self._adam_m, self._adam_v, self._step
        if self._torch is not None:
            adam_m, adam_v, step = _torch_adam_state(self._torch[1], adam_m, adam_v, step)
        return TrainerState(self.params, adam_m, adam_v, step, self.epoch, self._rng.bit_generator.state)

    @classmethod
    def from_state(
        cls, spec: NetworkSpec, config: TrainConfig, state: TrainerState, backend: str = "auto"
    ) -> Trainer:
        """A trainer that goes on where the one that gave `state` stopped; ValueError if the state does not
        fit the network (its vectors must hold spec.n_params numbers)."""
        if len(state.params) != spec.n_params:
            raise ValueError(
                f"the trainer state holds {len(state.params)} parameters, the network {spec.n_params}"
            )
        trainer = cls(spec, config, params=state.params, backend=backend, epoch=state.epoch)
        trainer._adam_m = np.array(state.adam_m, dtype=np.float64)  # writable: the engine updates in place
        trainer._adam_v = np.array(state.adam_v, dtype=np.float64)
        trainer._step = state.step
        trainer._rng.bit_generator.state = _checked_rng_state(state.rng_state)
        return trainer

    def _run_torch(self, x, y, x_test, y_test, orders, batch):
        from app.core.torch_model import build_module, make_optimizer, module_params, train_epochs_torch

        if self._torch is None:
            device = "cuda" if self.backend == "cuda" else "cpu"
            module = build_module(self.spec, params=self.params).to(device)
            c = self.config
            self._torch = module, make_optimizer(module, c.optimizer, c.learning_rate, c.l2)
            if self._step > 0 and c.optimizer == "adam":  # resumed from a state: go on with its moments
                _load_torch_adam_state(self._torch[1], self._adam_m, self._adam_v, self._step)
        module, optim = self._torch
        result = train_epochs_torch(module, optim, x, y, x_test, y_test, orders, batch)
        self.params = module_params(module)
        return result


def _finite_epochs(params, loss, acc, test_loss, test_acc) -> tuple[np.ndarray, ...]:
    """The epochs before the first whose loss or parameters are not finite: both backends stop there
    themselves, and this keeps a faulty one from putting NaN into the history."""
    finite = np.isfinite(loss) & np.isfinite(params).all(axis=1)
    k = len(loss) if finite.all() else int(np.argmin(finite))
    return params[:k], loss[:k], acc[:k], test_loss[:k], test_acc[:k]


def _torch_adam_state(optim, adam_m: np.ndarray, adam_v: np.ndarray, step: int) -> tuple:
    """(first moments, second moments, step) of a torch Adam as flat vectors in parameter order; the given
    ones where it holds none (SGD, or no step taken yet)."""
    params = [p for group in optim.param_groups for p in group["params"]]
    states = [optim.state.get(p) for p in params]
    if not all(s and "exp_avg" in s for s in states):
        return adam_m, adam_v, step
    flat = [
        np.concatenate([s[key].detach().reshape(-1).cpu().numpy() for s in states])
        for key in ("exp_avg", "exp_avg_sq")
    ]
    return flat[0], flat[1], int(states[0]["step"])


def _load_torch_adam_state(optim, adam_m: np.ndarray, adam_v: np.ndarray, step: int) -> None:
    """Puts flat Adam moments and a step count into a fresh torch Adam (through its load_state_dict)."""
    import torch

    params = [p for group in optim.param_groups for p in group["params"]]
    saved = optim.state_dict()
    offset = 0
    for index, p in enumerate(params):
        size = p.numel()
        saved["state"][index] = {
            "step": torch.tensor(float(step)),
            "exp_avg": torch.as_tensor(adam_m[offset : offset + size].copy()).reshape(p.shape),
            "exp_avg_sq": torch.as_tensor(adam_v[offset : offset + size].copy()).reshape(p.shape),
        }
        offset += size
    optim.load_state_dict(saved)


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
    left = MAX_EPOCH - trainer.epoch
    max_epochs = left if max_epochs is None else min(max_epochs, left)
    anchor = (time.perf_counter(), 0, None)  # time, epochs trained, rate: where the current pace started
    while not should_stop() and trained < max_epochs:
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
        done = len(loss)  # the chunk asked for, unless the engine failed and torch trained one epoch
        fastest = int(np.clip(done * chunk_seconds / max(elapsed, 1e-6), 1, max(1, 4 * done)))
