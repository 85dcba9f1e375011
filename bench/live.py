"""Live training: epochs/s of the bare training loop versus the real main window (offscreen) training and
displaying live, measured in one run, plus the display's frames per second."""

from __future__ import annotations

import time

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer, train

SECONDS = 3.0
ROUNDS = 2


def bare_epochs_per_second(seconds: float) -> float:
    samples = make_preset(DEFAULT_PRESET)
    trainer = Trainer(NetworkSpec(), TrainConfig())
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    for _chunk in train(trainer, lambda: samples, lambda: time.perf_counter() > deadline):
        pass
    return trainer.epoch / (time.perf_counter() - started)


def live_epochs_and_fps(seconds: float) -> tuple[float, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    from app.ui.app import make_application
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow()
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())  # as fast as possible
    window.show()
    app.processEvents()
    frames_before = window.canvas.frames_drawn
    window.start_training()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    started = time.perf_counter()
    loop.exec()
    elapsed = time.perf_counter() - started
    epochs = window.trainer.epoch if not window.is_training else window.history.latest_epoch
    frames = window.canvas.frames_drawn - frames_before
    window.close()
    app.processEvents()
    return epochs / elapsed, frames / elapsed


def run() -> dict[str, float]:
    engine.warm_up()
    bare, live, fps = [], [], []
    for _ in range(ROUNDS):  # interleaved, so that machine noise hits both sides alike
        bare.append(bare_epochs_per_second(SECONDS))
        eps, frames = live_epochs_and_fps(SECONDS)
        live.append(eps)
        fps.append(frames)
    bare_eps, live_eps = sum(bare) / ROUNDS, sum(live) / ROUNDS
    return {"bare_eps": bare_eps, "live_eps": live_eps, "live_ratio": live_eps / bare_eps,
            "live_fps": sum(fps) / ROUNDS}  # fmt: skip
