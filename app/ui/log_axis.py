"""A logarithmic axis that people can read: ticks at powers of ten (with 2 and 5, or 3, between them when
there is room), evenly spaced values when the view spans less than a decade or so, labels with as many digits
as it takes to tell them apart, never two ticks closer than MIN_TICK_PIXELS, so never more ticks than the
axis has room for."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

MIN_TICK_PIXELS = 16  # a tick label's height and a little air
LIMIT = 300.0  # ticks only between 1e-300 and 1e300
MANTISSAS = ((1, 2, 5), (1, 3), (1,))  # ticks in each decade, densest first
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade_ticks(low: float, high: float, per_unit: float) -> list[float]:
    for mantissas in MANTISSAS:
        gap = float(np.diff(np.log10([*mantissas, 10])).min())  # the closest two, in decades
        if gap * per_unit >= MIN_TICK_PIXELS:
            decades = range(math.floor(low), math.ceil(high) + 1)
            ticks = [d + math.log10(m) for d in decades for m in mantissas]
            return [t for t in ticks if low <= t <= high]
    step = math.ceil(MIN_TICK_PIXELS / per_unit)  # every step-th decade
    return [float(d) for d in range(math.ceil(low / step) * step, math.floor(high) + 1, step)]


def _even_ticks(low: float, high: float, per_unit: float) -> list[float]:
    """Multiples of 1, 2 or 5 times a power of ten, the finest whose two highest stay far enough apart (the
    gaps shrink towards the top of a log axis)."""
    a, b = 10.0**low, 10.0**high
    top = math.floor(math.log10(b - a))
    for spacing in (m * 10.0**k for k in range(top - 3, top + 1) for m in (1, 2, 5)):
        if b - spacing <= 0 or (high - math.log10(b - spacing)) * per_unit >= MIN_TICK_PIXELS:
            first, last = math.ceil(a / spacing), math.floor(b / spacing)
            return [math.log10(k * spacing) for k in range(max(first, 1), last + 1)]
    return []


def log_ticks(low: float, high: float, pixels: float) -> list[float]:
    """The ticks (log10 of the values) between low and high (log10 units) on an axis this many pixels long."""
    low, high = sorted((low, high))
    if not (math.isfinite(low) and math.isfinite(high)) or not pixels > 0:
        return []
    per_unit = pixels / (high - low) if high > low else 0.0  # 0 also when high - low overflows
    low, high = max(low, -LIMIT), min(high, LIMIT)  # beyond, values overflow a float or vanish
    if high <= low or not per_unit > 0:
        return []
    ticks = _decade_ticks(low, high, per_unit)
    if len(ticks) < 3:
        even = _even_ticks(low, high, per_unit)
        ticks = even if len(even) > len(ticks) else ticks
    return ticks


def log_labels(ticks: list[float]) -> list[str]:
    """The values 10**tick written with the fewest significant digits (up to 6) that tell them apart; powers
    of ten below 0.001 or from 10⁴ up as 10⁻⁵, 2·10⁻⁵."""
    values = 10.0 ** np.asarray(ticks, dtype=float)
    for digits in range(1, 7):
        labels = [_written(v, digits) for v in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _written(value: float, digits: int) -> str:
    text = f"{value:.{digits}g}" if 1e-3 <= value < 1e4 else f"{value:.{digits - 1}e}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = "10" + str(int(exponent)).translate(SUPERSCRIPTS)
    return power if mantissa == "1" else f"{mantissa}·{power}"


class LogAxis(pg.AxisItem):
    """pyqtgraph's own log axis labels every minor tick (0.02, 0.03, ... overlap in a short plot) with one
    digit (0.69 and 0.7 both read 0.7), and over very many decades makes ticks without end."""

    def tickValues(self, minVal, maxVal, size):
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        ticks = log_ticks(minVal, maxVal, size)
        return [(None, ticks)] if ticks else []

    def tickStrings(self, values, scale, spacing):
        return log_labels(values) if self.logMode else super().tickStrings(values, scale, spacing)
