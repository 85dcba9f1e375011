"""The hidden-space view: the samples in the space of one hidden layer (two of its neurons, or its first two
principal components), the input plane's grid carried through the layers, and the next layer's neurons as
the straight lines they are there. It draws the session model's epoch at the frame scheduler's pace."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QCursor, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from app.core.dataset import SampleSet
from app.core.fields import ClassField, class_ties
from app.core.geometry import Rect, clip_line
from app.core.hidden_space import (
    GRID_LINES,
    HiddenAxes,
    HiddenPicture,
    fit_points,
    hidden_picture,
    neuron_axes,
    plane_logits,
    principal_axes,
    with_gaps,
)
from app.core.network import NetworkSpec
from app.ui.class_colours import class_background, class_scatters
from app.ui.palette import neuron_rgb, prediction_lut

PRINCIPAL, NEURONS = "principal components", "two neurons"
GRID_RGB = (175, 175, 175)
DECISION_RGB = (40, 40, 40)
HOVER_PIXELS = 8  # how close the cursor must be to a sample to name it
MARGIN = 0.06  # of the content's extent, on every side
LABEL_INSET = 0.06  # a line's name and tick keep this share of the view from its edges
TICK_PIXELS = 14
MIN_ASPECT = 0.25  # neither axis spans less than this share of the other: a flat cloud stays flat
MIN_PLOT_SIZE = (200, 120)  # small: the dock shares a crowded corner (its caption below must fit)


def _box(*arrays: np.ndarray) -> tuple[float, float, float, float] | None:
    """(xmin, xmax, ymin, ymax) of the finite points of (…, 2) arrays, or None."""
    points = np.concatenate([a.reshape(-1, 2) for a in arrays])
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return None
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(x1), float(y0), float(y1)


def _view_rect(box: tuple[float, float, float, float] | None) -> Rect:
    """The view around the content's box: a margin on every side, and neither side shorter than MIN_ASPECT
    of the other."""
    x0, x1, y0, y1 = box or (-1.0, 1.0, -1.0, 1.0)
    width, height = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    grow_x, grow_y = max(MIN_ASPECT * height - width, 0.0) / 2, max(MIN_ASPECT * width - height, 0.0) / 2
    pad = MARGIN * max(width, height)
    return Rect(x0 - grow_x - pad, x1 + grow_x + pad, y0 - grow_y - pad, y1 + grow_y + pad)


def _union(a, b):
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


class QtHiddenSpaceView(QWidget):
    sampleHovered = Signal(object)  # the index of the sample under the cursor, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("The hidden layer whose space is shown")
        self.axes_box = QComboBox()
        self.axes_box.addItems([PRINCIPAL, NEURONS])
        self.axes_box.setToolTip(
            "The axes: the layer's first two principal components (fitted once, at the newest epoch, kept "
            "while you scrub), or two of its neurons"
        )
        self.x_box, self.y_box = QComboBox(), QComboBox()
        self.x_box.setToolTip("The neuron on the horizontal axis")
        self.y_box.setToolTip("The neuron on the vertical axis")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)  # the output's raster
        self.plot.setMinimumSize(*MIN_PLOT_SIZE)
        self.plot.plotItem.setMenuEnabled(False)
        self.plot.plotItem.hideButtons()
        self.view_box = self.plot.plotItem.getViewBox()
        self.view_box.setMouseEnabled(x=False, y=False)
        self.view_box.disableAutoRange()
        self.plane_image = pg.ImageItem(axisOrder="row-major")
        self.plane_image.setZValue(-10)
        self.grid_curve = pg.PlotCurveItem(pen=pg.mkPen(GRID_RGB, width=1), connect="finite")
        self.grid_curve.setZValue(1)
        self.decision_curve = pg.PlotCurveItem(pen=pg.mkPen(DECISION_RGB, width=2.5), connect="finite")
        self.decision_curve.setZValue(6)
        for item in (self.plane_image, self.grid_curve, self.decision_curve):
            self.plot.addItem(item)
        self.next_lines: list[pg.PlotCurveItem] = []
        self.next_labels: list[pg.TextItem] = []
        self.sample_dots, self.held_out_dots = class_scatters(self.plot)
        self.hover_ring = pg.ScatterPlotItem(size=20, pen=pg.mkPen((20, 20, 20), width=2.5), brush=None)
        self.hover_ring.setZValue(22)
        self.plot.addItem(self.hover_ring)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #444")
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        for widget in (self.layer_box, self.axes_box, self.x_box, self.y_box):
            row.addWidget(widget)
        row.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addLayout(row)
        column.addWidget(self.plot, 1)
        column.addWidget(self.caption)

        self.samples = SampleSet.empty()
        self.held_out = np.zeros(0, bool)
        self.spec: NetworkSpec | None = None
        self.history = None
        self.epoch = 0
        self.axes: HiddenAxes | None = None  # fitted at the first draw after a reset (see reset_axes)
        self.picture: HiddenPicture | None = None  # what is drawn now
        self.hovered: int | None = None
        self.hover_text = ""
        self.frames_drawn = 0
        self._reference_box = None  # the content's extent at the epoch the axes were set up at
        self._dirty = False
        self.layer_box.currentIndexChanged.connect(self._layer_chosen)
        self.axes_box.currentIndexChanged.connect(self._axes_chosen)
        self.x_box.currentIndexChanged.connect(lambda _i: self._neuron_chosen(self.x_box, self.y_box))
        self.y_box.currentIndexChanged.connect(lambda _i: self._neuron_chosen(self.y_box, self.x_box))
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self._show_neuron_boxes()

    # --- model state in -----------------------------------------------------------------------------------
    def set_samples(self, samples: SampleSet, held_out: np.ndarray | None = None) -> None:
        self.samples = samples
        self.held_out = np.zeros(samples.n, bool) if held_out is None else held_out
        self._set_hovered(None)
        self.picture = None  # drawn for other samples: nothing to hover until the next draw
        self._dirty = True

    def show_state(self, spec: NetworkSpec, history, epoch: int) -> None:
        """The network and epoch to draw at the next refresh (cheap: nothing is computed here). `history`
        gives the epoch's parameters and, when the axes are set up, the newest epoch's."""
        if self.spec is None or spec.widths != self.spec.widths:
            self._fill_layers(spec)
        self.spec, self.history, self.epoch = spec, history, epoch
        self._dirty = True

    def reset_axes(self) -> None:
        """Sets the axes up afresh at the next draw, at the newest epoch (a new run, training paused)."""
        self.axes = None
        self._dirty = True

    # --- choices ------------------------------------------------------------------------------------------
    @property
    def layer(self) -> int:
        """The hidden layer shown (0-based)."""
        return max(self.layer_box.currentIndex(), 0)

    @property
    def neurons(self) -> tuple[int, int] | None:
        """The two neurons on the axes (0-based), or None for principal components."""
        if self.axes_box.currentText() == PRINCIPAL:
            return None
        return self.x_box.currentIndex(), self.y_box.currentIndex()

    def set_layer(self, layer: int) -> None:
        """Shows hidden layer `layer` (0-based); ValueError if the network has none such."""
        if not 0 <= layer < self.layer_box.count():
            raise ValueError(f"the network has hidden layers 1 to {self.layer_box.count()}, not {layer + 1}")
        self.layer_box.setCurrentIndex(layer)

    def set_neurons(self, neurons: tuple[int, int] | None) -> None:
        """Two neurons (0-based, distinct) of the layer on the axes, or None: principal components."""
        if neurons is None:
            self.axes_box.setCurrentText(PRINCIPAL)
            return
        neuron_axes(self.spec, self.layer, neurons)  # raises ValueError for neurons the layer lacks
        for box, k in zip((self.x_box, self.y_box), neurons, strict=True):
            box.blockSignals(True)
            box.setCurrentIndex(k)
            box.blockSignals(False)
        self.axes_box.setCurrentText(NEURONS)
        self.reset_axes()

    def _fill_layers(self, spec: NetworkSpec) -> None:
        """The layer box for a new network: its hidden layers, the first one chosen (the input plane's first
        warp, with the next layer's neurons as straight lines)."""
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([f"layer {k + 1} ({w} neurons)" for k, w in enumerate(spec.widths)])
        self.layer_box.setCurrentIndex(0)
        self.layer_box.blockSignals(False)
        self.spec = spec
        self._fill_neurons()

    def _fill_neurons(self) -> None:
        width = self.spec.widths[self.layer]
        names = [f"L{self.layer + 1} N{k + 1}" for k in range(width)]
        for box, k in ((self.x_box, 0), (self.y_box, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.setCurrentIndex(min(k, width - 1))
            box.blockSignals(False)
        self.axes_box.setEnabled(width > 1)
        if width == 1:
            self.axes_box.setCurrentText(PRINCIPAL)
        self.reset_axes()

    def _layer_chosen(self, _index: int) -> None:
        if self.spec is not None:
            self._fill_neurons()

    def _axes_chosen(self, _index: int) -> None:
        self._show_neuron_boxes()
        self.reset_axes()

    def _neuron_chosen(self, changed: QComboBox, other: QComboBox) -> None:
        """A neuron picked for one axis that the other shows swaps them: the axes stay two neurons."""
        if changed.currentIndex() == other.currentIndex() and self.axes is not None and self.axes.neurons:
            previous = self.axes.neurons[0 if changed is self.x_box else 1]
            other.blockSignals(True)
            other.setCurrentIndex(previous)
            other.blockSignals(False)
        self.reset_axes()

    def _show_neuron_boxes(self) -> None:
        for box in (self.x_box, self.y_box):
            box.setVisible(self.axes_box.currentText() == NEURONS)

    # --- drawing -----------------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def shown(self) -> bool:
        """On screen: a dock behind another dock's tab is "visible" to Qt, but has nothing to show."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._dirty = True  # the lines are clipped to the view's rectangle, which a new size changes

    def refresh(self, preview: bool = False) -> bool:
        """Draws the state shown last if it changed and the view is visible; returns whether it drew."""
        if not (self._dirty and self.shown() and self.spec is not None and self.history is not None):
            return False
        self._dirty = False
        frame = Rect.around(self.samples.extent())
        if self.axes is None:
            self._set_up_axes(frame)
        params = self.history.params_at(min(self.epoch, self.history.latest_epoch))
        self.picture = hidden_picture(self.spec, params, self.axes, self.samples.points, frame)
        self._draw(self.picture)
        self.frames_drawn += 1
        return True

    def _set_up_axes(self, frame: Rect) -> None:
        """The axes for the chosen layer and neurons; principal components fitted at the newest epoch. The
        view keeps at least the extent the picture had there, so that scrubbing moves the samples, not the
        axes."""
        latest = self.history.latest_epoch
        params = self.history.params_at(latest)
        if self.neurons is None:
            points = fit_points(self.samples.points, frame)
            self.axes = principal_axes(self.spec, params, points, self.layer, latest)
        else:
            self.axes = neuron_axes(self.spec, self.layer, self.neurons)
        reference = hidden_picture(self.spec, params, self.axes, self.samples.points, frame)
        self._reference_box = _box(reference.coords, reference.grid)
        x_label, y_label = self.axes.labels()
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.caption.setText(self._caption(reference))
        self.caption.setToolTip(
            f"The grid: {GRID_LINES} horizontal and {GRID_LINES} vertical lines over the data (10% margin), "
            "each point drawn where the layer maps it: the plane as the layer sees it, folded and stretched. "
            "Each sample sits at its activations. The next layer's neurons depend on the layer's activations "
            "linearly, so each one's zero level is a straight line here; where the layer has more "
            "directions than the two shown, those are held at the samples' mean."
        )

    def _draw(self, picture: HiddenPicture) -> None:
        rect = _view_rect(_union(self._reference_box, _box(picture.coords, picture.grid)))
        self.view_box.setRange(xRange=(rect.xmin, rect.xmax), yRange=(rect.ymin, rect.ymax), padding=0)
        grid = with_gaps(picture.grid)
        self.grid_curve.setData(grid[:, 0], grid[:, 1])
        self._draw_samples(picture.coords)
        if picture.next_is_output:
            self._draw_output(picture, rect)
        else:
            self._draw_next_layer(picture, rect)

    def _draw_samples(self, coords: np.ndarray) -> None:
        labels, held_out = self.samples.labels, self.held_out[: len(coords)]
        for label in range(len(self.sample_dots)):
            mine = labels == label
            for dots, points in ((self.sample_dots[label], coords[mine & ~held_out]),
                                 (self.held_out_dots[label], coords[mine & held_out])):  # fmt: skip
                dots.setData(pos=points)
                dots.setVisible(len(points) > 0)
        if self.hovered is not None and self.hovered < len(coords):
            self.hover_ring.setData(pos=coords[[self.hovered]])

    def _draw_next_layer(self, picture: HiddenPicture, rect: Rect) -> None:
        """Each next-layer neuron's zero line in its colour, with a tick on the side where it is active and
        its name along it, both well inside the view (a line that only grazes a corner goes without)."""
        self.plane_image.setVisible(False)
        self.decision_curve.clear()
        layer, widths = self.axes.layer + 1, self.spec.widths
        dx, dy = LABEL_INSET * rect.width, LABEL_INSET * rect.height
        inset = Rect(rect.xmin + dx, rect.xmax - dx, rect.ymin + dy, rect.ymax - dy)
        size = self.view_box.size()
        pixel = np.array([rect.width / max(size.width(), 1.0), rect.height / max(size.height(), 1.0)])
        self._keep_lines(len(picture.next_bias))
        for k, (line, label) in enumerate(zip(self.next_lines, self.next_labels, strict=True)):
            colour = neuron_rgb(layer, k, widths)
            line.setPen(pg.mkPen(colour, width=2))
            label.setColor(colour)
            w, b = picture.next_weights[k], picture.next_bias[k]
            segment, inner = clip_line(w, b, rect), clip_line(w, b, inset)
            along = 0.95 - 0.12 * (k % 4)  # staggered, so that the names of lines that meet stay apart
            place = None if inner is None else inner[0] + along * (inner[1] - inner[0])
            if segment is None:
                line.clear()
            else:
                points = [segment]
                if place is not None:  # the tick, TICK_PIXELS long towards w.c + b > 0 on screen
                    normal = w * pixel
                    tip = place + TICK_PIXELS * normal / max(np.linalg.norm(normal), 1e-300) * pixel
                    points += [np.full((1, 2), np.nan), np.array([place, tip])]
                drawn = np.concatenate(points)
                line.setData(drawn[:, 0], drawn[:, 1], connect="finite")
            label.setVisible(place is not None)
            if place is not None:
                label.setText(f"L{layer + 1} N{k + 1}")
                label.setPos(*place)

    def _draw_output(self, picture: HiddenPicture, rect: Rect) -> None:
        """The output over the plane: its predicted class as a pale background, and the decision boundary."""
        self._keep_lines(0)
        xs, ys, z = plane_logits(picture, rect)
        if z.shape[-1] == 1:
            image = (0.5 * (1.0 + np.tanh(0.5 * z[..., 0]))).astype(np.float32)
            self.plane_image.setLookupTable(prediction_lut())
            self.plane_image.setImage(image, autoLevels=False, levels=(0.0, 1.0))
            segment = clip_line(picture.next_weights[0], picture.next_bias[0], rect)
            curve = np.empty((0, 2)) if segment is None else segment
        else:
            classes = np.argmax(z, axis=-1)
            shifted = z - z.max(axis=-1, keepdims=True)
            probability = (1.0 / np.exp(shifted).sum(axis=-1)).astype(np.float32)
            image = class_background(ClassField(rect, xs, ys, classes, probability, z))
            self.plane_image.setLookupTable(None)
            self.plane_image.setImage(image, autoLevels=False, levels=(0, 255))
            curve = class_ties(xs, ys, z)
        self.plane_image.setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
        self.plane_image.setVisible(True)
        self.decision_curve.setData(curve[:, 0], curve[:, 1]) if len(curve) else self.decision_curve.clear()

    def _keep_lines(self, count: int) -> None:
        while len(self.next_lines) < count:
            line = pg.PlotCurveItem()
            line.setZValue(5)
            label = pg.TextItem(anchor=(0.5, 1.1))
            label.setZValue(7)
            self.plot.addItem(line)
            self.plot.addItem(label)
            self.next_lines.append(line)
            self.next_labels.append(label)
        while len(self.next_lines) > count:
            self.plot.removeItem(self.next_lines.pop())
            self.plot.removeItem(self.next_labels.pop())

    def _caption(self, reference: HiddenPicture) -> str:
        """What the picture shows, in words: the grid, the lines (and what they hold fixed), the axes."""
        layer, width = self.axes.layer + 1, self.axes.width
        through = "layer 1" if layer == 1 else f"layers 1 to {layer}"
        text = f"Grey: the input plane's grid, carried through {through}. "
        if reference.next_is_output:
            text += ("Black: the decision boundary (p = 0.5) over P(blue). " if self.spec.classes == 2 else
                     "Black: where the top two classes tie, over the predicted class. ")  # fmt: skip
        else:
            text += f"Coloured: each layer-{layer + 1} neuron's zero line (tick: the side where it is on). "
        if self.axes.exact() or width == 1:
            text += "Exact: the layer has no other direction."
        elif self.axes.neurons is not None:
            others = width - 2
            text += f"Its other {others} neuron{'s' if others > 1 else ''} held at the samples' mean."
        elif self.axes.exact_at_fit():
            plural = "s" if self.axes.decisive > 1 else ""
            text += (f"The plane holds the output's decision direction{plural} of epoch "
                     f"{self.axes.fitted_at}: there, each sample lies on its predicted side; at other "
                     f"epochs layer {layer}'s other directions are held at the samples' mean.")  # fmt: skip
        else:
            text += f"Layer {layer}'s other directions held at the samples' mean."
        if self.axes.neurons is None and width > 1:
            text += f" Axes fitted at epoch {self.axes.fitted_at}, kept while you scrub."
        return text

    # --- hover ------------------------------------------------------------------------------------------
    def sample_at(self, x: float, y: float) -> int | None:
        """The sample drawn within HOVER_PIXELS of the plot point (x, y), if any (the nearest)."""
        if self.picture is None or not len(self.picture.coords):
            return None
        pixel_w, pixel_h = self.view_box.viewPixelSize()
        coords = self.picture.coords
        dx, dy = (coords[:, 0] - x) / max(pixel_w, 1e-300), (coords[:, 1] - y) / max(pixel_h, 1e-300)
        distance = np.hypot(dx, dy)
        nearest = int(np.argmin(distance))
        return nearest if distance[nearest] <= HOVER_PIXELS else None

    def describe_sample(self, index: int) -> str:
        x, y = self.picture.coords[index]
        label = int(self.samples.labels[index])
        kind = "held out" if self.held_out[index] else "training"
        x_name, y_name = (name.removesuffix(" activation").split(" (")[0] for name in self.axes.labels())
        name = self.samples.class_names[label]
        return f"Sample {index + 1} · {name} ({kind})\n{x_name}: {x:.3g}\n{y_name}: {y:.3g}"

    def _on_hover(self, scene_pos) -> None:
        found = None
        if self.view_box.sceneBoundingRect().contains(scene_pos):
            point = self.view_box.mapSceneToView(scene_pos)
            found = self.sample_at(point.x(), point.y())
        self._set_hovered(found)
        text = self.describe_sample(found) if found is not None else ""
        if text != self.hover_text:
            self.hover_text = text
            QToolTip.showText(QCursor.pos(), text, self) if text else QToolTip.hideText()

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._set_hovered(None)
        super().leaveEvent(event)

    def _set_hovered(self, index: int | None) -> None:
        if index == self.hovered:
            return
        self.hovered = index
        if index is None or self.picture is None:
            self.hover_ring.clear()
        else:
            self.hover_ring.setData(pos=self.picture.coords[[index]])
        self.sampleHovered.emit(index)
