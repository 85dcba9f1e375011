"""Groups of square influence maps in one view, drawn the same way for either network: per map a faint
picture of a neuron's activation, its boundary, the samples (dot area ∝ a value) and its name and caption in
a band above; a group may have a heading. What each map shows is the panel's; this draws it and finds what
lies under the cursor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsTextItem

from app.core.geometry import Rect
from app.ui.class_colours import CLASS_PALETTE
from app.ui.influence_layout import MARGIN, MapGrid, format_influence
from app.ui.scatter import cached_scatter

TITLE_PIXELS = 18  # the band above each map's picture where the neuron's name goes
ACTIVATION_PIXELS = 48  # the faint background of each small plot
MIN_DOT, MAX_DOT = 2.0, 16.0  # dot diameters in pixels; area grows with influence
SIZE_STEPS = 14
HOVER_PIXELS = 6
MAX_DOTS = 2000  # per small plot: beyond, the most influential samples (the rest would be specks anyway)
SHORT_NAME_SIDE = 56  # below this map side (or where it does not fit), a map's name takes its short form
CAPTION_GAP = 2  # pixels between a map's name and its size caption, besides the texts' margins
SPECK_RGB = (190, 190, 190)  # samples that have no size on a map (not among an SVM's support vectors)
SPECK_SIZE = 3.5
SPECK_TINT = 0.55  # a map's member samples without a size: their class colour this far from white


def dot_sizes(values: np.ndarray, scale: float) -> np.ndarray:
    """Diameters whose areas are proportional to the influence values (0 gets the smallest dot), in
    SIZE_STEPS steps: pyqtgraph renders one symbol per distinct size, so few sizes keep big layers fast."""
    fraction = np.clip(values / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(values)
    steps = np.round(np.sqrt(fraction) * SIZE_STEPS) / SIZE_STEPS
    return MIN_DOT + (MAX_DOT - MIN_DOT) * steps


def faint_lut(rgb: tuple[int, int, int]) -> np.ndarray:
    """White (low activation) to a pale tint of the neuron's colour (high activation)."""
    t = np.linspace(0.0, 0.35, 256)[:, None]
    return np.round(255 + (np.array(rgb, dtype=float) - 255) * t).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class MapContent:
    """What one map shows."""

    name: str  # rich text
    short_name: str  # the name on a map too small for it
    colour: tuple[int, int, int]  # the name's
    bold: bool
    caption: str  # beside the name, where it fits (the largest value)
    picture: np.ndarray  # the faint background, rows along y
    levels: tuple[float, float]  # the picture's values at the ends of `lut`
    lut: np.ndarray  # (256, 3) uint8
    line: np.ndarray  # (k, 2) the boundary's points (pieces separated by NaN rows); may be empty
    pen: QPen
    sizes: np.ndarray  # (n,) each sample's dot diameter; 0: no size here, a speck
    members: np.ndarray | None = None  # (n,) bool: specks in a pale tint of their class, not grey


class MapsView(pg.GraphicsView):
    """The maps' view: its scene coordinates are its pixels; `resized` asks the panel to lay them out anew."""

    resized = Signal()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.resized.emit()


class MapGroup:
    """One group of maps in a MapsView's scene: a bare view box per map (a pyqtgraph grid layout would lay
    every map out again for each one added: two seconds for 64 maps), placed by `place`, and an optional
    heading above them."""

    def __init__(self, view: MapsView):
        self.view = view
        self.plots: list[pg.ViewBox] = []
        self.map_items: list[dict] = []
        self.grid: MapGrid | None = None  # where the maps are, in the view's pixels
        self.heading = QGraphicsTextItem()
        self.heading_html = ""
        self.heading.hide()
        view.scene().addItem(self.heading)

    def ensure(self, count: int) -> bool:
        """`count` maps (new ones empty); returns whether their number changed."""
        if len(self.plots) == count:
            return False
        scene = self.view.scene()
        for box in self.plots:
            scene.removeItem(box)
        self.plots, self.map_items = [], []
        for _ in range(count):
            box = pg.ViewBox(lockAspect=True, enableMouse=False, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            boundary = pg.PlotCurveItem(connect="finite")
            # Every class's scatters now, hidden while empty: none may join the box once it is in the scene.
            specks = [cached_scatter(pen=None, brush=pg.mkBrush(*rgb), size=SPECK_SIZE)
                      for rgb in (SPECK_RGB, *(_tint(rgb) for rgb in CLASS_PALETTE))]  # fmt: skip
            dots = [cached_scatter(pen=pg.mkPen((30, 30, 30), width=0.6), brush=pg.mkBrush(*rgb))
                    for rgb in CLASS_PALETTE]  # fmt: skip
            for scatter in (*specks, *dots):
                scatter.setVisible(False)
            title, caption = pg.TextItem(anchor=(0, 0)), pg.TextItem(anchor=(1, 0))
            for item in (image, boundary, *specks, *dots, title, caption):
                box.addItem(item)
            # Into the scene once filled: an item added to a box already in the scene joins the view first and
            # is then moved into the box, and pyqtgraph's disconnect from the view there hung the window
            # (110 s, PySide6 6.11, twice in about ten full test runs). Filled first, no item changes view.
            scene.addItem(box)
            self.plots.append(box)
            items = {"image": image, "boundary": boundary, "specks": specks, "dots": dots,
                     "title_item": title, "caption_item": caption}  # fmt: skip
            self.map_items.append(items)
            box.sigResized.connect(lambda box, items=items: _frame(box, items))
        return True

    def set_heading(self, html: str | None, width: float) -> float:
        """The heading's text (None: no heading), wrapped to `width` pixels; returns its height."""
        if html is None:
            self.heading.hide()
            return 0.0
        if self.heading_html != html:  # HTML layout: only when it changes
            self.heading.setHtml(html)
            self.heading_html = html
        self.heading.setTextWidth(max(width, 40.0))
        self.heading.show()
        return float(self.heading.boundingRect().height())

    def place(self, grid: MapGrid, heading: float = 0.0) -> None:
        """The maps in this grid; the heading, if any, in the `heading` pixels above its first row."""
        self.grid = grid
        for k, box in enumerate(self.plots):
            box.setGeometry(QRectF(*grid.cell(k)))
        self.heading.setPos(MARGIN, grid.top - heading)

    def draw(self, j: int, content: MapContent, rect: Rect, points: np.ndarray, labels: np.ndarray) -> None:
        """Map j shows `content` over `rect` for these samples (its texts follow at show_texts)."""
        items = self.map_items[j]
        items["title"] = (content.name, content.short_name, content.colour, content.bold)
        items["caption"] = content.caption
        items["image"].setImage(content.picture, levels=content.levels)
        items["image"].setLookupTable(content.lut)
        items["image"].setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
        line = content.line
        items["boundary"].setData(line[:, 0], line[:, 1]) if len(line) else items["boundary"].clear()
        items["boundary"].setPen(content.pen)
        sizes = content.sizes
        shown = most_influential(sizes, MAX_DOTS)
        shown = shown[sizes[shown] > 0]
        for c, chosen in _by_class(shown, labels, items["dots"]):  # class c's dots in its colour
            _set_points(items["dots"][c], points[chosen], sizes[chosen])
        specks = np.flatnonzero(sizes <= 0)
        specks = specks[:: max(1, math.ceil(len(specks) / MAX_DOTS))]  # evenly thinned to MAX_DOTS at most
        members = content.members[specks] if content.members is not None else np.zeros(len(specks), bool)
        grey, *tinted = items["specks"]
        _set_points(grey, points[specks[~members]])
        for c, chosen in _by_class(specks[members], labels, tinted):
            _set_points(tinted[c], points[chosen])
        if items.get("rect") != rect:
            items["rect"] = rect
            _frame(self.plots[j], items)

    def show_texts(self, maps) -> bool:
        """Each map's name (its short form when the map is small) and its caption where it fits beside the
        name; returns whether every map's caption is shown."""
        side = self.grid.side if self.grid is not None else TITLE_PIXELS * 10
        for j in maps:
            items = self.map_items[j]
            name, short_name, colour, bold = items.get("title", ("", "", (0, 0, 0), False))
            for shown in (name, short_name) if side >= SHORT_NAME_SIDE else (short_name,):
                if items.get("title_shown") != (shown, colour, bold):  # HTML layout: only when it changes
                    style = "color: rgb({},{},{}); font-size: 8pt; font-weight: {}".format(
                        *colour, "bold" if bold else "normal"
                    )
                    items["title_item"].setHtml(f"<span style='{style}'>{shown}</span>")
                    items["title_shown"] = (shown, colour, bold)
                if items["title_item"].boundingRect().width() <= side:  # else the short name (or clipped)
                    break
            caption = items.get("caption", "")
            if items.get("caption_shown") != caption:
                items["caption_item"].setHtml(
                    f"<span style='color: #404040; font-size: 8pt'>{caption}</span>"
                )
                items["caption_shown"] = caption
            room = items["title_item"].boundingRect().width() + CAPTION_GAP
            items["caption_item"].setVisible(
                bool(caption) and room + items["caption_item"].boundingRect().width() <= side
            )
        return all(items["caption_item"].isVisible() for items in self.map_items)

    def plot_at(self, scene_pos) -> int | None:
        for j, plot in enumerate(self.plots):
            if plot.sceneBoundingRect().contains(scene_pos):
                return j
        return None

    def sample_near(self, j: int, scene_pos, points: np.ndarray) -> int | None:
        """Index of the sample drawn within HOVER_PIXELS of scene_pos on map j."""
        if len(points) == 0:
            return None
        box = self.plots[j]
        pixel = box.mapSceneToView(scene_pos)
        scale = box.viewPixelSize()[0]
        distances = np.hypot(points[:, 0] - pixel.x(), points[:, 1] - pixel.y())
        i = int(np.argmin(distances))
        return i if distances[i] <= HOVER_PIXELS * scale else None


def _frame(box: pg.ViewBox, items: dict) -> None:
    """Shows the map's rectangle with TITLE_PIXELS of the box's pixels above it for the name and caption."""
    rect = items.get("rect")
    if rect is None:
        return
    width, height = max(rect.width, 1e-300), max(rect.height, 1e-300)
    scale = min(box.width() / width, max(box.height() - TITLE_PIXELS, 1.0) / height)  # pixels per unit
    top = rect.ymax + TITLE_PIXELS / max(scale, 1e-300)
    box.setRange(xRange=(rect.xmin, rect.xmax), yRange=(rect.ymin, top), padding=0)
    items["title_item"].setPos(rect.xmin, top)
    items["caption_item"].setPos(rect.xmax, top)


def _by_class(indices: np.ndarray, labels: np.ndarray, scatters: list) -> list[tuple[int, np.ndarray]]:
    """(class, its indices among `indices`) for each class that has some, or whose scatter still shows
    points (to be emptied): one stable sort instead of a mask per class."""
    order = indices[np.argsort(labels[indices], kind="stable")]
    counts = np.bincount(labels[indices], minlength=len(scatters))
    starts = np.concatenate([[0], np.cumsum(counts)])
    return [(c, order[starts[c] : starts[c + 1]]) for c in range(len(scatters))
            if counts[c] or len(scatters[c].data)]  # fmt: skip


def _set_points(scatter: pg.ScatterPlotItem, pos: np.ndarray, sizes: np.ndarray | None = None) -> None:
    """The scatter draws these points (sizes: their diameters; None: the scatter's own size) and is hidden
    while it has none; an empty one stays untouched (most maps lack most of the MAX_CLASSES classes)."""
    if len(pos) == 0 and len(scatter.data) == 0:
        return
    scatter.setData(pos=pos, size=sizes)
    scatter.setVisible(len(pos) > 0)


def _tint(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = (round(255 + (c - 255) * SPECK_TINT) for c in rgb)
    return r, g, b


def heading_html(title: str, key: str) -> str:
    """A group's heading: its name, and under it its size key."""
    return (f"<div style='color:#1e1e1e'><span style='font-size:9pt; font-weight:bold'>{title}</span><br>"
            f"<span style='color:#404040; font-size:8pt'>{key}</span></div>")  # fmt: skip


def bars_text(head: str, rows: list[tuple[str, tuple[int, int, int]]], values: np.ndarray) -> str:
    """Rich text for a tooltip: under `head`, a bar per row as long as its value against the largest."""
    top = float(values.max()) if values.size and values.max() > 0 else 1.0
    lines = [head]
    for (name, (r, g, b)), value in zip(rows, values, strict=True):
        bar = "█" * max(1, int(round(20 * value / top))) if value > 0 else ""
        lines.append(f"{name} <span style='color:rgb({r},{g},{b})'>{bar}</span> {format_influence(value)}")
    return "<br>".join(lines)


def most_influential(values: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the samples to draw: all of them, or the `limit` with the largest values."""
    if len(values) <= limit:
        return np.arange(len(values))
    return np.sort(np.argpartition(values, len(values) - limit)[-limit:])
