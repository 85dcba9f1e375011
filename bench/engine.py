"""The training engine against a plain torch autograd loop on the same problem, bare and inside the app.
Small: 250 samples, 2-4-4-1 tanh, SGD lr 0.03, batches of 10.
Large: 2,000 samples, 4x32 tanh, batches of 32 (the app trains it in float32: engine.prefers_float32; torch
in float64).
Classes: the small network and settings on the default preset's points, with its two classes and with eight
(angle sectors).
Arithmetic: the large loop's matrix-product work per second against one core's float32 matrix product speed
(256x256 products through numpy's BLAS, one thread): how near the loop is to what this core can do, and the
torch ratio the loop would reach if all its products ran that fast (`large_ratio_ceiling`)."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.datasets import make_moons
from threadpoolctl import threadpool_limits

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, SampleSet, make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig
from bench.common import bare_epochs_per_second, live_epochs_and_fps

SECONDS = 3.0  # per measured configuration, split over ROUNDS interleaved rounds
ROUNDS = 3
LIVE_SECONDS = 2.0  # per live round


def moons(n: int) -> SampleSet:
    points, labels = make_moons(n_samples=n, noise=0.1, random_state=0)
    return SampleSet(1.5 * (points - [0.5, 0.25]), labels)


class SectorSamples:
    """The default preset's points labelled by `classes` equal angle sectors about their mean: what the
    trainer reads of a SampleSet, which holds red and blue only so far."""

    version = 0

    def __init__(self, classes: int) -> None:
        self.points = make_preset(DEFAULT_PRESET).points
        offset = self.points - self.points.mean(axis=0)
        turn = np.arctan2(offset[:, 1], offset[:, 0]) / (2 * np.pi) % 1.0
        self.labels = np.floor(turn * classes).astype(np.int64)
        self.n = len(self.labels)

    def training_problem(self, test_fraction: float = 0.0, seed: int = 0) -> str | None:
        return None


def torch_epochs_per_second(samples: SampleSet, widths: tuple[int, ...], batch: int, seconds: float) -> float:
    """What one writes with torch by hand: nn.Sequential, shuffled mini-batches, autograd, optim.SGD."""
    torch.manual_seed(0)
    sizes = (2, *widths)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x = torch.tensor(np.array(samples.points))
    y = torch.tensor(samples.labels.astype(np.float64))
    epochs = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            optimizer.zero_grad()
            loss_fn(model(x[idx]).squeeze(-1), y[idx]).backward()
            optimizer.step()
        epochs += 1
    return epochs / (time.perf_counter() - started)


def product_flops_per_epoch(n: int, widths: tuple[int, ...], outputs: int = 1) -> float:
    """Floating-point operations of one epoch's matrix products on n samples (one multiply-add = 2): every
    mini-batch's forward pass, its weight gradients and the gradients passed back to each layer but the
    first, then the forward pass of the epoch's loss and accuracy over all samples. The elementwise work
    (activations, loss, updates) is left out: this is the least any loop must do."""
    sizes = (2, *widths, outputs)
    forward = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    backward = 2 * forward - sizes[0] * sizes[1]
    return 2.0 * n * (forward + backward + forward)


def one_core_product_gflops(size: int = 256, seconds: float = 0.5) -> float:
    """float32 size x size matrix products per second through numpy's BLAS on one thread, in GFLOP/s."""
    a, b = (np.random.default_rng(i).random((size, size), dtype=np.float32) for i in (0, 1))
    out = np.empty_like(a)
    with threadpool_limits(1):
        np.dot(a, b, out=out)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            np.dot(a, b, out=out)
            count += 1
        elapsed = time.perf_counter() - started
    return 2.0 * size**3 * count / elapsed / 1e9


def interleaved(first, second, rounds: int) -> tuple[float, float, float]:
    """Medians of `rounds` alternating measurements of two speeds, and the median of their per-round ratios
    second/first: neighbours in time share the shared machine's noise."""
    pairs = [(first(), second()) for _ in range(rounds)]
    ratios = [b / a for a, b in pairs]
    return (
        float(np.median([a for a, _ in pairs])),
        float(np.median([b for _, b in pairs])),
        float(np.median(ratios)),
    )


def run() -> dict[str, float]:
    torch.set_num_threads(1)
    engine.warm_up()
    small = moons(250), NetworkSpec((4, 4), "tanh"), TrainConfig("sgd", 0.03, batch_size=10)
    large = moons(2000), NetworkSpec((32, 32, 32, 32), "tanh"), TrainConfig("sgd", 0.03, batch_size=32)
    seconds = SECONDS / ROUNDS
    torch_eps, engine_eps, engine_ratio = interleaved(
        lambda: torch_epochs_per_second(small[0], small[1].widths, 10, seconds),
        lambda: bare_epochs_per_second(*small, seconds), ROUNDS)  # fmt: skip
    fps = []  # the live window needs a couple of seconds per round to leave its start-up behind

    def live_eps_only() -> float:
        eps, frames = live_epochs_and_fps(*small, LIVE_SECONDS)
        fps.append(frames)
        return eps

    _, live_eps, live_vs_engine = interleaved(
        lambda: bare_epochs_per_second(*small, LIVE_SECONDS), live_eps_only, ROUNDS)  # fmt: skip
    live_fps = float(np.median(fps))
    k2 = make_preset(DEFAULT_PRESET), small[1], small[2]
    k8 = SectorSamples(8), NetworkSpec(small[1].widths, small[1].activation, 8), small[2]
    eps_k2, eps_k8, k8_vs_k2 = interleaved(
        lambda: bare_epochs_per_second(*k2, seconds), lambda: bare_epochs_per_second(*k8, seconds), ROUNDS
    )
    large_torch_eps, large_engine_eps, large_ratio = interleaved(
        lambda: torch_epochs_per_second(large[0], large[1].widths, 32, seconds),
        lambda: bare_epochs_per_second(*large, seconds), ROUNDS)  # fmt: skip
    core_gflops = float(np.median([one_core_product_gflops() for _ in range(ROUNDS)]))
    large_gflops = large_engine_eps * product_flops_per_epoch(large[0].n, large[1].widths) / 1e9
    return {
        "torch_eps": torch_eps,
        "engine_eps": engine_eps,
        "engine_ratio": engine_ratio,
        "live_eps": live_eps,
        "live_vs_engine": live_vs_engine,
        "live_fps": live_fps,
        "engine_eps_k2": eps_k2,
        "engine_eps_k8": eps_k8,
        "k8_vs_k2": k8_vs_k2,
        "large_torch_eps": large_torch_eps,
        "large_engine_eps": large_engine_eps,
        "large_ratio": large_ratio,
        "large_engine_gflops": large_gflops,
        "core_product_gflops": core_gflops,
        "large_share_of_core": large_gflops / core_gflops,
        "large_ratio_ceiling": large_ratio * core_gflops / large_gflops,
    }
