"""Live training at default settings: epochs/s of the bare training loop versus the real main window
(offscreen) training and displaying live, measured in one run, plus the display's frames per second."""

from __future__ import annotations

import os

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig
from bench.common import bare_epochs_per_second, live_epochs_and_fps

SECONDS = float(os.environ.get("UNBOXED_BENCH_SECONDS", "2.0"))
ROUNDS = 4


def run() -> dict[str, float]:
    engine.warm_up()
    samples, spec, config = make_preset(DEFAULT_PRESET), NetworkSpec(), TrainConfig()
    bare, live, fps = [], [], []
    for _ in range(ROUNDS):  # interleaved, so that machine noise hits both sides alike
        bare.append(bare_epochs_per_second(samples, spec, config, SECONDS))
        eps, frames = live_epochs_and_fps(samples, spec, config, SECONDS)
        live.append(eps)
        fps.append(frames)
    # Each round's ratio compares neighbours in time; the median ignores a round that the shared machine
    # slowed on one side only.
    ratios = [b and lv / b for b, lv in zip(bare, live, strict=True)]
    return {"bare_eps": float(np.median(bare)), "live_eps": float(np.median(live)),
            "live_ratio": float(np.median(ratios)), "live_fps": float(np.median(fps))}  # fmt: skip
