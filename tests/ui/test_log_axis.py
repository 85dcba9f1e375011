"""The loss plot's log axis: readable labels that never overlap, and a bounded number of ticks whatever the
range."""

import math
import time

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from app.ui.log_axis import MIN_TICK_PIXELS, log_labels, log_ticks
from app.ui.loss_plot import QtLossPlot


def test_ticks_stay_apart_inside_the_range_and_their_labels_differ():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        low = rng.uniform(-15, 5)
        high = low + 10 ** rng.uniform(-4, 2.5)
        pixels = rng.uniform(20, 600)
        ticks = log_ticks(low, high, pixels)
        assert all(low <= t <= high for t in ticks)
        gaps = np.diff(ticks) * pixels / (high - low)
        assert (gaps >= MIN_TICK_PIXELS * (1 - 1e-9)).all(), (low, high, pixels, ticks)
        labels = log_labels(ticks)
        assert len(set(labels)) == len(labels), (ticks, labels)


@pytest.mark.parametrize(("low", "high", "pixels", "expected"), [
    (0.013, 0.7, 80, ["0.03", "0.1", "0.3"]),  # a typical training run in the window's short plot
    (1e-6, 3.0, 80, ["10⁻⁶", "10⁻⁴", "0.01", "1"]),
    (0.39, 0.71, 80, ["0.4", "0.5", "0.6", "0.7"]),  # within a decade: evenly spaced values
    (0.69, 0.6931, 80, ["0.69", "0.691", "0.692", "0.693"]),  # a flat loss: as many digits as it takes
])  # fmt: skip
def test_labels_a_person_reads(low, high, pixels, expected):
    assert log_labels(log_ticks(math.log10(low), math.log10(high), pixels)) == expected


def test_a_million_decades_give_a_few_ticks_at_once():
    started = time.perf_counter()
    ticks = log_ticks(-1e6, 1e6, 80)
    assert time.perf_counter() - started < 0.05
    assert 1 <= len(ticks) <= 80 // MIN_TICK_PIXELS + 1  # 1e0: the others lie beyond a float


@pytest.mark.parametrize("bad", [(math.nan, 1.0), (0.0, math.inf), (1.0, 1.0)])
def test_no_ticks_for_an_empty_or_broken_range(bad):
    assert log_ticks(*bad, 80) == []


@pytest.mark.parametrize(("low", "high"), [(290.0, 400.0), (-1e308, 1e308), (-400.0, -299.0)])
def test_ranges_beyond_a_floats_reach_give_ticks_within_it(low, high):
    ticks = log_ticks(low, high, 80)
    assert all(-300 <= t <= 300 for t in ticks)
    assert all(label != "inf" and label != "0" for label in log_labels(ticks))


def test_the_loss_plots_tick_labels_do_not_overlap(qtbot):
    plot = QtLossPlot()
    qtbot.addWidget(plot)
    plot.resize(860, 210)
    plot.show()
    epochs = np.arange(201)
    plot.set_history(epochs, np.geomspace(0.7, 0.013, 201), np.linspace(0.5, 1.0, 201))
    qtbot.wait(10)
    image = QImage(10, 10, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    _, _, texts = plot.loss_plot.getAxis("left").generateDrawSpecs(painter)
    painter.end()
    assert [text for _, _, text in texts] == ["0.03", "0.1", "0.3"]
    rects = sorted((rect for rect, _, _ in texts), key=lambda r: r.top())
    assert all(upper.bottom() <= lower.top() for upper, lower in zip(rects, rects[1:], strict=False))
