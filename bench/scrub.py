"""Scrub latency: the time from setting the displayed epoch to the end of the repaint of the whole main
window (canvas, influence panel, network diagram, timeline, loss plot), over 200 random epochs, at the
default set-up and at 4x32 neurons with 2,000 samples; and the memory 100,000 epochs of history take."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.history import TrainingHistory
from app.core.network import NetworkSpec
from app.core.training import EpochChunk, TrainConfig
from bench.engine import moons

SCRUBS = 200


def scrub_latencies(samples, spec: NetworkSpec, config: TrainConfig, epochs: int) -> dict[str, np.ndarray]:
    """Per scrub step, milliseconds: 'drag' as while dragging (preview raster), 'sharp' as a single step."""
    from app.ui.app import close_for_good, make_application, train_synchronously
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(samples, spec, config)
    window.show()
    app.processEvents()
    train_synchronously(window, epochs)
    window.frames.stop()  # the benchmark drives the drawing itself
    rng = np.random.default_rng(0)
    timings = {"drag": [], "sharp": []}
    for kind in timings:
        for epoch in rng.integers(0, window.model.history.latest_epoch + 1, SCRUBS):
            started = time.perf_counter()
            window.model.scrub_to(int(epoch))
            window.frames.render_frame(preview=kind == "drag")
            window.repaint()
            timings[kind].append(1000 * (time.perf_counter() - started))
    close_for_good(app, window)
    app.processEvents()
    return {kind: np.array(values) for kind, values in timings.items()}


def history_megabytes(spec: NetworkSpec, epochs: int = 100_000, chunk: int = 200) -> float:
    history = TrainingHistory(spec, np.zeros(spec.n_params), 1.0, 0.5)
    params = np.zeros((chunk, spec.n_params))
    metrics = np.zeros(chunk)
    for first in range(1, epochs + 1, chunk):
        history.append(EpochChunk(first, params.copy(), metrics.copy(), metrics.copy(), 0))
    return history.nbytes / 2**20


def run() -> dict[str, float]:
    engine.warm_up()
    default = scrub_latencies(make_preset(DEFAULT_PRESET), NetworkSpec(), TrainConfig(), 2000)
    large_spec = NetworkSpec((32, 32, 32, 32))
    large = scrub_latencies(moons(2000), large_spec, TrainConfig(batch_size=32), 200)
    return {
        "scrub_ms_median": float(np.median(default["drag"])),
        "scrub_ms_p95": float(np.percentile(default["drag"], 95)),
        "sharp_ms_median": float(np.median(default["sharp"])),
        "large_scrub_ms_median": float(np.median(large["drag"])),
        "large_scrub_ms_p95": float(np.percentile(large["drag"], 95)),
        "large_sharp_ms_median": float(np.median(large["sharp"])),
        "history_mb_default_100k": history_megabytes(NetworkSpec()),
        "history_mb_4x32_100k": history_megabytes(large_spec),
    }
