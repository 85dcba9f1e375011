"""Loss and accuracy per epoch, two small plots sharing the epoch axis, with a cursor at the displayed epoch.
Clicking a plot asks for that epoch. The epoch axis follows the timeline's epoch scale (linear, square root
or log; log by default) and zoomed range: curves, cursor and data-change marks are drawn at the scale's
coordinate of their epochs (x_of), and the ticks name real epochs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from app.ui import epoch_scale
from app.ui.log_axis import LogAxis

TRAIN_PEN = pg.mkPen((30, 30, 30), width=1)  # 1 px: a 1.5 px pen paints four times slower
TEST_PEN = pg.mkPen((200, 90, 0), width=1, style=Qt.PenStyle.DashLine)
CURSOR_PEN = pg.mkPen((0, 120, 215), width=1.5)
AXIS_WIDTH = 58  # pixels of the left axes, room for "accuracy" and tick labels such as 0.6931
REGIONS_PEN = pg.mkPen((110, 40, 150), width=1)
MARK_PEN = pg.mkPen((200, 120, 0, 120), width=1)
POINTS_PER_PIXEL = 2  # curves keep each such slice's lowest and highest value (peaks stay visible)
FOCUS_PEN = pg.mkPen((30, 30, 30), width=2)
FOCUS_ENN_PEN = pg.mkPen((0, 140, 60), width=1.5, style=Qt.PenStyle.DashLine)
FOCUS_CHANCE_PEN = pg.mkPen((140, 140, 140), width=1.2, style=Qt.PenStyle.DotLine)
FOCUS_KEY = (
    "<span style='font-size: 7.5pt; color: #303030'>focus of each first-layer neuron (its colour; "
    "<b>black</b>: mean) · <span style='color: #008c3c'>dashed: interpretable net</span> · "
    "<span style='color: #808080'>dotted: chance</span></span>"
)
FOCUS_TIP = (
    "Focus of each first-layer neuron (its colour; black: their mean) over the epochs: the share of its "
    "influence that comes from the two subconcepts of the interpretable network contributing most (1: all "
    "from two groups of samples). Dashed green: the interpretable network's lines; dotted grey: chance (the "
    "two largest subconcepts' share of the samples)."
)


class EpochAxis(pg.AxisItem):
    """An axis in a scale's coordinate whose ticks sit at round epochs and read as those epochs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale_kind = epoch_scale.DEFAULT_SCALE
        self.enableAutoSIPrefix(False)  # positions are not epochs: "epoch (x0.001)" at epoch 0 is nonsense

    def tickValues(self, minVal, maxVal, size):
        kind = self.scale_kind
        first, last = (epoch_scale.inverse(kind, v) for v in sorted((minVal, maxVal)))
        ticks = epoch_scale.epoch_ticks(kind, first, last, size)
        return [(None, [epoch_scale.forward(kind, t) for t in ticks])] if ticks else []

    def tickStrings(self, values, scale, spacing):
        return [str(round(epoch_scale.inverse(self.scale_kind, v))) for v in values]


class QtLossPlot(pg.GraphicsLayoutWidget):
    epochRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setBackground("w")
        self.scale = epoch_scale.DEFAULT_SCALE
        self.zoom: tuple[int, int] | None = None  # the epochs shown, when zoomed in; None: all
        self._history: tuple = (np.zeros(1), np.ones(1), np.zeros(1), None, None)
        self._region_counts = (np.empty(0), np.empty(0))
        self.loss_plot = self.addPlot(
            row=0, col=0, axisItems={"left": LogAxis(orientation="left"), "bottom": EpochAxis("bottom")}
        )
        self.accuracy_plot = self.addPlot(row=1, col=0, axisItems={"bottom": EpochAxis("bottom")})
        self.accuracy_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.setToolTip("Loss and accuracy per epoch (dashed orange: held-out test samples). Click to jump.")
        self.accuracy_plot.setLabel("left", "accuracy")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.getAxis("bottom").setHeight(36)
        self.loss_plot.hideAxis("bottom")
        self.accuracy_plot.setYRange(0.0, 1.0, padding=0.05)
        self.curves = {}
        self.cursors = []
        for plot, name in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
            plot.setMenuEnabled(False)
            plot.getAxis("left").enableAutoSIPrefix(False)  # "loss (x0.001)" over 10^2 reads as nonsense
            plot.getAxis("left").setWidth(AXIS_WIDTH)  # fixed: a width that follows the tick labels relays
            # out the plot, and so repaints it a second time, whenever the labels change
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            # no pyqtgraph downsampling: it assumes evenly spaced x; thinned() keeps the peaks per pixel
            plot.setClipToView(True)
            self.curves[name] = plot.plot(pen=TRAIN_PEN, name=f"train {name}")
            self.curves[f"test {name}"] = plot.plot(pen=TEST_PEN, name=f"test {name}")
            cursor = pg.InfiniteLine(angle=90, pen=CURSOR_PEN, movable=False)
            plot.addItem(cursor)
            self.cursors.append(cursor)
        self.loss_plot.setLogMode(y=True)
        # The number of activation regions in the data's extent, shown with the regions overlay.
        self.regions_plot = self._add_row(2, "regions")
        self.region_curve = self.regions_plot.plot(
            pen=REGIONS_PEN, symbol="o", symbolSize=3, symbolPen=None, symbolBrush=REGIONS_PEN.color()
        )
        self.regions_plot.setToolTip("Activation regions in the data's extent (10% margin) over the epochs")
        # The focus of the first layer's neurons (app.core.thesis), shown with the interpretable network.
        self.focus_plot = self._add_row(3, "focus")
        self.focus_plot.setYRange(0.0, 1.35, padding=0.0)  # the band above 1 holds the key
        self.focus_plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0.0, 0.5, 1.0)]])
        self.focus_curves: list[pg.PlotDataItem] = []
        self.focus_network = self.focus_plot.plot(pen=FOCUS_PEN)
        self.focus_enn_line = pg.InfiniteLine(angle=0, pen=FOCUS_ENN_PEN, movable=False)
        self.focus_chance_line = pg.InfiniteLine(angle=0, pen=FOCUS_CHANCE_PEN, movable=False)
        for line in (self.focus_enn_line, self.focus_chance_line):
            self.focus_plot.addItem(line)
        self.focus_plot.setToolTip(FOCUS_TIP)
        self.focus_key = pg.TextItem(html=FOCUS_KEY, anchor=(0, 0))  # in the plot's pixels, top left
        self.focus_key.setParentItem(self.focus_plot.getViewBox())
        self.focus_key.setPos(4, -4)
        self._focus: tuple = (np.empty(0), np.empty((0, 0)), [])
        self._shown_rows = {"regions": False, "focus": False}
        self._lay_out_rows()
        # The data-change marks: one item of vertical segments, at most one per pixel column, redrawn when the
        # marks, the view's range or its size change (one line item per mark cost seconds at 10,000 marks).
        self.mark_curve = pg.PlotCurveItem(pen=MARK_PEN, connect="pairs", skipFiniteCheck=True)
        self.accuracy_plot.addItem(self.mark_curve, ignoreBounds=True)
        self._mark_source: tuple[int, ...] = ()  # the epochs as last given, to tell what changed
        self._mark_epochs = np.empty(0)  # the same, as an array
        self._marks_version = 0  # counts the changes of _mark_epochs
        self._marks_drawn_for = None  # what the shown segments were computed from
        self._mark_coords: tuple = (None, np.empty(0))  # (what from, the marks' x on the epoch scale)
        box = self.accuracy_plot.getViewBox()
        box.sigRangeChanged.connect(self._draw_marks)
        box.sigResized.connect(self._draw_marks)
        box.sigResized.connect(self._show_history)  # the curves are thinned to the pixels
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_history(self, epochs: np.ndarray, loss: np.ndarray, accuracy: np.ndarray,
                    test_loss: np.ndarray | None = None, test_accuracy: np.ndarray | None = None,
                    data_changes: tuple[int, ...] = ()) -> None:  # fmt: skip
        """Redraws the curves (cheap enough at 10 Hz: thinned to the pixels). The ranges are set here rather
        than auto-ranged: auto-ranging repaints the plot a second time after every update."""
        self._history = (np.asarray(epochs), loss, accuracy, test_loss, test_accuracy)
        self._set_marks(data_changes)  # before the range, whose change draws them
        self._show_history()

    def _show_history(self) -> None:
        epochs, loss, accuracy, test_loss, test_accuracy = self._history
        self._set_x_range()
        box = self.accuracy_plot.getViewBox()
        (u0, u1), pixels = box.viewRange()[0], box.width()
        xs = self.x_of(epochs)
        self.curves["loss"].setData(*thinned(xs, np.maximum(loss, 1e-12), u0, u1, pixels))
        self.curves["accuracy"].setData(*thinned(xs, accuracy, u0, u1, pixels))
        has_test = test_loss is not None and np.isfinite(test_loss).any()
        for name, values in (("test loss", test_loss), ("test accuracy", test_accuracy)):
            if has_test:
                shown = np.maximum(values, 1e-12) if name == "test loss" else values
                self.curves[name].setData(*thinned(xs, shown, u0, u1, pixels))
            else:
                self.curves[name].setData([], [])
        self._set_loss_range(loss if not has_test else np.concatenate([loss, test_loss]))
        self._draw_marks()  # when the range stayed

    def _set_x_range(self) -> None:
        epochs = self._history[0]
        latest = int(epochs[-1]) if len(epochs) else 0
        first, last = self.zoom or (0, max(1, latest))
        self.loss_plot.setXRange(self.x_of(first), self.x_of(last), padding=0.02)

    # --- the epoch scale --------------------------------------------------------------------------------
    def x_of(self, epochs):
        """The x coordinate of epochs (a number or an array) on the plots' epoch scale."""
        return epoch_scale.forward(self.scale, epochs)

    def epoch_at(self, x: float) -> int:
        return max(0, round(epoch_scale.inverse(self.scale, x)))

    def set_view(self, kind: str, zoom: tuple[int, int] | None = None) -> None:
        """Takes the timeline's epoch scale and zoomed range (QtTimeline.viewChanged)."""
        if kind not in epoch_scale.SCALES:
            raise ValueError(f"unknown epoch scale {kind!r}")
        zoom = None if zoom is None else (int(zoom[0]), int(zoom[1]))
        if (kind, zoom) == (self.scale, self.zoom):
            return
        epoch = self.cursor_epoch
        self.scale, self.zoom = kind, zoom
        for plot in (self.loss_plot, self.accuracy_plot, self.regions_plot, self.focus_plot):
            plot.getAxis("bottom").scale_kind = kind
            plot.getAxis("bottom").picture = None  # its ticks are redrawn with the new names
        self._marks_drawn_for = None
        self.set_cursor(epoch)
        self._show_history()
        self.set_region_counts(*self._region_counts)
        self._show_focus()

    def _set_loss_range(self, values: np.ndarray) -> None:
        shown = np.log10(np.maximum(values[np.isfinite(values)], 1e-12))
        if len(shown):
            low, high = float(shown.min()), float(shown.max())
            self.loss_plot.setYRange(low, max(high, low + 1e-3), padding=0.05)

    def _add_row(self, row: int, label: str) -> pg.PlotItem:
        """A small plot under the accuracy plot, on the same epoch axis, with its own cursor; hidden."""
        plot = self.addPlot(row=row, col=0, axisItems={"bottom": EpochAxis("bottom")})
        plot.setXLink(self.loss_plot)
        plot.setLabel("left", label)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        plot.getAxis("left").enableAutoSIPrefix(False)
        cursor = pg.InfiniteLine(angle=90, pen=CURSOR_PEN, movable=False)
        plot.addItem(cursor)
        self.cursors.append(cursor)
        return plot

    def _lay_out_rows(self) -> None:
        """The shown rows under the accuracy plot; the lowest shown one carries the epoch axis."""
        rows = [self.accuracy_plot]
        for name, plot in (("regions", self.regions_plot), ("focus", self.focus_plot)):
            plot.setVisible(self._shown_rows[name])
            if self._shown_rows[name]:
                rows.append(plot)
        for plot in (self.accuracy_plot, self.regions_plot, self.focus_plot):
            plot.showAxis("bottom", plot is rows[-1])
        rows[-1].setLabel("bottom", "epoch")
        rows[-1].getAxis("bottom").setHeight(36)
        self.setMinimumHeight(170 + 45 * (len(rows) - 1))

    def set_regions_shown(self, shown: bool) -> None:
        """Shows the region-count row under the accuracy plot (and the epoch axis moves to it)."""
        self._shown_rows["regions"] = shown
        self._lay_out_rows()

    def set_focus_shown(self, shown: bool) -> None:
        """Shows the focus row (the interpretable network is built and shown)."""
        self._shown_rows["focus"] = shown
        self._lay_out_rows()

    def set_focus(self, epochs: np.ndarray, per_neuron: np.ndarray, colours: list[tuple[int, int, int]],
                  enn_focus: float, chance: float) -> None:  # fmt: skip
        """The focus of each first-layer neuron over `epochs` ((E, n), in the neurons' colours), their mean
        (black), the interpretable network's focus (dashed green) and the chance focus (dotted grey)."""
        self._focus = (np.asarray(epochs), np.asarray(per_neuron, dtype=float), list(colours))
        while len(self.focus_curves) > per_neuron.shape[1]:
            self.focus_plot.removeItem(self.focus_curves.pop())
        while len(self.focus_curves) < per_neuron.shape[1]:
            self.focus_curves.append(self.focus_plot.plot())
        self.focus_enn_line.setValue(enn_focus if np.isfinite(enn_focus) else -1.0)
        self.focus_chance_line.setValue(chance if np.isfinite(chance) else -1.0)
        self._show_focus()

    def _show_focus(self) -> None:
        epochs, per_neuron, colours = self._focus
        xs = self.x_of(epochs)
        for curve, column, colour in zip(self.focus_curves, per_neuron.T, colours, strict=True):
            curve.setData(xs, column, pen=pg.mkPen(colour, width=1))
        with np.errstate(invalid="ignore"):
            network = np.nanmean(per_neuron, axis=1) if per_neuron.size else np.empty(0)
        self.focus_network.setData(xs, network)

    @property
    def focus(self) -> tuple[np.ndarray, np.ndarray]:
        """The epochs and per-neuron focus last given."""
        return self._focus[0], self._focus[1]

    def set_region_counts(self, epochs: np.ndarray, counts: np.ndarray) -> None:
        self._region_counts = (np.asarray(epochs), np.asarray(counts))
        self.region_curve.setData(self.x_of(self._region_counts[0]), counts)
        if len(counts):
            self.regions_plot.setYRange(0, max(1, int(counts.max())), padding=0.05)

    @property
    def region_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """The epochs and region counts last given (region_curve holds the epochs' x on the scale)."""
        return self._region_counts

    def set_cursor(self, epoch: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(self.x_of(epoch))

    @property
    def cursor_epoch(self) -> int:
        return self.epoch_at(self.cursors[0].value())

    def _set_marks(self, epochs: tuple[int, ...]) -> None:
        """Takes the epochs (in any order; _draw_marks draws them): usually the same as last time, or those
        with new ones at the end."""
        epochs = tuple(epochs)  # no copy when given a tuple
        old = self._mark_source
        n = len(old)
        if len(epochs) > n and epochs[:n] == old:  # cheap: the same int objects compare by identity
            self._mark_epochs = np.concatenate([self._mark_epochs, np.array(epochs[n:], dtype=float)])
        elif len(epochs) != n or epochs != old:
            self._mark_epochs = np.array(epochs, dtype=float)
        else:
            return
        self._mark_source = epochs
        self._marks_version += 1

    def _draw_marks(self, *_) -> None:
        box = self.accuracy_plot.getViewBox()
        (x0, x1), (y0, y1) = box.viewRange()
        pixels = int(box.width())
        key = (self._marks_version, self.scale, x0, x1, y0, y1, pixels)
        if key == self._marks_drawn_for:
            return
        self._marks_drawn_for = key
        if self._mark_coords[0] != (self._marks_version, self.scale):  # mapped once per change
            self._mark_coords = ((self._marks_version, self.scale), self.x_of(self._mark_epochs))
        shown = marks_in_pixels(self._mark_coords[1], x0, x1, pixels)
        margin = y1 - y0  # the segments reach past the view, which clips them, as an infinite line would
        ys = np.tile([y0 - margin, y1 + margin], len(shown))
        self.mark_curve.setData(np.repeat(shown, 2), ys)

    def _on_click(self, event) -> None:
        for plot in (self.loss_plot, self.accuracy_plot, self.regions_plot, self.focus_plot):
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(event.scenePos()):
                x = box.mapSceneToView(event.scenePos()).x()
                event.accept()
                self.epochRequested.emit(self.epoch_at(x))
                return


def marks_in_pixels(epochs: np.ndarray, x0: float, x1: float, pixels: int) -> np.ndarray:
    """The marks worth drawing across `pixels` columns showing epochs x0 to x1: those in the range, at most
    one per column (any one of those in it: they would paint the same pixels). O(n), no sort, any order."""
    inside = epochs[(epochs >= x0) & (epochs <= x1)]
    if pixels < 1 or x1 <= x0 or not len(inside):
        return inside[:0]
    columns = ((inside - x0) * (pixels / (x1 - x0))).astype(np.int64)  # 0 to pixels
    chosen = np.full(pixels + 1, np.nan)
    chosen[columns] = inside
    return chosen[~np.isnan(chosen)]


def thinned(
    xs: np.ndarray, ys: np.ndarray, x0: float, x1: float, pixels: float
) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve (xs increasing) worth drawing across `pixels` columns showing x0 to x1: all of
    them when few, else the lowest and highest value in each POINTS_PER_PIXEL-th of a column (NaNs skipped),
    whatever the spacing of xs (on an epoch scale, early epochs lie far apart and late ones close)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    bins = int(pixels * POINTS_PER_PIXEL)
    if len(xs) <= 2 * bins or bins < 1 or not x1 > x0:
        return xs, ys
    columns = np.floor((xs - x0) * (bins / (x1 - x0)))
    starts = np.concatenate([[0], np.flatnonzero(np.diff(columns)) + 1])
    if len(starts) * 2 >= len(xs):
        return xs, ys
    with np.errstate(invalid="ignore"):
        low, high = np.fmin.reduceat(ys, starts), np.fmax.reduceat(ys, starts)
    ends = np.concatenate([starts[1:], [len(xs)]]) - 1
    return np.column_stack([xs[starts], xs[ends]]).ravel(), np.column_stack([low, high]).ravel()
