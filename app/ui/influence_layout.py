"""Where the influence maps go and what their size keys say: the grid that makes n square maps as large as
the panel allows (or several groups of maps, one under the other, at one common size), and the keys' words
(pure functions, so the panel only places and draws)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from app.core.geometry import Rect

MARGIN = 4  # pixels around the grid of maps
SPACING = 8  # pixels between neighbouring maps
MIN_SIDE = 12  # the smallest map side drawn, whatever the panel's size
GROUP_GAP = 10  # pixels between one group of maps and the next group's heading


@dataclass(frozen=True)
class MapGrid:
    columns: int
    rows: int
    side: int  # the square picture's side in pixels; each map is this wide and side + band high
    band: int  # the name's band above each picture
    left: float  # x of the first column (the grid is centred across the view)
    top: float = MARGIN  # y of the first row's name band

    def cell(self, k: int) -> tuple[float, float, float, float]:
        """x, y, width, height of map k's box (its name band, then its picture)."""
        row, column = divmod(k, self.columns)
        x = self.left + column * (self.side + SPACING)
        y = self.top + row * (self.side + self.band + SPACING)
        return x, y, float(self.side), float(self.side + self.band)

    @property
    def bottom(self) -> float:
        return self.top + self.rows * (self.side + self.band) + (self.rows - 1) * SPACING


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


def _column_choices(count: int) -> list[int]:
    """The column counts worth trying for `count` maps: the fewest columns for each number of rows."""
    return sorted({math.ceil(count / rows) for rows in range(1, count + 1)})


def stacked_grids(
    counts: list[int], width: float, height: float, band: int, headings: list[float]
) -> list[MapGrid]:
    """Groups of square maps one under the other, group g under a heading `headings[g]` pixels high (as
    wide as the view), every map of every group with the same side: the columns of each group that make that
    side largest in a width x height view (in whole pixels); on a tie, the fewer rows, then columns."""
    counts = [max(count, 1) for count in counts]
    fixed = 2 * MARGIN + sum(headings) + (len(counts) - 1) * GROUP_GAP
    best, best_score = tuple(1 for _ in counts), (-math.inf, 0, 0)
    for columns in itertools.product(*(_column_choices(count) for count in counts)):
        rows = [math.ceil(count / c) for count, c in zip(counts, columns, strict=True)]
        down = (height - fixed - sum(r - 1 for r in rows) * SPACING) / sum(rows) - band
        across = min((width - 2 * MARGIN - (c - 1) * SPACING) / c for c in columns)
        # The largest whole side; for the same side, the fewest rows (no height left blank), then columns.
        score = (math.floor(min(across, down)), -sum(rows), -sum(columns))
        if score > best_score:
            best, best_score = columns, score
    side = max(int(best_score[0]), MIN_SIDE)
    grids, top = [], float(MARGIN)
    for count, columns, heading in zip(counts, best, headings, strict=True):
        used = columns * side + (columns - 1) * SPACING
        grid = MapGrid(columns, math.ceil(count / columns), side, band, max((width - used) / 2, MARGIN),
                       top + heading)  # fmt: skip
        grids.append(grid)
        top = grid.bottom + GROUP_GAP
    return grids


def fitting_height(counts: list[int], width: float, band: int, headings: list[float], most: float) -> int:
    """The least view height, up to `most`, at which stacked_grids gives the maps the side they get at `most`
    (a picture of them for a page, with no blank below them)."""
    target = stacked_grids(counts, width, most, band, headings)[0].side
    low, high = 1, int(math.ceil(most))
    while low < high:  # the side grows with the height: bisect for the first height that reaches it
        middle = (low + high) // 2
        if stacked_grids(counts, width, middle, band, headings)[0].side >= target:
            high = middle
        else:
            low = middle + 1
    return high


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
    head = f"Dot area ∝ {quantity} (gradient norm) on the neuron"
    return _scale_key(head, "the layer", per_neuron, largest, captions_shown)


def essence_size_key(per_neuron: bool, largest: list[float], captions_shown: bool) -> str:
    """The interpretable network's maps' size key: a dot's area is the sample's |dual coefficient| in the SVM
    that drew the line; only support vectors have one, the other samples are specks."""
    head = "Dot area ∝ |SVM dual coefficient|: the support vectors that set the line"
    note = "Pale specks: the rest of the two subconcepts it separates; grey: the other samples."
    return f"{_scale_key(head, 'all lines', per_neuron, largest, captions_shown)} {note}"


def _scale_key(head: str, whole: str, per_neuron: bool, largest: list[float], captions_shown: bool) -> str:
    if not largest:
        return f"{head}."
    if not per_neuron:
        return f"{head}, one scale for {whole}; largest = {format_influence(max(largest))}."
    if captions_shown:
        return f"{head}, scaled per map: the largest dot is the map's max (top right)."
    low, high = format_influence(min(largest)), format_influence(max(largest))
    spread = high if low == high else f"{low} to {high}"
    return f"{head}, scaled per map; largest = {spread} (a wider panel writes it on each map)."
