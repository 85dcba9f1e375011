"""A study's plots as PNG, drawn with Pillow (no plotting library needed): box plots of one figure per
architecture, one panel per data set, with the interpretable network's value as a dashed line across (and,
for focus, the chance focus as a dotted grey one)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PANEL_W, PANEL_H = 300, 260
MARGIN_L, MARGIN_B, MARGIN_T = 46, 64, 40
BOX = (70, 130, 180)
REFERENCE = (200, 40, 40)
GREY = (120, 120, 120)

# (panel title, [(group label, values)], the interpretable network's value or None)
Panel = tuple[str, Sequence[tuple[str, Sequence[float]]], float | None]
LEGEND = "boxes: trained networks per architecture;  dashed: the interpretable network"
CHANCE_LEGEND = LEGEND + ";  dotted grey: chance (every sample counted the same)"
FOCUS_TITLE = (
    "focus: the share of a first-layer neuron's influence from its 2 top subconcepts (sample groups of the "
    "interpretable network; 1 = all of it), mean over the neurons, last epoch"
)


def _font() -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=12)
    except TypeError:  # Pillow before 10.1 has one size
        return ImageFont.load_default()


def _quartiles(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(q) for q in np.percentile(values, [0, 25, 50, 75, 100]))


def _dashes(draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, colour, dash: int, gap: int) -> None:
    for x in range(int(x0), int(x1), dash + gap):
        draw.line([(x, y), (min(x + dash, x1), y)], fill=colour, width=2)


def box_plot(
    path: Path,
    title: str,
    panels: Sequence[Panel],
    low: float = 0.0,
    high: float = 1.0,
    baselines: Sequence[float | None] | None = None,
    legend: str = LEGEND,
) -> None:
    """Writes the box plots of `panels` side by side to `path` (values between low and high); `baselines`,
    one per panel (or None), are drawn as dotted grey lines (say what they are in `legend`)."""
    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    words = max(measure.textlength(text, font=font) for text in (title, legend))
    width = max(MARGIN_L + PANEL_W * max(1, len(panels)) + 10, int(MARGIN_L + words + 10))  # texts fit
    height = MARGIN_T + PANEL_H + MARGIN_B
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN_L, 8), title, fill="black", font=font)
    top, bottom = MARGIN_T + 10, MARGIN_T + PANEL_H

    def y_of(v: float) -> float:
        v = min(max(v, low), high)
        return bottom - (v - low) / (high - low) * (bottom - top)

    for tick in np.linspace(low, high, 5):
        y = y_of(tick)
        draw.line([(MARGIN_L - 4, y), (width - 10, y)], fill=(230, 230, 230))
        draw.text((4, y - 7), f"{tick:.2g}", fill="black", font=font)
    for p, (name, groups, reference) in enumerate(panels):
        x0 = MARGIN_L + p * PANEL_W
        draw.rectangle([x0, top, x0 + PANEL_W - 10, bottom], outline=GREY)
        draw.text((x0 + 6, MARGIN_T - 12), name, fill="black", font=font)
        step = (PANEL_W - 10) / max(1, len(groups))
        for g, (label, values) in enumerate(groups):
            centre = x0 + step * (g + 0.5)
            half = min(24.0, step * 0.3)
            draw.text((centre - half, bottom + 6 + 14 * (g % 2)), label, fill="black", font=font)
            finite = [v for v in values if not math.isnan(v)]
            if not finite:
                continue
            lo, q1, median, q3, hi = _quartiles(finite)
            draw.line([(centre, y_of(lo)), (centre, y_of(hi))], fill=BOX)
            for v in (lo, hi):
                draw.line([(centre - half / 2, y_of(v)), (centre + half / 2, y_of(v))], fill=BOX)
            draw.rectangle(
                [centre - half, y_of(q3), centre + half, y_of(q1)], fill=(220, 232, 245), outline=BOX
            )
            draw.line([(centre - half, y_of(median)), (centre + half, y_of(median))], fill=BOX, width=2)
        baseline = baselines[p] if baselines is not None else None
        if baseline is not None and not math.isnan(baseline):
            _dashes(draw, x0, x0 + PANEL_W - 10, y_of(baseline), GREY, 2, 4)
        if reference is not None and not math.isnan(reference):
            _dashes(draw, x0, x0 + PANEL_W - 10, y_of(reference), REFERENCE, 4, 4)
    draw.text((MARGIN_L, height - 18), legend, fill=REFERENCE, font=font)
    image.save(path, optimize=True)


def _value(row: dict | None, key: str) -> float | None:
    return float(row[key]) if row and row.get(key) not in ("", None) else None


def study_plots(out: Path, runs: list[dict], essence: list[dict]) -> list[Path]:
    """far10.png, far100.png, accuracy.png (training accuracy) and focus.png in `out`: per data set, one box
    per architecture (layers and activation) over all its runs that did not fail (and have the figure),
    the interpretable network's value dashed; focus.png also the chance focus, dotted."""
    reference = {e["preset"]: e for e in essence if e.get("status") == "ok"}
    presets = list(dict.fromkeys(r["preset"] for r in runs))
    written = []
    for metric, name, title, ref_key in (
        ("far10", "far10", "far-field agreement with the nearest sample, 10 extents out", "far10"),
        ("far100", "far100", "far-field agreement with the nearest sample, 100 extents out", "far100"),
        ("train_accuracy", "accuracy", "training accuracy", "accuracy"),
        ("focus", "focus", FOCUS_TITLE, "focus"),
    ):
        panels = []
        for preset in presets:
            groups: dict[str, list[float]] = {}
            for r in runs:
                if r["preset"] == preset and r["status"] != "failed" and r.get(metric) not in ("", None):
                    groups.setdefault(f"{r['layers']} {r['activation']}", []).append(float(r[metric]))
            panels.append((Path(preset).name, list(groups.items()), _value(reference.get(preset), ref_key)))
        path = out / f"{name}.png"
        if metric == "focus":
            chance = [_value(reference.get(preset), "chance_focus") for preset in presets]
            box_plot(path, title, panels, baselines=chance, legend=CHANCE_LEGEND)
        else:
            box_plot(path, title, panels)
        written.append(path)
    return written
