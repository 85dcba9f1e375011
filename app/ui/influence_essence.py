"""The interpretable network's first-layer lines as influence maps, drawn beside the trained network's with
the same code at the same size: per line, the faint picture of its output tanh(m1 (w.x + b)) (on each side
a pale tint of that side's subconcept's class colour), the line dashed as in the network's own view, and
the samples that set it, the support vectors of the SVM that drew it, with dot area ∝ |dual coefficient|.
The other samples have no size there: specks, in a pale tint of their class for the two subconcepts the
line tells apart, grey for the rest, so that one sees which groups the line is about."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.core.dataset import SampleSet
from app.core.essence import EssenceNetwork
from app.core.geometry import Rect, clip_line, grid_centres
from app.ui.class_colours import class_rgb
from app.ui.influence_layout import essence_size_key, format_influence
from app.ui.influence_maps import ACTIVATION_PIXELS, MapContent, MapGroup, MapsView, bars_text, dot_sizes

HEADING = "Interpretable network: its first-layer lines"
NAME_RGB = (40, 40, 40)  # the lines have no colour of their own: dark, as in the network's view
LINE_RGB = (55, 55, 55)
SIDE_TINT = 0.15  # how far the picture's two sides go from white towards their class colour
MAX_MAPS = 16  # at most this many lines get a map (more would shrink the trained network's maps to specks)


def side_lut(negative_rgb: tuple[int, int, int], positive_rgb: tuple[int, int, int]) -> np.ndarray:
    """A (256, 3) colour table over -1..1: a pale tint of negative_rgb, white at 0, a pale tint of
    positive_rgb."""
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    colour = np.where(t < 0, np.array(negative_rgb, dtype=float), np.array(positive_rgb, dtype=float))
    return np.round(255 + (colour - 255) * SIDE_TINT * np.abs(t)).astype(np.uint8)


def _class_key(enn: EssenceNetwork, subconcept: int) -> str:
    """The key (1 to 8) that chooses the subconcept's class, where there are more than two classes."""
    return str(int(enn.subconcept_class[subconcept]) + 1) if len(enn.concept_b) > 2 else ""


def _coloured(text: str, label: int) -> str:
    """Rich text: a subconcept's name in its class's colour, a little darker so that it reads as text."""
    r, g, b = (round(0.8 * c) for c in class_rgb(label))
    return f"<span style='color: rgb({r},{g},{b})'>{text}</span>"


def essence_maps(
    enn: EssenceNetwork, values: np.ndarray, rect: Rect, per_neuron: bool
) -> tuple[np.ndarray, list[MapContent], list[float]]:
    """One map per differentia line over `rect`. `values`: (n, n_differentiae), each training sample's
    |dual coefficient| in each line's SVM (0: not one of its support vectors). Returns the dot diameters
    (n, n_differentiae: positive exactly for the support vectors, scaled per line or on one scale for all),
    the maps' contents and each line's largest value."""
    xs, ys = grid_centres(rect, ACTIVATION_PIXELS, ACTIVATION_PIXELS)
    gx, gy = np.meshgrid(xs, ys)
    outputs = enn.differentia(np.column_stack([gx.ravel(), gy.ravel()])).reshape(len(ys), len(xs), -1)
    count = enn.n_differentiae
    largest = [float(values[:, k].max()) if len(values) else 0.0 for k in range(count)]
    scale = max(largest, default=0.0)
    sizes = np.zeros(values.shape, dtype=np.float64)
    pen = pg.mkPen(LINE_RGB, width=2, style=Qt.PenStyle.DashLine)
    contents = []
    for k in range(count):
        column = values[:, k]
        sizes[:, k] = np.where(column > 0, dot_sizes(column, largest[k] if per_neuron else scale), 0.0)
        first, second = enn.differentia_pairs[k]  # the line's output is positive on the first's side
        lut = side_lut(class_rgb(enn.subconcept_class[second]), class_rgb(enn.subconcept_class[first]))
        segment = clip_line(enn.differentia_w[k], enn.differentia_b[k], rect)
        names = [_coloured(enn.subconcept_names[s], enn.subconcept_class[s]) for s in (first, second)]
        letters = [  # "A|B" for two classes; with more, each letter after its class's key: "1A|3G"
            _coloured(_class_key(enn, s) + enn.subconcept_names[s].split(" ")[-1], enn.subconcept_class[s])
            for s in (first, second)
        ]
        contents.append(MapContent(
            name=" | ".join(names), short_name="|".join(letters), colour=NAME_RGB, bold=False,
            caption=f"max {format_influence(largest[k])}" if per_neuron else "",
            picture=np.ascontiguousarray(outputs[..., k], dtype=np.float32), levels=(-1.0, 1.0), lut=lut,
            line=segment if segment is not None else np.empty((0, 2)), pen=pen, sizes=sizes[:, k],
            members=np.isin(enn.sample_subconcept, (first, second)),
        ))  # fmt: skip
    return sizes, contents, largest


def same_samples(a: SampleSet, b: SampleSet) -> bool:
    """Whether two sample sets hold the same samples in the same order (the same object, or equal arrays)."""
    if a is b:
        return True
    return a.n == b.n and np.array_equal(a.points, b.points) and np.array_equal(a.labels, b.labels)


class EssenceMaps:
    """The interpretable network's part of the influence panel: the network and the training samples it was
    built from, whether the window shows it, and its group of maps. The maps are shown while both hold: the
    window shows the network, and the panel shows the samples it was built from (an edit hides them, its
    undo brings them back)."""

    def __init__(self, view: MapsView):
        self.group = MapGroup(view)
        self.network: EssenceNetwork | None = None
        self.values: np.ndarray = np.zeros((0, 0))  # (n_samples, n_lines): |SVM dual coefficient|
        self.sizes: np.ndarray = np.zeros((0, 0))  # their dot diameters; 0: not a support vector
        self.largest: list[float] = []  # each line's largest value
        self.wanted = False  # the window shows the interpretable network
        self._built_from: SampleSet | None = None
        self._current = False  # the panel shows the samples it was built from
        self._drawn: tuple | None = None  # (network, frame, per-map scale) the maps show

    def set_network(self, enn: EssenceNetwork | None, built_from: SampleSet | None, shown: SampleSet | None):
        self.network = enn
        self._built_from = built_from if enn is not None else None
        self.values = enn.differentia_influence() if enn is not None else np.zeros((0, 0))
        self._drawn = None
        self.follow(shown)

    def follow(self, shown: SampleSet | None) -> None:
        """The panel shows these samples now."""
        built = self._built_from
        self._current = built is not None and shown is not None and same_samples(built, shown)

    @property
    def shown(self) -> bool:
        return self.wanted and self._current

    @property
    def count(self) -> int:
        """How many maps the panel shows for it (0: none): one per line, the first MAX_MAPS of them."""
        return min(self.network.n_differentiae, MAX_MAPS) if self.network is not None and self.shown else 0

    @property
    def heading(self) -> str:
        """The group's title, which says when only some of the lines have a map."""
        lines = self.network.n_differentiae if self.network is not None else 0
        return HEADING if lines <= MAX_MAPS else f"{HEADING} (the first {MAX_MAPS} of {lines})"

    def draw(self, samples: SampleSet, rect: Rect, per_neuron: bool, again: bool = False) -> bool:
        """Draws its maps if the network, the frame or the scale changed (or `again`: new map items); returns
        whether it drew. They do not change with the epoch."""
        drawn = (self.network, rect, per_neuron)
        if self._drawn == drawn and not again:
            return False
        self._drawn = drawn
        self.sizes, contents, self.largest = essence_maps(self.network, self.values, rect, per_neuron)
        for k, content in enumerate(contents[:MAX_MAPS]):
            self.group.draw(k, content, rect, samples.points, samples.labels)
        return True

    def key(self, per_neuron: bool, captions_shown: bool) -> str:
        return essence_size_key(per_neuron, self.largest, captions_shown)

    def describe(self, i: int) -> str:
        """Rich text: sample i's |dual coefficient| in each line's SVM, as bars."""
        row = self.values[i]
        if not (row > 0).any():
            return f"<b>Sample {i + 1}</b>: a support vector of no line (it sets none of them)"
        rows = [(self.network.differentia_label(k), NAME_RGB) for k in range(self.network.n_differentiae)]
        return bars_text(f"<b>Sample {i + 1}</b>: |SVM dual coefficient| for each line", rows, row)
