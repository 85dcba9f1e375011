"""Influence maps against a plain forward pass on the same samples (4x32 tanh, 10,000 samples), and
accumulated influence at random epochs of a 100,000-epoch history (default network, 150 samples)."""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import NetworkSpec, logits
from app.core.torch_model import init_params
from app.core.training import EpochChunk
from bench.common import median_ms
from bench.engine import moons

REPEATS = 15
SCRUBS = 50


def synthetic_history(spec: NetworkSpec, epochs: int, chunk: int = 200) -> TrainingHistory:
    """A random walk from the initial parameters, appended in chunks as the worker would."""
    rng = np.random.default_rng(0)
    start = init_params(spec, 0)
    history = TrainingHistory(spec, start, 0.7, 0.5)
    for first in range(1, epochs + 1, chunk):
        n = min(chunk, epochs + 1 - first)
        params = history.params[-1] + np.cumsum(0.01 * rng.normal(size=(n, spec.n_params)), axis=0)
        history.append(EpochChunk(first, params, np.zeros(n), np.zeros(n), 0))
    return history


def run() -> dict[str, float]:
    with threadpool_limits(1):  # the app runs BLAS single-threaded
        spec = NetworkSpec((32, 32, 32, 32))
        samples = moons(10_000)
        params = init_params(spec, 0)
        x, y = samples.points, samples.labels
        forward = median_ms(lambda: logits(spec, params, x), REPEATS)
        maps = median_ms(lambda: influence(spec, params, x, y), REPEATS)

        small = NetworkSpec()
        history = synthetic_history(small, 100_000)
        few = moons(150)
        accumulated = AccumulatedInfluence(small)
        started = time.perf_counter()
        accumulated.at(history, few.points, few.labels, history.latest_epoch)
        first_call = 1000 * (time.perf_counter() - started)
        times = []
        for epoch in np.random.default_rng(1).integers(0, history.latest_epoch + 1, SCRUBS):
            started = time.perf_counter()
            accumulated.at(history, few.points, few.labels, int(epoch))
            times.append(1000 * (time.perf_counter() - started))
    return {
        "forward_ms": forward,
        "influence_ms": maps,
        "influence_ratio": maps / forward,
        "accumulate_first_ms_2x4_100k": first_call,
        "accumulate_ms_2x4_100k": float(np.median(times)),
    }
