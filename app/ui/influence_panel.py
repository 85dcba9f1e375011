"""Influence maps: one square map per neuron of a layer, each training sample drawn with an area proportional
to how strongly it pulls on that neuron's boundary, over a faint picture of the neuron's activation; the maps
fill the panel (the grid is chosen again at every resize); a size key says what the largest dot is worth."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QToolTip, QVBoxLayout, QWidget

from app.core.dataset import BLUE, RED, SampleSet
from app.core.fields import layer_field
from app.core.geometry import Rect, clip_line, grid_centres, level_curves
from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import NetworkSpec, activate, split_params
from app.ui.influence_layout import MapGrid, best_grid, format_influence, size_key, square_around
from app.ui.palette import CLASS_RGB, neuron_rgb
from app.ui.scatter import cached_scatter

TITLE_PIXELS = 18  # the band above each map's picture where the neuron's name goes
ACTIVATION_PIXELS = 48  # the faint background of each small plot
MIN_DOT, MAX_DOT = 2.0, 16.0  # dot diameters in pixels; area grows with influence
SIZE_STEPS = 14
HOVER_PIXELS = 6
PREPARE_SECONDS = 0.03
PREVIEW_INTERVAL_S = 0.15
MAPS_PER_PREVIEW = 8  # maps redrawn per frame while epochs stream in; a sharp frame redraws them all
MAX_DOTS = 2000  # per small plot: beyond, the most influential samples (the rest would be specks anyway)
SHORT_NAME_SIDE = 56  # below this map side, a map's name drops the layer ("N12" for "L1 N12")
CAPTION_GAP = 2  # pixels between a map's name and its size caption, besides the texts' margins


@dataclass(frozen=True)
class InfluenceOptions:
    layer: int = 0
    accumulated: bool = False
    include_bias: bool = True
    per_neuron_scale: bool = True


def dot_sizes(values: np.ndarray, scale: float) -> np.ndarray:
    """Diameters whose areas are proportional to the influence values (0 gets the smallest dot), in
    SIZE_STEPS steps: pyqtgraph renders one symbol per distinct size, so few sizes keep big layers fast."""
    fraction = np.clip(values / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(values)
    steps = np.round(np.sqrt(fraction) * SIZE_STEPS) / SIZE_STEPS
    return MIN_DOT + (MAX_DOT - MIN_DOT) * steps


class MapsView(pg.GraphicsView):
    """The maps' view: its scene coordinates are its pixels; `resized` asks the panel to lay them out anew."""

    resized = Signal()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class QtInfluencePanel(QWidget):
    neuronClicked = Signal(int, int)  # layer, neuron

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("The layer whose neurons are shown")
        self.mode_box = QComboBox()
        self.mode_box.addItems(["At this epoch", "Accumulated up to it"])
        self.mode_box.setToolTip(
            "Accumulated: square root of the sum over epochs of the squared influence (TracIn self-influence)"
        )
        self.bias_box = QCheckBox("Bias")
        self.bias_box.setChecked(True)
        self.bias_box.setToolTip("Include the bias in each neuron's incoming parameters")
        self.scale_box = QCheckBox("Per-neuron scale")
        self.scale_box.setChecked(True)
        self.scale_box.setToolTip("Scale dots per neuron (on) or on one scale for the whole layer (off)")
        self.status_label = QLabel()
        self.status_label.hide()
        self.key_label = QLabel()  # the size key: what a dot's area means and what the largest is worth
        self.key_label.setWordWrap(True)
        self.key_label.setToolTip("A sample's dot area is proportional to its influence on the neuron")
        self.plots_widget = MapsView(background="w")
        options = QHBoxLayout()
        for widget in (self.layer_box, self.mode_box):
            options.addWidget(widget)
        flags = QHBoxLayout()
        flags.addWidget(self.bias_box)
        flags.addWidget(self.scale_box)
        flags.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(options)
        column.addLayout(flags)
        column.addWidget(self.status_label)
        column.addWidget(self.key_label)
        column.addWidget(self.plots_widget, 1)

        self.plots: list[pg.ViewBox] = []  # one small map per neuron of the shown layer
        self.map_items: list[dict] = []
        self.values: np.ndarray = np.zeros((0, 0))  # (n_samples, n_neurons) of the shown layer
        self.sizes: np.ndarray = np.zeros((0, 0))  # the dot diameters drawn for them
        self.selected: tuple[int, int] | None = None
        self.grid: MapGrid | None = None  # where the maps are, in the view's pixels
        self._key = (False, True, [])  # accumulated, per-neuron scale, each map's largest value
        self._state = None
        self._dirty = False
        self._accumulated = None
        self._drawn_at = 0.0
        self._next_map = 0  # where the next preview frame of a wide layer starts
        for box in (self.layer_box, self.mode_box):
            box.currentIndexChanged.connect(self._options_changed)
        for box in (self.bias_box, self.scale_box):
            box.toggled.connect(self._options_changed)
        self.plots_widget.scene().sigMouseClicked.connect(self._on_click)
        self.plots_widget.scene().sigMouseMoved.connect(self._on_hover)
        self.plots_widget.resized.connect(self.lay_out)

    # --- state in ----------------------------------------------------------------------------------------
    def options(self) -> InfluenceOptions:
        return InfluenceOptions(
            layer=max(self.layer_box.currentIndex(), 0),
            accumulated=self.mode_box.currentIndex() == 1,
            include_bias=self.bias_box.isChecked(),
            per_neuron_scale=self.scale_box.isChecked(),
        )

    def set_options(self, options: InfluenceOptions) -> None:
        """Shows these options in the panel's controls (a session's saved ones)."""
        self.layer_box.setCurrentIndex(options.layer)
        self.mode_box.setCurrentIndex(1 if options.accumulated else 0)
        self.bias_box.setChecked(options.include_bias)
        self.scale_box.setChecked(options.per_neuron_scale)

    def show_state(self, spec: NetworkSpec, history: TrainingHistory, epoch: int, samples: SampleSet,
                   rect: Rect) -> None:  # fmt: skip
        """What to show: cheap, the work happens in refresh()."""
        if self._state is None or self._state[0] != spec:
            self._set_layer_names(len(spec.widths))
        if self._state is None or self._state[1] is not history or self._state[3] is not samples:
            self._accumulated = None
        self._state = (spec, history, epoch, samples, rect)
        self._dirty = True

    def set_selected(self, selected: tuple[int, int] | None) -> None:
        self.selected = selected
        self._dirty = True

    def refresh(self, preview: bool = False) -> bool:
        """Redraws if the state changed; while changes stream in (preview), at most every PREVIEW_INTERVAL_S,
        since a wide layer with many samples takes longer than a display frame."""
        if not self._dirty or self._state is None or not self.isVisible():
            return False
        if preview and time.perf_counter() - self._drawn_at < PREVIEW_INTERVAL_S:
            return False
        self._dirty = False
        spec, history, epoch, samples, rect = self._state
        rect = square_around(rect)  # square maps show the data's frame, centred
        options = self.options()
        layer = min(options.layer, len(spec.widths) - 1)
        params = history.params_at(epoch)
        if options.accumulated:
            if self._accumulated is None or self._accumulated.include_bias != options.include_bias:
                self._accumulated = AccumulatedInfluence(spec, include_bias=options.include_bias)
            # A long history is summed a little per display tick, so the window never waits for it.
            ready = self._accumulated.prepare(history, samples.points, samples.labels, PREPARE_SECONDS)
            if not ready:
                self.status_label.setText("Summing influence over the recorded epochs…")
                self.status_label.show()
                self._dirty = True
                return False
            self.status_label.hide()
            per_layer = self._accumulated.at(history, samples.points, samples.labels, epoch)
        else:
            per_layer = influence(spec, params, samples.points, samples.labels, options.include_bias)
        self.values = per_layer[layer]
        width = spec.widths[layer]
        maps = range(width)
        if preview and width > MAPS_PER_PREVIEW:  # a wide layer: a few maps per frame, in turn
            start = self._next_map % width
            maps = [(start + k) % width for k in range(MAPS_PER_PREVIEW)]
            self._next_map = start + MAPS_PER_PREVIEW
            self._dirty = True  # the others follow at the next frames
        self._draw(spec, params, layer, samples, rect, options, maps)
        self._drawn_at = time.perf_counter()
        return True

    # --- drawing -----------------------------------------------------------------------------------------
    def _set_layer_names(self, n_hidden: int) -> None:
        if self.layer_box.count() == n_hidden:
            return
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([f"Layer {k + 1}" for k in range(n_hidden)])
        self.layer_box.blockSignals(False)

    def _ensure_plots(self, count: int) -> None:
        """One square map per neuron: a bare view box with the neuron's name (and, with per-neuron scales,
        its size caption) in a band above its picture, placed by lay_out (a pyqtgraph grid layout would lay
        every map out again for each one added: two seconds for 64 maps)."""
        if len(self.plots) == count:
            return
        scene = self.plots_widget.scene()
        for box in self.plots:
            scene.removeItem(box)
        self.plots, self.map_items = [], []
        for _ in range(count):
            box = pg.ViewBox(lockAspect=True, enableMouse=False, enableMenu=False)
            scene.addItem(box)
            image = pg.ImageItem(axisOrder="row-major")
            boundary = pg.PlotCurveItem(connect="finite")
            dots = [cached_scatter(pen=pg.mkPen((30, 30, 30), width=0.6), brush=pg.mkBrush(*CLASS_RGB[c]))
                    for c in (RED, BLUE)]  # fmt: skip
            title, caption = pg.TextItem(anchor=(0, 0)), pg.TextItem(anchor=(1, 0))
            for item in (image, boundary, *dots, title, caption):
                box.addItem(item)
            self.plots.append(box)
            items = {"image": image, "boundary": boundary, "dots": dots, "title_item": title,
                     "caption_item": caption}  # fmt: skip
            self.map_items.append(items)
            box.sigResized.connect(lambda box, items=items: _frame(box, items))
        self.lay_out()

    def lay_out(self) -> None:
        """Places the maps in the grid that makes them largest in the view's current size (at every resize:
        a wider or floating panel gets larger maps), and fits their names and captions to that size."""
        view = self.plots_widget.viewport()
        self.grid = best_grid(len(self.plots), view.width(), view.height(), TITLE_PIXELS)
        for k, box in enumerate(self.plots):
            box.setGeometry(QRectF(*self.grid.cell(k)))
        self._show_texts(range(len(self.plots)))

    def _show_texts(self, maps) -> None:
        """Each map's name, short when the map is small, and its size caption where it fits beside the name;
        then the panel's key (which gives the largest values itself when the captions do not fit)."""
        side = self.grid.side if self.grid is not None else TITLE_PIXELS * 10
        for j in maps:
            items = self.map_items[j]
            name, colour, selected = items.get("title", ("", (0, 0, 0), False))
            shown = name if side >= SHORT_NAME_SIDE else name.split(" ")[-1]
            if items.get("title_shown") != (shown, colour, selected):  # HTML layout: only when it changes
                style = "color: rgb({},{},{}); font-size: 8pt; font-weight: {}".format(
                    *colour, "bold" if selected else "normal"
                )
                items["title_item"].setHtml(f"<span style='{style}'>{shown}</span>")
                items["title_shown"] = (shown, colour, selected)
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
        accumulated, per_neuron, largest = self._key
        fits = all(items["caption_item"].isVisible() for items in self.map_items)
        self.key_label.setText(size_key(accumulated, per_neuron, largest, fits))

    def _draw(self, spec, params, layer, samples, rect, options, maps) -> None:
        width = spec.widths[layer]
        self._ensure_plots(width)
        xs, ys = grid_centres(rect, ACTIVATION_PIXELS, ACTIVATION_PIXELS)
        z = layer_field(spec, params, xs, ys, layer)
        activation = activate(spec.activation, z)
        scale = float(self.values.max()) if self.values.size else 0.0
        largest = [float(self.values[:, j].max()) if self.values.size else 0.0 for j in range(width)]
        self._key = (options.accumulated, options.per_neuron_scale, largest)
        self.sizes = np.zeros_like(self.values)
        of_class = [samples.labels == c for c in (RED, BLUE)]
        weights, biases = split_params(spec, params)[layer]
        for j, (plot, items) in enumerate(zip(self.plots, self.map_items, strict=True)):
            column = self.values[:, j] if self.values.size else np.zeros(samples.n)
            neuron_scale = float(column.max()) if options.per_neuron_scale and column.size else scale
            self.sizes[:, j] = dot_sizes(column, neuron_scale)
            if j not in maps:
                continue
            colour = neuron_rgb(layer, j, spec.widths)
            items["title"] = (f"L{layer + 1} N{j + 1}", colour, self.selected == (layer, j))
            items["caption"] = f"max {format_influence(largest[j])}" if options.per_neuron_scale else ""
            picture = activation[..., j]
            low, high = float(picture.min()), float(picture.max())
            items["image"].setImage(picture, levels=(low, high if high > low else low + 1))
            items["image"].setLookupTable(_faint_lut(colour))
            items["image"].setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
            if layer == 0:
                segment = clip_line(weights[j], biases[j], rect)
                line = segment if segment is not None else np.empty((0, 2))
            else:
                line = level_curves(xs, ys, z[..., j], 0.0)
            items["boundary"].setData(line[:, 0], line[:, 1]) if len(line) else items["boundary"].clear()
            items["boundary"].setPen(pg.mkPen(colour, width=3.5 if items["title"][2] else 2))
            shown = _most_influential(column, MAX_DOTS)
            for dots, mask in zip(items["dots"], of_class, strict=True):
                chosen = shown[mask[shown]]
                dots.setData(pos=samples.points[chosen], size=self.sizes[chosen, j])
            if items.get("rect") != rect:
                items["rect"] = rect
                _frame(plot, items)
        self._show_texts(maps)
        if samples.n > MAX_DOTS:
            note = f"Each map shows the {MAX_DOTS:,} most influential of {samples.n:,} samples"
            self.status_label.setText(note)
        self.status_label.setVisible(samples.n > MAX_DOTS)

    # --- gestures out ------------------------------------------------------------------------------------
    def _plot_at(self, scene_pos) -> int | None:
        for j, plot in enumerate(self.plots):
            if plot.sceneBoundingRect().contains(scene_pos):
                return j
        return None

    def _on_click(self, event) -> None:
        j = self._plot_at(event.scenePos())
        if j is not None and self._state is not None:
            event.accept()
            self.neuronClicked.emit(min(self.options().layer, len(self._state[0].widths) - 1), j)

    def sample_near(self, plot_index: int, scene_pos) -> int | None:
        """Index of the sample drawn within HOVER_PIXELS of scene_pos in that small plot."""
        if self._state is None or self._state[3].n == 0:
            return None
        box = self.plots[plot_index]
        points = self._state[3].points
        pixel = box.mapSceneToView(scene_pos)
        scale = box.viewPixelSize()[0]
        distances = np.hypot(points[:, 0] - pixel.x(), points[:, 1] - pixel.y())
        i = int(np.argmin(distances))
        return i if distances[i] <= HOVER_PIXELS * scale else None

    def describe_sample(self, i: int) -> str:
        """A small bar chart (rich text) of sample i's influence on every neuron of the shown layer."""
        spec = self._state[0]
        layer = min(self.options().layer, len(spec.widths) - 1)
        row = self.values[i]
        top = float(row.max()) if row.size and row.max() > 0 else 1.0
        lines = [f"<b>Sample {i + 1}</b>: influence on layer {layer + 1}"]
        for j, value in enumerate(row):
            r, g, b = neuron_rgb(layer, j, spec.widths)
            bar = "█" * max(1, int(round(20 * value / top))) if value > 0 else ""
            lines.append(
                f"N{j + 1} <span style='color:rgb({r},{g},{b})'>{bar}</span> {format_influence(value)}"
            )
        return "<br>".join(lines)

    def _on_hover(self, scene_pos) -> None:
        j = self._plot_at(scene_pos)
        i = self.sample_near(j, scene_pos) if j is not None and self.values.size else None
        if i is None:
            QToolTip.hideText()
            return
        QToolTip.showText(QCursor.pos(), self.describe_sample(i), self)

    def _options_changed(self) -> None:
        self._dirty = True
        self.refresh()


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


def _faint_lut(rgb: tuple[int, int, int]) -> np.ndarray:
    """White (low activation) to a pale tint of the neuron's colour (high activation)."""
    t = np.linspace(0.0, 0.35, 256)[:, None]
    return np.round(255 + (np.array(rgb, dtype=float) - 255) * t).astype(np.uint8)


def _most_influential(values: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the samples to draw: all of them, or the `limit` with the largest values."""
    if len(values) <= limit:
        return np.arange(len(values))
    return np.sort(np.argpartition(values, len(values) - limit)[-limit:])
