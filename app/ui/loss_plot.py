"""Loss and accuracy per epoch, two small plots sharing the epoch axis, with a cursor at the displayed epoch.
Clicking a plot asks for that epoch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from app.ui.log_axis import LogAxis

TRAIN_PEN = pg.mkPen((30, 30, 30), width=1)  # 1 px: a 1.5 px pen paints four times slower
TEST_PEN = pg.mkPen((200, 90, 0), width=1, style=Qt.PenStyle.DashLine)
CURSOR_PEN = pg.mkPen((0, 120, 215), width=1.5)
AXIS_WIDTH = 58  # pixels of the left axes, room for "accuracy" and tick labels such as 0.6931
REGIONS_PEN = pg.mkPen((110, 40, 150), width=1)
MARK_PEN = pg.mkPen((200, 120, 0, 120), width=1)


class QtLossPlot(pg.GraphicsLayoutWidget):
    epochRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setBackground("w")
        self.loss_plot = self.addPlot(row=0, col=0, axisItems={"left": LogAxis(orientation="left")})
        self.accuracy_plot = self.addPlot(row=1, col=0)
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
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            self.curves[name] = plot.plot(pen=TRAIN_PEN, name=f"train {name}")
            self.curves[f"test {name}"] = plot.plot(pen=TEST_PEN, name=f"test {name}")
            cursor = pg.InfiniteLine(angle=90, pen=CURSOR_PEN, movable=False)
            plot.addItem(cursor)
            self.cursors.append(cursor)
        self.loss_plot.setLogMode(y=True)
        # The number of activation regions in the data's extent, shown with the regions overlay.
        self.regions_plot = self.addPlot(row=2, col=0)
        self.regions_plot.setXLink(self.loss_plot)
        self.regions_plot.setLabel("left", "regions")
        self.regions_plot.setMenuEnabled(False)
        self.regions_plot.hideButtons()
        self.regions_plot.setMouseEnabled(x=False, y=False)
        self.regions_plot.getAxis("left").setWidth(AXIS_WIDTH)
        self.regions_plot.getAxis("left").enableAutoSIPrefix(False)
        self.region_curve = self.regions_plot.plot(
            pen=REGIONS_PEN, symbol="o", symbolSize=3, symbolPen=None, symbolBrush=REGIONS_PEN.color()
        )
        cursor = pg.InfiniteLine(angle=90, pen=CURSOR_PEN, movable=False)
        self.regions_plot.addItem(cursor)
        self.cursors.append(cursor)
        self.regions_plot.setToolTip("Activation regions in the data's extent (10% margin) over the epochs")
        self.set_regions_shown(False)
        # The data-change marks: one item of vertical segments, at most one per pixel column, redrawn when the
        # marks, the view's range or its size change (one line item per mark cost seconds at 10,000 marks).
        self.mark_curve = pg.PlotCurveItem(pen=MARK_PEN, connect="pairs", skipFiniteCheck=True)
        self.accuracy_plot.addItem(self.mark_curve, ignoreBounds=True)
        self._mark_source: tuple[int, ...] = ()  # the epochs as last given, to tell what changed
        self._mark_epochs = np.empty(0)  # the same, as an array
        self._marks_version = 0  # counts the changes of _mark_epochs
        self._marks_drawn_for = None  # what the shown segments were computed from
        box = self.accuracy_plot.getViewBox()
        box.sigRangeChanged.connect(self._draw_marks)
        box.sigResized.connect(self._draw_marks)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_history(self, epochs: np.ndarray, loss: np.ndarray, accuracy: np.ndarray,
                    test_loss: np.ndarray | None = None, test_accuracy: np.ndarray | None = None,
                    data_changes: tuple[int, ...] = ()) -> None:  # fmt: skip
        """Redraws the curves (cheap enough at 10 Hz: pyqtgraph downsamples to the pixels). The ranges are set
        here rather than auto-ranged: auto-ranging repaints the plot a second time after every update."""
        self.curves["loss"].setData(epochs, np.maximum(loss, 1e-12))
        self.curves["accuracy"].setData(epochs, accuracy)
        has_test = test_loss is not None and np.isfinite(test_loss).any()
        for name, values in (("test loss", test_loss), ("test accuracy", test_accuracy)):
            if has_test:
                shown = np.maximum(values, 1e-12) if name == "test loss" else values
                self.curves[name].setData(epochs, shown)
            else:
                self.curves[name].setData([], [])
        self._set_marks(data_changes)  # before the range, whose change draws them
        self.loss_plot.setXRange(0, max(1, int(epochs[-1])), padding=0.02)
        self._set_loss_range(loss if not has_test else np.concatenate([loss, test_loss]))
        self._draw_marks()  # when the range stayed

    def _set_loss_range(self, values: np.ndarray) -> None:
        shown = np.log10(np.maximum(values[np.isfinite(values)], 1e-12))
        if len(shown):
            low, high = float(shown.min()), float(shown.max())
            self.loss_plot.setYRange(low, max(high, low + 1e-3), padding=0.05)

    def set_regions_shown(self, shown: bool) -> None:
        """Shows the region-count row under the accuracy plot (and the epoch axis moves to it)."""
        self.regions_plot.setVisible(shown)
        self.accuracy_plot.showAxis("bottom", not shown)
        self.regions_plot.showAxis("bottom", shown)
        if shown:
            self.regions_plot.setLabel("bottom", "epoch")
            self.regions_plot.getAxis("bottom").setHeight(36)
        self.setMinimumHeight(240 if shown else 170)

    def set_region_counts(self, epochs: np.ndarray, counts: np.ndarray) -> None:
        self.region_curve.setData(epochs, counts)
        if len(counts):
            self.regions_plot.setYRange(0, max(1, int(counts.max())), padding=0.05)

    def set_cursor(self, epoch: int) -> None:
        for cursor in self.cursors:
            cursor.setValue(epoch)

    @property
    def cursor_epoch(self) -> float:
        return self.cursors[0].value()

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
        key = (self._marks_version, x0, x1, y0, y1, pixels)
        if key == self._marks_drawn_for:
            return
        self._marks_drawn_for = key
        shown = marks_in_pixels(self._mark_epochs, x0, x1, pixels)
        margin = y1 - y0  # the segments reach past the view, which clips them, as an infinite line would
        ys = np.tile([y0 - margin, y1 + margin], len(shown))
        self.mark_curve.setData(np.repeat(shown, 2), ys)

    def _on_click(self, event) -> None:
        for plot in (self.loss_plot, self.accuracy_plot, self.regions_plot):
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(event.scenePos()):
                x = box.mapSceneToView(event.scenePos()).x()
                event.accept()
                self.epochRequested.emit(max(0, int(round(x))))
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
