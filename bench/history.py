"""Ten minutes of full-speed training, as the history sees it: the epochs the engine would record in that
time, appended in the chunks the worker sends. Shows that memory stays within the budget (plus the slack of a
pending move), that appends do not slow down as the run grows, and that none stalls the window (the worst
append, which a thinning or a copy to grow the arrays used to be)."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.history import TrainingHistory
from app.core.network import NetworkSpec
from app.core.training import EpochChunk, TrainConfig
from bench.common import bare_epochs_per_second

MINUTES = 10
CHUNK_SECONDS = 0.02


def run() -> dict[str, float]:
    engine.warm_up()
    spec = NetworkSpec()
    eps = bare_epochs_per_second(make_preset(DEFAULT_PRESET), spec, TrainConfig(), 2.0)
    total = int(eps * 60 * MINUTES)
    chunk = max(1, int(eps * CHUNK_SECONDS))
    history = TrainingHistory(spec, np.zeros(spec.n_params), 1.0, 0.5)
    rng = np.random.default_rng(0)
    params = rng.normal(size=(chunk, spec.n_params))
    metrics = rng.random(chunk)
    times, peak = [], 0
    for first in range(1, total + 1, chunk):
        k = min(chunk, total - first + 1)
        piece = EpochChunk(first, params[:k].copy(), metrics[:k].copy(), metrics[:k].copy(), 0)
        started = time.perf_counter()
        history.append(piece)
        times.append(time.perf_counter() - started)
        peak = max(peak, history.nbytes)
    tenth = max(1, len(times) // 10)
    first_ms = 1000 * float(np.mean(times[:tenth]))
    last_ms = 1000 * float(np.mean(times[-tenth:]))
    return {
        "history_epochs": float(total),
        "history_rows": float(len(history)),
        "history_peak_mb": peak / 2**20,
        "history_budget_mb": history.max_rows * 8 * (spec.n_params + 5) / 2**20,
        "append_ms_first_tenth": first_ms,
        "append_ms_last_tenth": last_ms,
        "append_slowdown": last_ms / first_ms,
        "append_ms_worst": 1000 * max(times),
    }
