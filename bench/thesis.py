"""The article's claims, measured (a report, not a timing): over the presets and several seeds each, the
trained network (2-4-4-1, tanh, Adam, full batch) after training and the interpretable network built for the
same samples, each measure of app.core.thesis: focus of the first layer's neurons (and the chance focus of the
same groups), the role match of the trained lines with the interpretable ones, and the far-field agreement
with the nearest training sample 10 and 100 data extents out. Prints a table of medians [quartiles] per
preset and over all runs; returns the medians over all runs (the JSON line's thesis_... keys).

Seed s draws the preset's samples with seed s and the network's first weights and batches with seed s.
UNBOXED_THESIS_SEEDS and UNBOXED_THESIS_EPOCHS make a quick run (the tests' smoke run)."""

from __future__ import annotations

import os

import numpy as np

from app.core.dataset import PRESETS, make_preset
from app.core.essence import EssenceError, build_essence
from app.core.network import NetworkSpec
from app.core.thesis import enn_thesis, mlp_thesis
from app.core.training import TrainConfig, Trainer

SEEDS = int(os.environ.get("UNBOXED_THESIS_SEEDS", "10"))
EPOCHS = int(os.environ.get("UNBOXED_THESIS_EPOCHS", "1500"))
SPEC = NetworkSpec((4, 4), "tanh")
# (key, column heading): each run's figures, in the table's order
MEASURES = (
    ("accuracy_mlp", "MLP acc"),
    ("focus_mlp", "focus MLP"),
    ("focus_enn", "focus ENN"),
    ("focus_chance", "chance"),
    ("role_distance", "role dist"),
    ("far10_mlp", "far10 MLP"),
    ("far10_enn", "far10 ENN"),
    ("far100_mlp", "far100 MLP"),
    ("far100_enn", "far100 ENN"),
)


def measure(preset: str, seed: int) -> dict[str, float] | None:
    """One run's figures; None if the network diverged or no interpretable network could be built."""
    samples = make_preset(preset, seed=seed)
    trainer = Trainer(SPEC, TrainConfig(seed=seed))
    params, _loss, accuracy, diverged = trainer.run(samples, EPOCHS)
    if diverged:
        return None
    try:
        enn = build_essence(samples)
    except EssenceError:
        return None
    mlp, interpretable = mlp_thesis(SPEC, params[-1], samples, enn), enn_thesis(enn, samples)
    return {
        "accuracy_mlp": float(accuracy[-1]),
        "focus_mlp": mlp.network_focus,
        "focus_enn": interpretable.network_focus,
        "focus_chance": mlp.chance_focus,
        "role_distance": mlp.role_match.median_distance,
        "far10_mlp": mlp.far10,
        "far10_enn": interpretable.far10,
        "far100_mlp": mlp.far100,
        "far100_enn": interpretable.far100,
    }


def _cell(values: list[float]) -> str:
    q1, median, q3 = np.nanpercentile(values, [25, 50, 75])
    return f"{median:.2f} [{q1:.2f}–{q3:.2f}]"


def run() -> dict[str, float]:
    runs: dict[str, list[dict[str, float]]] = {}
    for preset in PRESETS:
        runs[preset] = [r for r in (measure(preset, seed) for seed in range(SEEDS)) if r is not None]
    everything = [r for preset_runs in runs.values() for r in preset_runs]
    print(f"  {SEEDS} seeds per preset, {EPOCHS} epochs, network 2-{'-'.join(map(str, SPEC.widths))}-1 "
          f"{SPEC.activation}; median [quartiles]")  # fmt: skip
    header = f"  {'preset':<9} {'runs':>4}  " + "  ".join(f"{title:^17}" for _, title in MEASURES)
    print(header)
    for name, preset_runs in [*runs.items(), ("all", everything)]:
        if not preset_runs:
            print(f"  {name:<9} {0:>4}")
            continue
        cells = "  ".join(f"{_cell([r[key] for r in preset_runs]):^17}" for key, _ in MEASURES)
        print(f"  {name:<9} {len(preset_runs):>4}  {cells}")
    return {
        f"thesis_{key}": float(np.nanmedian([r[key] for r in everything])) if everything else float("nan")
        for key, _ in MEASURES
    } | {"thesis_runs": float(len(everything))}
