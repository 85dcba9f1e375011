"""The network diagram: inputs, hidden neurons in their colours and the output (more than two classes: one
node per class, in the class's colour and named beside it), with edges coloured by the weight's sign and
thickened by its size. Clicking a hidden neuron asks for it to be selected."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QCursor, QMouseEvent, QPen
from PySide6.QtWidgets import QToolTip

from app.core.dataset import default_class_names
from app.core.network import NetworkSpec, split_params
from app.ui.class_colours import class_rgb
from app.ui.palette import neuron_rgb

POSITIVE_RGB = (204, 85, 0)  # dark orange
NEGATIVE_RGB = (45, 95, 190)  # blue
INPUT_RGB = (225, 225, 225)
OUTPUT_RGB = (110, 110, 110)
# Edge thickness per |weight| bucket. Qt draws 1-pixel lines far faster than wider ones, so the two crowded
# low buckets stay at most 1 pixel wide; the paler colours of weak edges are opaque for the same reason.
EDGE_WIDTHS = (0.5, 1.0, 2.0, 3.0, 4.5, 6.0)
EDGE_PALENESS = (0.7, 0.5, 0.3, 0.15, 0.0, 0.0)  # fraction of white mixed into the sign's colour
WIDTH_BUCKETS = len(EDGE_WIDTHS)
MAX_EDGES = 4000  # a bigger network shows its strongest weights only: all of them are a mass, slow to paint
SMOOTH_EDGES = 2000  # antialias the edges of networks with at most this many (it is slow for many)
MAX_NODE_PIXELS, MIN_NODE_PIXELS = 30.0, 3.0
MAX_SPACING = 0.25  # vertical distance of neighbour nodes, as a fraction of the diagram's height
HEADING_Y = 0.5  # the headings' bottom; every node (and circle) lies between -HEADING_Y and it
# The view range leaves these margins in pixels, whatever the panel's size: the headings' height above
# HEADING_Y (so that they stay inside the plot, clear of the legend above it), room below the nodes, and
# half a node (or half the output's label) beside the first and last columns, and the class names beside the
# outputs of more than two classes.
HEADING_GAP, BOTTOM_PIXELS, SIDE_GAP = 1.0, 4.0, 3.0
NAME_GAP = 3.0  # pixels between an output node and its class's name beside it (more than two classes)
NAME_CHARS = 10  # a longer class name is cut short there; the node's tooltip gives it whole
LEGEND = (  # two short lines: a wider title would widen the plot beyond a narrow dock, cutting off its right
    f"<span style='color:rgb{POSITIVE_RGB}'>▬ positive</span>&nbsp;&nbsp;"
    f"<span style='color:rgb{NEGATIVE_RGB}'>▬ negative</span> weight<br>thicker: stronger"
)
NODE_PEN = pg.mkPen((60, 60, 60), width=1)
FADED_PEN = pg.mkPen((60, 60, 60, 50), width=1)
SELECTED_PEN = pg.mkPen((0, 0, 0), width=3.5)
ACTIVE_PEN = pg.mkPen((250, 190, 0), width=3)  # a neuron on in the clicked region


def edge_pen(positive: bool, bucket: int, thinning: float = 1.0) -> QPen:
    """Pen of the edges of one sign and |weight| bucket: weak edges are thinner and paler."""
    rgb = np.array(POSITIVE_RGB if positive else NEGATIVE_RGB)
    colour = np.round(rgb + (255 - rgb) * EDGE_PALENESS[bucket]).astype(int)
    return pg.mkPen(tuple(colour), width=max(EDGE_WIDTHS[0], EDGE_WIDTHS[bucket] * thinning))


class QtNetworkView(pg.PlotWidget):
    neuronClicked = Signal(int, int)  # hidden layer, neuron (both 0-based)
    neuronMenuRequested = Signal(int, int)  # a right-click on a hidden neuron: its menu (surgery)

    def __init__(self, parent=None):
        super().__init__(parent=parent, background="w")
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        self.plotItem.hideAxis("left")
        self.plotItem.hideAxis("bottom")
        self.plotItem.setTitle(LEGEND, size="8pt", color=(80, 80, 80))
        self.view_box = self.plotItem.getViewBox()
        self.view_box.setMouseEnabled(x=False, y=False)
        self.view_box.disableAutoRange()
        # Thin edges first so that the strong ones stay visible on top of the crowd.
        self.edge_curves: dict[tuple[bool, int], pg.PlotCurveItem] = {}
        for positive in (True, False):
            for bucket in range(WIDTH_BUCKETS):
                curve = pg.PlotCurveItem(connect="pairs")
                curve.setSegmentedLineMode("on")  # separate segments: much faster than one wide path
                curve.setZValue(bucket)
                self.addItem(curve)
                self.edge_curves[(positive, bucket)] = curve
        self.nodes = pg.ScatterPlotItem(pxMode=True)
        self.nodes.setZValue(100)
        self.addItem(self.nodes)
        self.labels: list[pg.TextItem] = []
        self.out_label: pg.TextItem | None = None  # two classes: "out" inside the one output node
        self.name_labels: list[pg.TextItem] = []  # more: each output node's class name, beside it
        self.class_names: tuple[str, ...] = ()
        self.spec: NetworkSpec | None = None
        self.selected: tuple[int, int] | None = None
        self.active: np.ndarray | None = None  # a region's activation pattern: its off neurons fade
        self.switched_off: frozenset[tuple[int, int]] = frozenset()  # neurons whose outgoing weights are 0
        self.hover_text = ""
        self._biases: list[np.ndarray] = []
        self._output_biases = np.zeros(0)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_hover)
        self.view_box.sigResized.connect(self._lay_out)

    # --- model state in -------------------------------------------------------------------------------
    def show_network(self, spec: NetworkSpec, params: np.ndarray) -> None:
        """Redraws the edges for these parameters; rebuilds the nodes only when the architecture changed."""
        if self.spec is None or spec.layer_sizes != self.spec.layer_sizes:
            self._build(spec)
        self.spec = spec
        off = _switched_off(spec, params)
        if off != self.switched_off:
            self.switched_off = off
            self._style_nodes()
        weights = np.nan_to_num(params[self.weight_index])
        self._biases = [params[index] for index in self._bias_index]
        self._output_biases = params[self._output_bias_index]
        largest = np.max(np.abs(weights), initial=0.0)
        shown = np.arange(len(weights))
        if len(weights) > MAX_EDGES:
            shown = np.argpartition(np.abs(weights), -MAX_EDGES)[-MAX_EDGES:]
        weights = weights[shown]
        scaled = np.abs(weights) / largest if largest > 0 else np.zeros_like(weights)
        buckets = np.minimum((scaled * WIDTH_BUCKETS).astype(np.intp), WIDTH_BUCKETS - 1)
        keys = np.where(weights >= 0, 0, WIDTH_BUCKETS) + buckets
        order = shown[np.argsort(keys, kind="stable")]
        ends = np.cumsum(np.bincount(keys, minlength=2 * WIDTH_BUCKETS))
        xs, ys = self._edge_x[order], self._edge_y[order]
        start = 0
        for key, end in enumerate(ends):
            positive, bucket = key < WIDTH_BUCKETS, key % WIDTH_BUCKETS
            curve = self.edge_curves[(positive, bucket)]
            curve.setData(xs[start:end].ravel(), ys[start:end].ravel(), antialias=self._smooth_edges)
            start = end

    def set_class_names(self, names: tuple[str, ...]) -> None:
        """The samples' class names: with more than two classes, each output node is named after its class
        (without names, or with too few, "class 3" and so on)."""
        names = tuple(names)
        if names == self.class_names:
            return
        self.class_names = names
        if self.name_labels:
            for k, label in enumerate(self.name_labels):
                label.setText(self._short_name(k))
            self._lay_out()

    def class_name(self, k: int) -> str:
        """The name of class k (0-based), the output node k's."""
        names = self.class_names
        return names[k] if k < len(names) else default_class_names(k + 1)[k]

    def _short_name(self, k: int) -> str:
        name = self.class_name(k)
        return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"

    def set_selected(self, layer: int | None, neuron: int | None) -> None:
        """Outlines hidden neuron (layer, neuron) and fades the other neurons; None clears."""
        self.selected = None if layer is None or neuron is None else (layer, neuron)
        self._style_nodes()

    def set_active(self, pattern: np.ndarray | None) -> None:
        """Lights the hidden neurons that are on in `pattern` (every hidden neuron's sign, layer after
        layer) and fades the others; None shows them all alike."""
        self.active = None if pattern is None else np.asarray(pattern, dtype=bool)
        self._style_nodes()

    # --- layout -----------------------------------------------------------------------------------------
    def _build(self, spec: NetworkSpec) -> None:
        sizes = spec.layer_sizes
        count = np.repeat(sizes, sizes)  # nodes in each node's column
        self.node_column = np.repeat(np.arange(len(sizes)), sizes)
        self.node_row = np.concatenate([np.arange(n) for n in sizes])
        self._spacing = np.minimum(MAX_SPACING, 1.0 / count)
        heights = ((count - 1) / 2 - self.node_row) * self._spacing  # each column centred on 0
        self.node_xy = np.column_stack([self.node_column, heights]).astype(float)
        self._colours = [
            self._node_rgb(spec, c, r) for c, r in zip(self.node_column, self.node_row, strict=True)
        ]
        self._index_edges(sizes)
        # Wide layers crowd their edges together, so their edges get thinner.
        thinning = min(1.0, np.sqrt(8 / max(spec.widths)))
        for (positive, bucket), curve in self.edge_curves.items():
            curve.setPen(edge_pen(positive, bucket, thinning))
        self._place_labels(last=len(sizes) - 1)
        self.spec = spec  # before _style_nodes, which reads it
        self.switched_off = frozenset()  # the old network's: show_network finds this one's
        self._lay_out()

    def _lay_out(self, *_args) -> None:
        self._fit_range()
        self._place_names()
        self._style_nodes()

    def _output_rows(self) -> np.ndarray:
        """Indices of the output nodes (the last column's)."""
        return np.flatnonzero(self.node_column == self.node_column[-1])

    def _place_names(self) -> None:
        """Each class's name just right of its output node, at the node's pixel size in this view."""
        if not self.name_labels:
            return
        outputs = self._output_rows()
        radius = self.node_pixels()[outputs[0]] / 2
        x = self.node_xy[outputs[0], 0] + (radius + NAME_GAP) * self.view_box.viewPixelSize()[0]
        for label, y in zip(self.name_labels, self.node_xy[outputs, 1], strict=True):
            label.setPos(x, y)

    def _fit_range(self) -> None:
        """Frames the columns and nodes with fixed pixel margins: the headings fit above the nodes inside
        the plot, and the first and last columns' circles (the output's label too) inside the view."""
        if self.spec is None:
            return
        last = len(self.spec.layer_sizes) - 1
        heading = max(label.textItem.boundingRect().height() for label in self.labels) + HEADING_GAP
        left = MAX_NODE_PIXELS / 2 + SIDE_GAP
        right = max(MAX_NODE_PIXELS, self._output_pixels()) / 2 + SIDE_GAP
        bottom = BOTTOM_PIXELS
        if self.name_labels:  # the names beside the outputs, the lowest one's lower half below its node
            right += NAME_GAP + max(label.textItem.boundingRect().width() for label in self.name_labels)
            bottom = max(bottom, self.name_labels[-1].textItem.boundingRect().height() / 2)
        width = max(self.view_box.width() - left - right, 20.0)
        height = max(self.view_box.height() - heading - bottom, 20.0)
        unit_x, unit_y = last / width, 2 * HEADING_Y / height  # view units per pixel
        self.view_box.setRange(xRange=(-left * unit_x, last + right * unit_x),
                               yRange=(-HEADING_Y - bottom * unit_y, HEADING_Y + heading * unit_y),
                               padding=0)  # fmt: skip

    def _output_pixels(self) -> float:
        """The output node's least diameter: its white label "out" must lie inside it (two classes)."""
        return self.out_label.textItem.boundingRect().width() if self.out_label is not None else 0.0

    def _index_edges(self, sizes: tuple[int, ...]) -> None:
        """Where each weight (row-major W (out, in), as in network.py) and bias sits in the flat vector,
        with the end points of each weight's edge, so that each epoch needs only a gather."""
        weight_index, bias_index, edge_x, edge_y = [], [], [], []
        offset, first = 0, np.cumsum((0, *sizes))
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            weight_index.append(offset + np.arange(n_in * n_out))
            bias_index.append(offset + n_in * n_out + np.arange(n_out))
            offset += n_in * n_out + n_out
            source = np.tile(first[layer] + np.arange(n_in), n_out)
            target = np.repeat(first[layer + 1] + np.arange(n_out), n_in)
            edge_x.append(np.column_stack([self.node_xy[source, 0], self.node_xy[target, 0]]))
            edge_y.append(np.column_stack([self.node_xy[source, 1], self.node_xy[target, 1]]))
        self.weight_index = np.concatenate(weight_index)  # edge k draws params[weight_index[k]]
        self._bias_index = bias_index[:-1]  # hidden layers'
        self._output_bias_index = bias_index[-1]  # the output's: in the tooltip of more than two classes
        self._edge_x, self._edge_y = np.concatenate(edge_x), np.concatenate(edge_y)
        self._smooth_edges = len(self._edge_x) <= SMOOTH_EDGES
        n_weights = len(self._edge_x)
        strongest = f"<br>the {MAX_EDGES:,} strongest of {n_weights:,}" if n_weights > MAX_EDGES else ""
        self.plotItem.setTitle(LEGEND + strongest, size="8pt", color=(80, 80, 80))
        height = max(30.0, self.plotItem.titleLabel.item.boundingRect().height())  # pyqtgraph allows 30 px
        self.plotItem.titleLabel.setMaximumHeight(height)
        self.plotItem.layout.setRowFixedHeight(0, height)

    def _place_labels(self, last: int) -> None:
        """Names the inputs inside their circles and heads the hidden columns L1, L2, ...; names the one
        output "out" inside its circle, or, for more than two classes, heads their column "out" and names
        each output node after its class, beside it (placed by _place_names)."""
        for label in self.labels:
            self.removeItem(label)
        dark, white, grey = (40, 40, 40), (255, 255, 255), (80, 80, 80)
        places = [("x", 0, self.node_xy[0, 1], dark), ("y", 0, self.node_xy[1, 1], dark)]
        outputs = self._output_rows()
        one_output = len(outputs) == 1
        places += [("out", last, 0, white)] if one_output else [("out", last, HEADING_Y, grey)]
        places += [(f"L{k}", k, HEADING_Y, grey) for k in range(1, last)]
        self.labels = []
        for text, x, y, colour in places:
            label = pg.TextItem(text, colour, anchor=(0.5, 1.0 if y == HEADING_Y else 0.5))
            label.setPos(x, y)
            label.setZValue(101)
            self.addItem(label)
            self.labels.append(label)
        self.out_label = self.labels[2] if one_output else None
        self.name_labels = []
        for k in range(0 if one_output else len(outputs)):
            label = pg.TextItem(self._short_name(k), dark, anchor=(0.0, 0.5))
            label.setZValue(101)
            self.addItem(label)
            self.labels.append(label)
            self.name_labels.append(label)

    @staticmethod
    def _node_rgb(spec: NetworkSpec, column: int, row: int) -> tuple[int, int, int]:
        if column == 0:
            return INPUT_RGB
        if column == len(spec.layer_sizes) - 1:
            return OUTPUT_RGB if spec.layer_sizes[-1] == 1 else class_rgb(row)
        return neuron_rgb(column - 1, row, spec.widths)

    def _is_hidden_column(self, column: np.ndarray | int) -> np.ndarray | bool:
        return (column > 0) & (column < len(self.spec.layer_sizes) - 1)

    def node_pixels(self) -> np.ndarray:
        """Diameter of each node in pixels, to fit between its neighbours; all hidden nodes get the size of
        the most crowded hidden layer's."""
        pixel_w, pixel_h = self.view_box.viewPixelSize()
        fit = np.minimum(0.6 * self._spacing / max(pixel_h, 1e-9), 0.4 / max(pixel_w, 1e-9))
        hidden = self._is_hidden_column(self.node_column)
        fit[hidden] = fit[hidden].min()
        sizes = np.clip(fit, MIN_NODE_PIXELS, MAX_NODE_PIXELS)
        sizes[-1] = max(sizes[-1], self._output_pixels())
        return sizes

    def _style_nodes(self, *_args) -> None:
        if self.spec is None:
            return
        layer, neuron = self.selected or (0, 0)
        if not (0 <= layer < len(self.spec.widths) and 0 <= neuron < self.spec.widths[layer]):
            self.selected = None  # that neuron is gone with the old architecture
        sizes = self.node_pixels()
        brushes = [pg.mkBrush(rgb) for rgb in self._colours]
        pens = [NODE_PEN] * len(sizes)
        hidden = np.flatnonzero(self._is_hidden_column(self.node_column))
        if self.active is not None and len(self.active) == len(hidden):
            for k, on in zip(hidden, self.active, strict=True):
                if on:
                    pens[k] = ACTIVE_PEN
                else:
                    brushes[k], pens[k] = pg.mkBrush((*self._colours[k], 40)), FADED_PEN
        starts = np.cumsum((0, *self.spec.layer_sizes))
        widths = self.spec.widths
        for layer, neuron in self.switched_off:  # hollow, dashed: its output reaches nothing
            if layer < len(widths) and neuron < widths[layer]:  # not a neuron of another network
                k = int(starts[layer + 1] + neuron)
                dashed = pg.mkPen(self._colours[k], width=2, style=Qt.PenStyle.DashLine)
                brushes[k], pens[k] = pg.mkBrush(255, 255, 255), dashed
        if self.selected is not None:
            chosen = int(starts[self.selected[0] + 1] + self.selected[1])
            for k in np.flatnonzero(self._is_hidden_column(self.node_column)):
                brushes[k], pens[k] = pg.mkBrush((*self._colours[k], 60)), FADED_PEN
            brushes[chosen], pens[chosen] = pg.mkBrush(self._colours[chosen]), SELECTED_PEN
            sizes[chosen] = min(sizes[chosen] * 1.4 + 4, MAX_NODE_PIXELS * 1.4)
        self.nodes.setData(pos=self.node_xy, size=sizes, brush=brushes, pen=pens)

    # --- mouse ------------------------------------------------------------------------------------------
    def node_at(self, x: float, y: float) -> int | None:
        """Index of the node whose circle contains the view point (x, y), if any."""
        if self.spec is None:
            return None
        pixel_w, pixel_h = self.view_box.viewPixelSize()
        distance = np.hypot((self.node_xy[:, 0] - x) / pixel_w, (self.node_xy[:, 1] - y) / pixel_h)
        k = int(np.argmin(distance))
        return k if distance[k] <= self.nodes.data["size"][k] / 2 + 1 else None

    def hidden_node_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, neuron) of the hidden neuron whose circle contains the view point (x, y), if any."""
        return self._as_neuron(self.node_at(x, y))

    def _as_neuron(self, k: int | None) -> tuple[int, int] | None:
        """(layer, neuron) of node k where it is a hidden neuron."""
        if k is None or not self._is_hidden_column(int(self.node_column[k])):
            return None
        return int(self.node_column[k]) - 1, int(self.node_row[k])

    def describe_neuron(self, layer: int, neuron: int) -> str:
        off = " · switched off: its outgoing weights are 0" if (layer, neuron) in self.switched_off else ""
        return f"L{layer + 1} N{neuron + 1}: bias {self._biases[layer][neuron]:.3g}{off}"

    def describe_node(self, k: int) -> str:
        """Node k's tooltip: a hidden neuron's name and bias; an output's class and bias where the outputs
        are one per class; nothing for the inputs and the one output of two classes."""
        column, row = int(self.node_column[k]), int(self.node_row[k])
        if self._is_hidden_column(column):
            return self.describe_neuron(column - 1, row)
        if self.name_labels and column == self.node_column[-1]:
            return f"Output {row + 1}, {self.class_name(row)}: bias {self._output_biases[row]:.3g}"
        return ""

    def _node_under(self, scene_pos: QPointF) -> int | None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        return self.node_at(point.x(), point.y())

    def _neuron_under(self, scene_pos: QPointF) -> tuple[int, int] | None:
        return self._as_neuron(self._node_under(scene_pos))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        event.accept()  # no item takes presses (pan and zoom are off); they are ours, not the parent's

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        event.accept()

    def _on_click(self, event) -> None:
        found = self._neuron_under(event.scenePos())
        if found is not None and not event.double():
            event.accept()
            if event.button() == Qt.MouseButton.RightButton:
                self.neuronMenuRequested.emit(*found)
            else:
                self.neuronClicked.emit(*found)

    def _on_hover(self, scene_pos: QPointF) -> None:
        k = self._node_under(scene_pos)
        text = self.describe_node(k) if k is not None else ""
        if text != self.hover_text:
            self.hover_text = text
            QToolTip.showText(QCursor.pos(), text, self) if text else QToolTip.hideText()


def _switched_off(spec: NetworkSpec, params: np.ndarray) -> frozenset[tuple[int, int]]:
    """The hidden neurons whose output reaches nothing: every outgoing weight 0 (switched off)."""
    layers = split_params(spec, params)
    return frozenset((layer, int(n)) for layer in range(len(spec.widths))
                     for n in np.flatnonzero(~layers[layer + 1][0].any(axis=0)))  # fmt: skip
