"""Influence maps against a plain forward pass on the same samples (4x32 tanh, 10,000 samples), and
accumulated influence on a 100,000-epoch history of the default network on the default preset: the first
lookup with nothing summed yet, with the sums kept as the epochs arrived, and after a sample is added."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import NetworkSpec, logits
from app.core.torch_model import init_params
from app.core.training import EpochChunk
from bench.common import median_ms
from bench.engine import moons

REPEATS = 15
SCRUBS = 50
PREPARE_SECONDS = 0.03  # what the influence panel gives prepare() per display tick


def synthetic_history(
    spec: NetworkSpec, epochs: int, chunk: int = 200, arrived: Callable[[TrainingHistory], None] | None = None
) -> TrainingHistory:
    """A random walk from the initial parameters, appended in chunks as the worker would; `arrived` is
    called after each chunk, as the display tick that follows it."""
    rng = np.random.default_rng(0)
    start = init_params(spec, 0)
    history = TrainingHistory(spec, start, 0.7, 0.5)
    for first in range(1, epochs + 1, chunk):
        n = min(chunk, epochs + 1 - first)
        params = history.params_at(history.latest_epoch) + np.cumsum(
            0.01 * rng.normal(size=(n, spec.n_params)), 0
        )
        history.append(EpochChunk(first, params, np.zeros(n), np.zeros(n), 0))
        if arrived is not None:
            arrived(history)
    return history


def first_lookup_ms(history: TrainingHistory, points: np.ndarray, labels: np.ndarray) -> float:
    """A new reader (as the influence panel makes when accumulated influence is switched on, or the samples
    change): prepare() once per display tick until ready, then the lookup at the newest epoch."""
    reader = AccumulatedInfluence(history.spec)
    started = time.perf_counter()
    while not reader.prepare(history, points, labels, PREPARE_SECONDS):
        pass
    reader.at(history, points, labels, history.latest_epoch)
    return 1000 * (time.perf_counter() - started)


def accumulated() -> dict[str, float]:
    spec, samples = NetworkSpec(), make_preset(DEFAULT_PRESET)
    x, y = samples.points, samples.labels
    cold = first_lookup_ms(synthetic_history(spec, 100_000), x, y)  # nothing summed before

    keeper = AccumulatedInfluence(spec)
    keeping = []

    def keep(history: TrainingHistory) -> None:
        started = time.perf_counter()
        keeper.prepare(history, x, y, PREPARE_SECONDS)
        keeping.append(time.perf_counter() - started)

    history = synthetic_history(spec, 100_000, arrived=keep)
    first = first_lookup_ms(history, x, y)
    edited = first_lookup_ms(history, np.vstack([x, [[0.25, -0.5]]]), np.append(y, 1))  # one sample more
    times = []
    reader = AccumulatedInfluence(spec)
    reader.at(history, x, y, history.latest_epoch)
    for epoch in np.random.default_rng(1).integers(0, history.latest_epoch + 1, SCRUBS):
        started = time.perf_counter()
        reader.at(history, x, y, int(epoch))
        times.append(1000 * (time.perf_counter() - started))
    return {
        "accumulate_first_ms_2x4_100k": first,
        "accumulate_cold_ms_2x4_100k": cold,
        "accumulate_edit_ms_2x4_100k": edited,
        "accumulate_keep_us_per_epoch": 1e6 * sum(keeping) / history.latest_epoch,
        "accumulate_ms_2x4_100k": float(np.median(times)),
    }


def run() -> dict[str, float]:
    with threadpool_limits(1):  # the app runs BLAS single-threaded
        spec = NetworkSpec((32, 32, 32, 32))
        samples = moons(10_000)
        params = init_params(spec, 0)
        x, y = samples.points, samples.labels
        forward = median_ms(lambda: logits(spec, params, x), REPEATS)
        maps = median_ms(lambda: influence(spec, params, x, y), REPEATS)
        figures = accumulated()
    return {"forward_ms": forward, "influence_ms": maps, "influence_ratio": maps / forward, **figures}
