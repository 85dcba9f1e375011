"""The canvas's keys, drawn in the view's pixels (so exported pictures carry them): a compact box in a corner
with the colour bar of the prediction (P(blue), red - white - blue) and a legend of what else is drawn, and
a name tag ("L1 N3") on each first-layer neuron line where it enters the view, placed so that no two tags
overlap. The same box as a widget of its own (QtKeyWidget) explains canvases too small to carry one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QWidget

from app.ui.palette import CLASS_RGB, neuron_rgb, prediction_lut

BOUNDARY = "decision boundary (p = 0.5)"
BOUNDARIES = "decision boundaries (top two tie)"  # more than two classes
PALE = "pale: low probability"
NEURONS = "L1 N1…: first-layer neurons"
NEURON_LINES = "first-layer neurons (a colour each)"  # lines without name tags
TICK = "tick: side where the neuron is active"
HELD_OUT = "hollow: held out"
COUNTERFACTUAL = "dashed: network retrained without ×"  # Data > Retrain without the selected samples
LEFT_OUT = "×: left out of the retraining"
COLOUR_BAR_TITLE = "P(blue)"
COLOUR_BAR_LABELS = ("0", "0.5", "1")
MAX_TAGGED_LINES = 12  # more lines than this: no tags (hovering a line names it)
PAD, SAMPLE_WIDTH, BAR_WIDTH, BAR_HEIGHT = 5.0, 26.0, 110.0, 10.0
MARGIN = 6.0  # between the key and the view's edge
CORNERS = ("bottom-right", "top-right", "bottom-left", "top-left")  # tried in this order, fewest samples wins


def _font() -> QFont:
    font = QFont()
    font.setPointSizeF(8.5)
    return font


def legend(*, background: bool, boundary: bool, neurons: bool, held_out: bool,
           classes: list[tuple[str, tuple[int, int, int]]] | None = None,
           neuron_row: str = NEURONS) -> tuple[bool, list[str], dict[str, tuple[int, int, int]]]:  # fmt: skip
    """What a key explains: (the colour bar shown, its rows, the rows that name a class -> its colour). The
    colour bar when the background is shown; with more than two `classes` (name, colour) each class's row
    and what pale means instead. A row per kind of mark shown; `neuron_row` names the neuron lines."""
    many = bool(classes)
    class_rows = [name for name, _ in classes or []] + [PALE] if many and background else []
    rows = class_rows + [BOUNDARIES if many else BOUNDARY] * boundary + [neuron_row, TICK] * neurons
    rows += [HELD_OUT] * held_out
    return background and not many, rows, dict(classes or []) if class_rows else {}


class CanvasKey(QGraphicsItem):
    """The colour bar and the legend, in one semi-transparent box; a child of the view box (pixels)."""

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.setZValue(1000)
        self.font = _font()
        self.colour_bar = False  # whether the colour bar is shown (the prediction background is)
        self.rows: list[str] = []  # the legend's lines, from BOUNDARY, NEURONS, TICK, HELD_OUT, class names
        self.swatches: dict[str, tuple[int, int, int]] = {}  # more than two classes: name -> colour
        self.corner = CORNERS[0]
        self._size = QRectF()
        self.setVisible(False)

    def set_content(self, colour_bar: bool, rows: list[str], swatches: dict | None = None) -> None:
        """What the key explains; hidden when nothing. `swatches`: rows that name a class -> its colour."""
        swatches = swatches or {}
        if (colour_bar, rows, swatches) != (self.colour_bar, self.rows, self.swatches):
            self.prepareGeometryChange()
            self.colour_bar, self.rows, self.swatches = colour_bar, list(rows), dict(swatches)
            self._size = self._measure()
        self.setVisible(colour_bar or bool(rows))

    def _line_height(self) -> float:
        return QFontMetricsF(self.font).height()

    def _measure(self) -> QRectF:
        metrics, line = QFontMetricsF(self.font), self._line_height()
        width, height = 0.0, PAD
        if self.colour_bar:
            width = (
                metrics.horizontalAdvance(COLOUR_BAR_TITLE) + 6 + BAR_WIDTH + metrics.horizontalAdvance("0")
            )
            height += BAR_HEIGHT + line + 5
        for text in self.rows:
            width = max(width, SAMPLE_WIDTH + 6 + metrics.horizontalAdvance(text))
            height += line
        return QRectF(0, 0, width + 2 * PAD, height + PAD)

    def boundingRect(self) -> QRectF:
        return QRectF(self._size)

    def place(self, view_width: float, view_height: float, corner: str) -> None:
        """Puts the key in `corner` of a view of that many pixels."""
        self.corner = corner
        w, h = self._size.width(), self._size.height()
        x = MARGIN if corner.endswith("left") else view_width - w - MARGIN
        y = MARGIN if corner.startswith("top") else view_height - h - MARGIN
        self.setPos(max(x, 0.0), max(y, 0.0))

    def colour_bar_rect(self) -> QRectF:
        """The gradient, in the key's coordinates."""
        metrics = QFontMetricsF(self.font)
        left = PAD + metrics.horizontalAdvance(COLOUR_BAR_TITLE) + 6
        return QRectF(left, PAD + 1, BAR_WIDTH, BAR_HEIGHT)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setFont(self.font)
        painter.setPen(QPen(QColor(120, 120, 120, 200), 1))
        painter.setBrush(QBrush(QColor(255, 255, 255, 232)))
        painter.drawRoundedRect(self._size.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
        metrics, line = QFontMetricsF(self.font), self._line_height()
        text_pen = QPen(QColor(30, 30, 30))
        y = PAD
        if self.colour_bar:
            bar = self.colour_bar_rect()
            gradient = QLinearGradient(bar.topLeft(), bar.topRight())
            lut = prediction_lut()
            for i in range(0, 256, 15):
                gradient.setColorAt(i / 255, QColor(*(int(c) for c in lut[i])))
            gradient.setColorAt(1.0, QColor(*(int(c) for c in lut[255])))
            painter.setBrush(QBrush(gradient))
            painter.setPen(QPen(QColor(110, 110, 110), 1))
            painter.drawRect(bar)
            painter.setPen(text_pen)
            painter.drawText(QPointF(PAD, bar.center().y() + metrics.ascent() / 2 - 1), COLOUR_BAR_TITLE)
            for fraction, label in zip((0.0, 0.5, 1.0), COLOUR_BAR_LABELS, strict=True):
                x = bar.left() + fraction * bar.width()
                painter.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 2))
                half = metrics.horizontalAdvance(label) / 2
                painter.drawText(QPointF(x - half, bar.bottom() + 2 + metrics.ascent()), label)
            y = bar.bottom() + 5 + line
        for text in self.rows:
            if text in self.swatches:
                self._paint_class(painter, self.swatches[text], QRectF(PAD, y, SAMPLE_WIDTH, line))
            else:
                self._paint_sample(painter, text, QRectF(PAD, y, SAMPLE_WIDTH, line))
            painter.setPen(text_pen)
            painter.drawText(QPointF(PAD + SAMPLE_WIDTH + 6, y + metrics.ascent()), text)
            y += line

    @staticmethod
    def _paint_class(painter: QPainter, rgb: tuple[int, int, int], cell: QRectF) -> None:
        """A class's row: its pale background colour behind a sample dot of its colour."""
        pale = [round(255 + (c - 255) * 0.37) for c in rgb]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(QColor(*pale)))
        painter.drawRect(cell.adjusted(0, 1, 0, -1))
        painter.setPen(QPen(QColor(25, 25, 25), 1.2))
        painter.setBrush(QBrush(QColor(*rgb)))
        painter.drawEllipse(cell.center(), 4.0, 4.0)

    @staticmethod
    def _paint_sample(painter: QPainter, text: str, cell: QRectF) -> None:
        middle = cell.center().y()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if text == PALE:
            gradient = QLinearGradient(cell.topLeft(), cell.topRight())
            gradient.setColorAt(0.0, QColor(255, 255, 255))
            gradient.setColorAt(1.0, QColor(190, 190, 190))
            painter.setBrush(QBrush(gradient))
            painter.setPen(QPen(QColor(110, 110, 110), 1))
            painter.drawRect(cell.adjusted(0, 2, 0, -2))
        elif text in (BOUNDARY, BOUNDARIES):
            painter.setPen(QPen(QColor(40, 40, 40), 2.5))
            painter.drawLine(QPointF(cell.left(), middle), QPointF(cell.right(), middle))
        elif text in (NEURONS, NEURON_LINES):
            third = cell.width() / 3
            for k in range(3):
                painter.setPen(QPen(QColor(*neuron_rgb(0, k, (3,))), 2.5))
                left = cell.left() + k * third
                painter.drawLine(QPointF(left, middle + 3 - 2 * k), QPointF(left + third, middle + 1 - 2 * k))
        elif text == TICK:
            painter.setPen(QPen(QColor(*neuron_rgb(0, 0, (1,))), 2.0))
            painter.drawLine(QPointF(cell.left(), middle + 3), QPointF(cell.right(), middle + 3))
            painter.drawLine(QPointF(cell.center().x(), middle + 3), QPointF(cell.center().x(), middle - 5))
        elif text == HELD_OUT:
            for k, rgb in enumerate(CLASS_RGB):
                painter.setPen(QPen(QColor(*rgb), 2.0))
                painter.drawEllipse(QPointF(cell.left() + 6 + 13 * k, middle), 4.0, 4.0)
        elif text == COUNTERFACTUAL:  # the overlay's dashed boundary over one of its dashed neuron lines
            for y, rgb, width in ((middle - 3, (15, 15, 15), 2.5), (middle + 3, neuron_rgb(0, 0, (1,)), 2.0)):
                painter.setPen(QPen(QColor(*rgb), width, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(cell.left(), y), QPointF(cell.right(), y))
        elif text == LEFT_OUT:
            painter.setPen(QPen(QColor(20, 20, 20), 2.0))
            x, r = cell.center().x(), 4.5
            painter.drawLine(QPointF(x - r, middle - r), QPointF(x + r, middle + r))
            painter.drawLine(QPointF(x - r, middle + r), QPointF(x + r, middle - r))


class LineTag(QGraphicsItem):
    """A neuron's name on a white, semi-transparent tag edged in its colour; a child of the view box."""

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.setZValue(900)
        self.font = _font()
        self.text = ""
        self.colour = QColor(0, 0, 0)
        self._size = QRectF()

    def set_text(self, text: str, rgb: tuple[int, int, int]) -> None:
        if text != self.text:
            self.prepareGeometryChange()
            self.text = text
            metrics = QFontMetricsF(self.font)
            self._size = QRectF(0, 0, metrics.horizontalAdvance(text) + 6, metrics.height() + 2)
        self.colour = QColor(*rgb)

    def boundingRect(self) -> QRectF:
        return QRectF(self._size)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(self.colour, 1.5))
        painter.setBrush(QBrush(QColor(255, 255, 255, 215)))
        painter.drawRoundedRect(self._size.adjusted(0.75, 0.75, -0.75, -0.75), 2, 2)
        painter.setFont(self.font)
        painter.setPen(QPen(self.colour.darker(140)))
        painter.drawText(self._size, Qt.AlignmentFlag.AlignCenter, self.text)


def _clamped(rect: QRectF, bounds: QRectF) -> QRectF:
    x = min(max(rect.left(), bounds.left()), bounds.right() - rect.width())
    y = min(max(rect.top(), bounds.top()), bounds.bottom() - rect.height())
    return QRectF(x, y, rect.width(), rect.height())


def place_tags(segments: list[np.ndarray | None], sizes: list[QRectF], bounds: QRectF,
               avoid: list[QRectF]) -> list[QRectF | None]:  # fmt: skip
    """Rectangles (pixels) for the tags of lines whose visible segments are `segments` ((2, 2) pixel arrays,
    None when the line misses the view): at the end where the line enters the view if free, else the other
    end, else further along the line; None where no place along it is free of the other tags and `avoid`."""
    placed: list[QRectF] = []
    result: list[QRectF | None] = []
    for segment, size in zip(segments, sizes, strict=True):
        chosen = None
        if segment is not None:
            for t in (0.0, 1.0, 0.12, 0.88, 0.25, 0.75, 0.38, 0.62, 0.5):
                x, y = segment[0] + t * (segment[1] - segment[0])
                w, h = size.width(), size.height()
                rect = _clamped(QRectF(x - w / 2, y - h / 2, w, h), bounds)
                if not any(rect.intersects(other) for other in placed + avoid):
                    chosen = rect
                    break
        if chosen is not None:
            placed.append(chosen)
        result.append(chosen)
    return result


def emptiest_corner(key_size: QRectF, view_width: float, view_height: float, pixels: np.ndarray,
                    corners: tuple[str, ...] = CORNERS) -> str:  # fmt: skip
    """The corner where a key of that size covers fewest of the samples at `pixels` ((n, 2), view pixels);
    the first of `corners` on a tie."""
    w, h = key_size.width() + MARGIN, key_size.height() + MARGIN
    best, fewest = corners[0], None
    for corner in corners:
        xs = pixels[:, 0] > view_width - w if corner.endswith("right") else pixels[:, 0] < w
        ys = pixels[:, 1] > view_height - h if corner.startswith("bottom") else pixels[:, 1] < h
        covered = int(np.count_nonzero(xs & ys))
        if fewest is None or covered < fewest:
            best, fewest = corner, covered
    return best


class CanvasKeys:
    """The key box and the neuron tags of one view box, redrawn by update() after each frame."""

    def __init__(self, view_box):
        self.view_box = view_box
        self.key = CanvasKey(view_box)
        self.tags: list[LineTag] = []
        self.extra_rows: list[str] = []  # marks drawn over the canvas by others (the counterfactual's)

    def _to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Data points (n, 2) -> the view box's pixels (n, 2)."""
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        w, h = self.view_box.width(), self.view_box.height()
        return np.column_stack([(points[:, 0] - x0) / (x1 - x0) * w, (y1 - points[:, 1]) / (y1 - y0) * h])

    def update(self, *, background: bool, boundary: bool, neurons: bool, held_out: bool,
               samples: np.ndarray, segments: list[np.ndarray | None], widths: tuple[int, ...],
               top_left_free: bool = True, selected: tuple[int, int] | None = None,
               classes: list[tuple[str, tuple[int, int, int]]] | None = None) -> None:  # fmt: skip
        """Explains what is shown: the colour bar when the background is (with more than two `classes`, each
        class's name and colour instead, and what pale means), a legend row per kind of mark;
        tags the first-layer lines (`segments`, data coordinates) when shown and at most MAX_TAGGED_LINES;
        with a neuron `selected`, the other tags fade like their lines. The `extra_rows` come last."""
        colour_bar, rows, swatches = legend(background=background, boundary=boundary, neurons=neurons,
                                            held_out=held_out, classes=classes)  # fmt: skip
        self.key.set_content(colour_bar, rows + self.extra_rows, swatches)
        w, h = self.view_box.width(), self.view_box.height()
        corners = CORNERS if top_left_free else CORNERS[:3]
        if self.key.corner in corners:  # a tie keeps the key where it is: no hopping while panning
            corners = (self.key.corner, *(c for c in corners if c != self.key.corner))
        pixels = self._to_pixels(samples) if len(samples) else np.zeros((0, 2))
        self.key.place(w, h, emptiest_corner(self.key.boundingRect(), w, h, pixels, corners))
        tagged = segments if neurons and len(segments) <= MAX_TAGGED_LINES else []
        while len(self.tags) > len(tagged):
            tag = self.tags.pop()
            tag.setParentItem(None)
            if tag.scene() is not None:
                tag.scene().removeItem(tag)
        while len(self.tags) < len(tagged):
            self.tags.append(LineTag(self.view_box))
        for j, tag in enumerate(self.tags):
            tag.set_text(f"L1 N{j + 1}", neuron_rgb(0, j, widths))
            tag.setOpacity(1.0 if selected in (None, (0, j)) else 0.35)
        avoid = [self.key.mapRectToParent(self.key.boundingRect())] if self.key.isVisible() else []
        in_pixels = [None if s is None else self._to_pixels(s) for s in tagged]
        bounds = QRectF(2, 2, max(w - 4, 1.0), max(h - 4, 1.0))
        rects = place_tags(in_pixels, [tag.boundingRect() for tag in self.tags], bounds, avoid)
        for tag, rect in zip(self.tags, rects, strict=True):
            tag.setVisible(rect is not None)
            if rect is not None:
                tag.setPos(rect.topLeft())

    @property
    def shown_tags(self) -> list[LineTag]:
        return [tag for tag in self.tags if tag.isVisible()]


class QtKeyWidget(QWidget):
    """A CanvasKey as a widget: the key of canvases too small to carry one each (seeds side by side)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = CanvasKey(None)
        self.set_content(False, [])

    def set_content(self, colour_bar: bool, rows: list[str], swatches: dict | None = None) -> None:
        self.key.set_content(colour_bar, rows, swatches)
        self.setFixedSize(self.key.boundingRect().size().toSize())
        self.setVisible(self.key.isVisible())
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        self.key.paint(painter, None)
        painter.end()


__all__ = ["MAX_TAGGED_LINES", "CanvasKey", "CanvasKeys", "LineTag", "QtKeyWidget", "emptiest_corner",
           "legend", "place_tags"]  # fmt: skip
