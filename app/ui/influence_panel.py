"""Influence maps: one square map per neuron of a layer, each training sample drawn with an area proportional
to how strongly it pulls on that neuron's boundary, over a faint picture of the neuron's activation; the maps
fill the panel (the grid is chosen again at every resize); a size key says what the largest dot is worth.
With the interpretable network shown and built for the samples shown, its first-layer lines follow in a
second titled group at the same map size, each with the support vectors that set it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QToolTip, QVBoxLayout, QWidget

from app.core.dataset import SampleSet
from app.core.essence import EssenceNetwork
from app.core.fields import layer_field
from app.core.geometry import Rect, clip_line, grid_centres, level_curves
from app.core.history import TrainingHistory
from app.core.influence import AccumulatedInfluence, influence
from app.core.network import NetworkSpec, activate, split_params
from app.ui.influence_essence import EssenceMaps, same_samples
from app.ui.influence_layout import (
    MARGIN,
    best_grid,
    fitting_height,
    format_influence,
    size_key,
    square_around,
    stacked_grids,
)
from app.ui.influence_maps import (
    ACTIVATION_PIXELS,
    MAX_DOTS,
    TITLE_PIXELS,
    MapContent,
    MapGroup,
    MapsView,
    bars_text,
    dot_sizes,
    faint_lut,
    heading_html,
)
from app.ui.palette import neuron_rgb

PREPARE_SECONDS = 0.03
PREVIEW_INTERVAL_S = 0.15
MAPS_PER_PREVIEW = 8  # maps redrawn per frame while epochs stream in; a sharp frame redraws them all


@dataclass(frozen=True)
class InfluenceOptions:
    layer: int = 0
    accumulated: bool = False
    include_bias: bool = True
    per_neuron_scale: bool = True


class QtInfluencePanel(QWidget):
    neuronClicked = Signal(int, int)  # layer, neuron
    neuronMenuRequested = Signal(int, int)  # a right-click on a map: the neuron's menu (surgery)

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

        self.trained = MapGroup(self.plots_widget)  # one small map per neuron of the shown layer
        self.essence_maps = EssenceMaps(self.plots_widget)  # and the interpretable network's lines, if shown
        self.values: np.ndarray = np.zeros((0, 0))  # (n_samples, n_neurons) of the shown layer
        self.sizes: np.ndarray = np.zeros((0, 0))  # the dot diameters drawn for them
        self.selected: tuple[int, int] | None = None
        self._key = (False, True, [])  # accumulated, per-neuron scale, each map's largest value
        self._layer = 0  # the layer the maps show
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

    @property
    def plots(self) -> list[pg.ViewBox]:
        """The trained network's maps."""
        return self.trained.plots

    @property
    def map_items(self) -> list[dict]:
        return self.trained.map_items

    @property
    def grid(self):
        return self.trained.grid

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
        # (the window's training part is a new object at every call: equal samples are the same samples)
        new_samples = self._state is None or not same_samples(self._state[3], samples)
        if new_samples or self._state[1] is not history:
            self._accumulated = None
        self._state = (spec, history, epoch, samples, rect)
        if new_samples:
            self.essence_maps.follow(samples)
        self._dirty = True

    def show_essence(self, enn: EssenceNetwork | None, samples: SampleSet | None) -> None:
        """The interpretable network (None: none) and the training samples it was built from: its lines' maps
        are shown while it is shown in the window (set_essence_shown) and these are the samples shown here."""
        self.essence_maps.set_network(enn, samples, self._state[3] if self._state is not None else None)
        self._dirty = True

    def set_essence_shown(self, shown: bool) -> None:
        self.essence_maps.wanted = shown
        self._dirty = True

    def essence_shown(self) -> bool:
        """Whether the panel shows (or at its next refresh, will show) the interpretable network's maps."""
        return self.essence_maps.shown

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
        lines = self.essence_maps.count
        relaid = self.trained.ensure(width) | self.essence_maps.group.ensure(lines)
        if relaid:
            self.lay_out()
        maps = range(width)
        if preview and width > MAPS_PER_PREVIEW:  # a wide layer: a few maps per frame, in turn
            start = self._next_map % width
            maps = [(start + k) % width for k in range(MAPS_PER_PREVIEW)]
            self._next_map = start + MAPS_PER_PREVIEW
            self._dirty = True  # the others follow at the next frames
        self._draw(spec, params, layer, samples, rect, options, maps)
        if lines and self.essence_maps.draw(samples, rect, options.per_neuron_scale, again=relaid):
            self._show_texts(())
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

    def lay_out(self) -> None:
        """Places the maps in the grid that makes them largest in the view's current size (at every resize:
        a wider or floating panel gets larger maps), and fits their names and captions to that size. With
        the interpretable network's maps, the two groups stand one under the other, each under its heading
        (the group's name and size key), every map of both the same size."""
        view = self.plots_widget.viewport()
        width, height = view.width(), view.height()
        if not self.essence_maps.group.plots:
            self.trained.set_heading(None, 0)
            self.essence_maps.group.set_heading(None, 0)
            self.trained.place(best_grid(len(self.trained.plots), width, height, TITLE_PIXELS))
            self._show_texts(range(len(self.trained.plots)))
            return
        groups = (self.trained, self.essence_maps.group)
        heights = self._heading_heights(width)
        grids = stacked_grids([len(g.plots) for g in groups], width, height, TITLE_PIXELS, heights)
        for group, grid, heading in zip(groups, grids, heights, strict=True):
            group.place(grid, heading)
        self._show_texts(range(len(self.trained.plots)))

    def _heading_heights(self, width: float) -> list[float]:
        """Room for the taller of each group's heading's two forms (with or without the largest values)."""
        groups = (self.trained, self.essence_maps.group)
        return [
            max(groups[g].set_heading(self._headings(fits)[g], width - 2 * MARGIN) for fits in (True, False))
            for g in range(2)
        ]

    def height_for_maps(self, most: int) -> int:
        """The panel's height, up to `most`, that gives its maps at its width the size they get at `most`:
        a picture of the panel with no blank below its maps (the export of both networks' maps)."""
        view = self.plots_widget.viewport()
        groups = [group for group in (self.trained, self.essence_maps.group) if group.plots]
        headings = self._heading_heights(view.width()) if len(groups) == 2 else [0.0]
        chrome = self.height() - view.height()  # the panel's margins, its key or status above the maps
        needed = fitting_height(
            [len(g.plots) for g in groups], view.width(), TITLE_PIXELS, headings, most - chrome
        )
        self._show_texts(())  # the headings as they were
        return needed + chrome

    def _headings(self, captions_shown: bool) -> tuple[str, str]:
        """The two groups' headings: the network and what its dots' size means."""
        accumulated, per_neuron, largest = self._key
        trained = size_key(accumulated, per_neuron, largest, captions_shown)
        essence = self.essence_maps.key(per_neuron, captions_shown)
        title = f"Trained network: layer {self._layer + 1}"
        return heading_html(title, trained), heading_html(self.essence_maps.heading, essence)

    def _show_texts(self, maps) -> None:
        """Each map's name and caption; then the size keys, which give the largest values themselves when the
        maps are too small for their captions: above the maps, or in each group's heading."""
        accumulated, per_neuron, largest = self._key
        fits = self.trained.show_texts(maps)
        essence = self.essence_maps.group
        if not essence.plots:
            self.key_label.setText(size_key(accumulated, per_neuron, largest, fits))
            self.key_label.show()
            return
        self.key_label.hide()
        essence_fits = essence.show_texts(range(len(essence.plots)))
        width = self.plots_widget.viewport().width() - 2 * MARGIN
        self.trained.set_heading(self._headings(fits)[0], width)
        essence.set_heading(self._headings(essence_fits)[1], width)

    def _draw(self, spec, params, layer, samples, rect, options, maps) -> None:
        width = spec.widths[layer]
        xs, ys = grid_centres(rect, ACTIVATION_PIXELS, ACTIVATION_PIXELS)
        z = layer_field(spec, params, xs, ys, layer)
        activation = activate(spec.activation, z)
        scale = float(self.values.max()) if self.values.size else 0.0
        largest = [float(self.values[:, j].max()) if self.values.size else 0.0 for j in range(width)]
        self._key = (options.accumulated, options.per_neuron_scale, largest)
        self._layer = layer
        self.sizes = np.zeros_like(self.values)
        weights, biases = split_params(spec, params)[layer]
        for j in range(width):
            column = self.values[:, j] if self.values.size else np.zeros(samples.n)
            neuron_scale = float(column.max()) if options.per_neuron_scale and column.size else scale
            self.sizes[:, j] = dot_sizes(column, neuron_scale)
            if j not in maps:
                continue
            colour, selected = neuron_rgb(layer, j, spec.widths), self.selected == (layer, j)
            picture = activation[..., j]
            low, high = float(picture.min()), float(picture.max())
            if layer == 0:
                segment = clip_line(weights[j], biases[j], rect)
                line = segment if segment is not None else np.empty((0, 2))
            else:
                line = level_curves(xs, ys, z[..., j], 0.0)
            content = MapContent(
                name=f"L{layer + 1} N{j + 1}", short_name=f"N{j + 1}", colour=colour, bold=selected,
                caption=f"max {format_influence(largest[j])}" if options.per_neuron_scale else "",
                picture=picture, levels=(low, high if high > low else low + 1), lut=faint_lut(colour),
                line=line, pen=pg.mkPen(colour, width=3.5 if selected else 2), sizes=self.sizes[:, j],
            )  # fmt: skip
            self.trained.draw(j, content, rect, samples.points, samples.labels)
        self._show_texts(maps)
        if samples.n > MAX_DOTS:
            note = f"Each map shows the {MAX_DOTS:,} most influential of {samples.n:,} samples"
            self.status_label.setText(note)
        self.status_label.setVisible(samples.n > MAX_DOTS)

    # --- gestures out ------------------------------------------------------------------------------------
    def _on_click(self, event) -> None:
        j = self.trained.plot_at(event.scenePos())
        if j is not None and self._state is not None:
            event.accept()
            neuron = (min(self.options().layer, len(self._state[0].widths) - 1), j)
            right = event.button() == Qt.MouseButton.RightButton
            (self.neuronMenuRequested if right else self.neuronClicked).emit(*neuron)

    def sample_near(self, plot_index: int, scene_pos) -> int | None:
        """Index of the sample drawn within HOVER_PIXELS of scene_pos in that small plot."""
        if self._state is None:
            return None
        return self.trained.sample_near(plot_index, scene_pos, self._state[3].points)

    def describe_sample(self, i: int) -> str:
        """A small bar chart (rich text) of sample i's influence on every neuron of the shown layer."""
        spec = self._state[0]
        layer = min(self.options().layer, len(spec.widths) - 1)
        rows = [(f"N{j + 1}", neuron_rgb(layer, j, spec.widths)) for j in range(self.values.shape[1])]
        return bars_text(f"<b>Sample {i + 1}</b>: influence on layer {layer + 1}", rows, self.values[i])

    def _on_hover(self, scene_pos) -> None:
        text = None
        j = self.trained.plot_at(scene_pos)
        essence = self.essence_maps
        k = essence.group.plot_at(scene_pos) if j is None else None
        if j is not None and self.values.size:
            i = self.sample_near(j, scene_pos)
            text = self.describe_sample(i) if i is not None else None
        elif k is not None and essence.network is not None and self._state is not None:
            i = essence.group.sample_near(k, scene_pos, self._state[3].points)
            text = essence.describe(i) if i is not None else None
        if text is None:
            QToolTip.hideText()
            return
        QToolTip.showText(QCursor.pos(), text, self)

    def _options_changed(self) -> None:
        self._dirty = True
        self.refresh()
