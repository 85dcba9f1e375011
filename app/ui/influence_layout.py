"""Where the influence maps go and what their size key says: the grid that makes n square maps as large as
the panel allows, and the key's words (pure functions, so the panel only places and draws)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.geometry import Rect

MARGIN = 4  # pixels around the grid of maps
SPACING = 8  # pixels between neighbouring maps
MIN_SIDE = 12  # the smallest map side drawn, whatever the panel's size


@dataclass(frozen=True)
class MapGrid:
    columns: int
    rows: int
    side: int  # the square picture's side in pixels; each map is this wide and side + band high
    band: int  # the name's band above each picture
    left: float  # x of the first column (the grid is centred across the view)

    def cell(self, k: int) -> tuple[float, float, float, float]:
        """x, y, width, height of map k's box (its name band, then its picture)."""
        row, column = divmod(k, self.columns)
        x = self.left + column * (self.side + SPACING)
        y = MARGIN + row * (self.side + self.band + SPACING)
        return x, y, float(self.side), float(self.side + self.band)


def best_grid(count: int, width: float, height: float, band: int) -> MapGrid:
    """The columns x rows that give `count` square maps (each with a name band of `band` pixels above it) the
    largest side in a width x height view; on a tie, the fewer columns."""
    count = max(count, 1)
    best_columns, best_side = 1, -math.inf
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        across = (width - 2 * MARGIN - (columns - 1) * SPACING) / columns
        down = (height - 2 * MARGIN - (rows - 1) * SPACING) / rows - band
        if min(across, down) > best_side + 1e-9:
            best_columns, best_side = columns, min(across, down)
    rows = math.ceil(count / best_columns)
    side = max(int(best_side), MIN_SIDE)
    used = best_columns * side + (best_columns - 1) * SPACING
    return MapGrid(best_columns, rows, side, band, max((width - used) / 2, MARGIN))


def square_around(rect: Rect) -> Rect:
    """The square with rect's centre whose side is rect's longer side: what a square map shows."""
    side = max(rect.width, rect.height)
    x, y = (rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2
    return Rect(x - side / 2, x + side / 2, y - side / 2, y + side / 2)


def format_influence(value: float) -> str:
    """An influence value as the key, the maps' captions and the hover text write it."""
    return f"{value:.3g}"


def size_key(accumulated: bool, per_neuron: bool, largest: list[float], captions_shown: bool) -> str:
    """The panel's size key. `largest`: each map's largest value; with per-neuron scales, each map's caption
    gives its own (`captions_shown`), or the key gives their range when the maps are too small for one."""
    quantity = "accumulated influence" if accumulated else "influence"
    head = f"Dot area ∝ {quantity} on the neuron"
    if not largest:
        return f"{head}."
    if not per_neuron:
        return f"{head}, one scale for the layer; largest = {format_influence(max(largest))}"
    if captions_shown:
        return f"{head}, scaled per map: the largest dot is the map's max (top right)"
    low, high = format_influence(min(largest)), format_influence(max(largest))
    spread = high if low == high else f"{low} to {high}"
    return f"{head}, scaled per map; largest = {spread} (a wider panel writes it on each map)"
