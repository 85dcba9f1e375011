"""Measuring helpers shared by the benchmark families."""

from __future__ import annotations

import time

import numpy as np

from app.core.dataset import SampleSet
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer, train


def bare_epochs_per_second(
    samples: SampleSet, spec: NetworkSpec, config: TrainConfig, seconds: float
) -> float:
    """The app's trainer at full speed in this thread, with no window."""
    trainer = Trainer(spec, config)
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for _chunk in train(trainer, lambda: samples, lambda: time.perf_counter() > deadline):
        pass
    return trainer.epoch / (time.perf_counter() - started)


def live_epochs_and_fps(
    samples: SampleSet, spec: NetworkSpec, config: TrainConfig, seconds: float
) -> tuple[float, float]:
    """The real main window (offscreen) training at full speed and drawing live: (epochs/s, frames/s)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.ui.app import close_for_good, make_application
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(samples, spec, config)
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())
    window.show()
    app.processEvents()
    frames_before = window.canvas.frames_drawn
    window.training.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    started = time.perf_counter()
    loop.exec()
    elapsed = time.perf_counter() - started
    epochs = window.model.history.latest_epoch
    frames = window.canvas.frames_drawn - frames_before
    close_for_good(app, window)
    app.processEvents()
    return epochs / elapsed, frames / elapsed


def median_ms(call, repeats: int) -> float:
    """The median wall time of call() in milliseconds over `repeats` calls, after one call that fills caches
    (and compiles what numba compiles on first use)."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return float(np.median(times))
