"""Many runs in one loop: 64 default networks (2-4-4-1 tanh, 250 moons samples, SGD lr 0.03, batches of
10, 50 epochs; seeds 0-63: their own initial parameters and sample orders) trained together by
engine_multi.train_epochs_many, against the same 64 trained one after another by engine.train_epochs, in
interleaved rounds; and through the trainers' API (multi_training.MultiTrainer, from made trainers)."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine, engine_multi
from app.core.multi_training import MultiTrainer
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer
from bench.engine import interleaved, moons

RUNS = 64
EPOCHS = 50
ROUNDS = 3
SECONDS = 1.0  # at least, per measurement


def _runs_per_second(train_all, seconds: float) -> float:
    """Runs per second of train_all() (which trains RUNS runs), called until `seconds` have passed."""
    calls = 0
    started = time.perf_counter()
    while calls == 0 or time.perf_counter() - started < seconds:
        train_all()
        calls += 1
    return RUNS * calls / (time.perf_counter() - started)


def run() -> dict[str, float]:
    engine.warm_up()
    samples, spec = moons(250), NetworkSpec((4, 4), "tanh")
    configs = [TrainConfig("sgd", 0.03, batch_size=10, seed=seed) for seed in range(RUNS)]
    trainers = [Trainer(spec, config) for config in configs]
    starts = [trainer.params.copy() for trainer in trainers]
    orders = [trainer.sample_orders(samples.n, EPOCHS) for trainer in trainers]
    x, y = samples.points, samples.labels.astype(np.float64)
    no_test = np.empty((0, 2)), np.empty(0)

    def one_after_another() -> None:
        for start, order in zip(starts, orders, strict=True):
            params = start.copy()
            engine.train_epochs(
                params, np.zeros_like(params), np.zeros_like(params), 0, x, y, *no_test, order, 10, 0.03, 0.0,
                "sgd", "tanh", spec.layer_sizes,
            )  # fmt: skip

    everyone, nobody = [np.arange(samples.n)] * RUNS, [np.arange(0)] * RUNS

    def together() -> None:
        params = np.ascontiguousarray(np.stack(starts, axis=1))
        engine_multi.train_epochs_many(
            params, np.zeros_like(params), np.zeros_like(params), np.zeros(RUNS, np.int64), x, y, everyone,
            nobody, orders, 10, [0.03] * RUNS, [0.0] * RUNS, "sgd", "tanh", spec.layer_sizes,
        )  # fmt: skip

    def trainers_together() -> None:
        MultiTrainer([Trainer(spec, c, params=p) for c, p in zip(configs, starts, strict=True)]).run(
            samples, EPOCHS
        )

    engine_multi.warm_up()
    together()
    trainers_together()
    single, multi, ratio = interleaved(
        lambda: _runs_per_second(one_after_another, SECONDS),
        lambda: _runs_per_second(together, SECONDS),
        ROUNDS,
    )
    return {
        "single_runs_per_s": single,
        "multi_runs_per_s_64": multi,
        "multi_runs_ratio_64": ratio,
        "multi_trainer_runs_per_s_64": _runs_per_second(trainers_together, SECONDS),
    }
