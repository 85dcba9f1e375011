"""The interpretable network beside the trained MLP: an Essence Neural Network (Blazek & Lin, "Explainable
neural networks that simulate reasoning", 2021). Each class's samples are clustered into subconcepts, one
straight "differentia" line tells a subconcept from one of another class (a red one from a blue one), and
hovering a point says which subconcepts fire there and which lines make them fire. Drawn like the MLP canvas,
at the same zoom, in the same class colours."""

from __future__ import annotations

import colorsys
import textwrap

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QFont, QFontMetricsF, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.core.comparison import ROW_TIPS, Comparison
from app.core.dataset import SampleSet
from app.core.essence import EssenceNetwork
from app.core.fields import ClassField
from app.core.geometry import Rect, clip_line, grid_centres, level_curves
from app.ui.canvas import QtCanvas
from app.ui.class_colours import class_background, class_rgb
from app.ui.palette import prediction_lut

TITLE = "Interpretable network (Essence Neural Network, Blazek & Lin 2021)"
EMPTY_STATUS = "Press Build to build it"
STATUS_TIP = ("Subconcepts: clusters of each class's samples. Lines: the first layer, one line per pair of "
              "subconcepts of different classes it tells apart. Errors: training samples the network gets "
              "wrong.")  # fmt: skip
MIN_PLOT_HEIGHT = 100  # pixels
MAX_FIELD_PIXELS = 256  # per side of the background raster
MIN_FIELD_PIXELS = 32
MAX_LABELS = 30  # more line labels than this would only hide one another
MAX_COVERED_SHARE = 0.04  # of the samples that line labels may cover together; the other lines: on hover
DOT_RADIUS = 5.0  # pixels: a label closer than this to a sample's centre covers part of its dot
HOVER_PIXELS = 6  # how close the cursor must be to a line to name it
LABEL_SPOTS = np.linspace(0.08, 0.92, 22)  # where along its line a label may go (fractions of its length)
_CORNERS = ((-1, -1), (1, -1), (1, 1), (-1, 1))


def subconcept_rgb(subconcept_class: np.ndarray) -> list[tuple[int, int, int]]:
    """One colour per subconcept: shades of its class's colour (class_colours) from dark to light, the hue
    turned a little along the way so that neighbouring shades stay apart."""
    colours = []
    for j, k in enumerate(subconcept_class):
        same_class = np.flatnonzero(subconcept_class == k)
        hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255.0 for c in class_rgb(int(k))))
        if len(same_class) > 1:
            t = np.searchsorted(same_class, j) / (len(same_class) - 1)
            spread = min(0.04 * (len(same_class) - 1), 0.16)  # of the hue circle: still its class's hue
            hue, lightness = (hue + spread * (t - 0.5)) % 1.0, 0.28 + 0.44 * t
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colours.append((round(255 * r), round(255 * g), round(255 * b)))
    return colours


def essence_field(enn: EssenceNetwork, rect: Rect, nx: int, ny: int) -> ClassField:
    """The network's class and its softmax probability at the pixel centres of rect, its concepts as the
    logits (the canvas's ClassField of an MLP of k classes)."""
    xs, ys = grid_centres(rect, nx, ny)
    gx, gy = np.meshgrid(xs, ys)
    concepts = enn.concepts(np.column_stack([gx.ravel(), gy.ravel()])).reshape(ny, nx, -1)
    probability = 1.0 / np.exp(concepts - concepts.max(axis=-1, keepdims=True)).sum(axis=-1)
    return ClassField(rect, xs, ys, np.argmax(concepts, axis=-1), probability.astype(np.float32), concepts)


def _label_box(centre: np.ndarray, along: np.ndarray, width: float, height: float) -> QPolygonF:
    """The rectangle of this size around centre, its width along the unit vector `along`."""
    across = np.array([-along[1], along[0]])
    corners = [centre + (sx * width * along + sy * height * across) / 2 for sx, sy in _CORNERS]
    return QPolygonF([QPointF(float(x), float(y)) for x, y in corners])


class QtEssenceCanvas(QtCanvas):
    """A non-interactive canvas that draws an EssenceNetwork instead of the MLP."""

    def __init__(self, parent=None):
        super().__init__(parent, interactive=False)
        self.enn: EssenceNetwork | None = None
        pen = pg.mkPen((70, 70, 70), width=1.6, style=Qt.PenStyle.DashLine)
        self.differentia_curve = pg.PlotCurveItem(pen=pen, connect="pairs")  # every line in one item
        self.differentia_curve.setZValue(10)
        self.addItem(self.differentia_curve)
        self.differentia_segments: dict[int, np.ndarray] = {}  # differentia -> its drawn [[x0, y0], [x1, y1]]
        self.labels: list[pg.TextItem] = []  # the shown ones
        self.label_items: list[pg.TextItem] = []  # shown and hidden, reused from frame to frame
        self.label_font = QFont()
        self.label_font.setPointSizeF(8.0)
        self.subconcept_dots: list[pg.ScatterPlotItem] = []  # one per subconcept, each with one brush
        self.legend = QLabel()  # the subconcepts' colours; QtEssenceView puts it above the plot, not on it
        self.legend.setWordWrap(True)
        self.legend.setVisible(False)
        self.plotItem.showAxis("left")  # the base canvas hides them on a view that only shows
        self.plotItem.showAxis("bottom")
        self.scene().sigMouseMoved.connect(self._on_hover)

    def show_essence(self, enn: EssenceNetwork | None, samples: SampleSet) -> None:
        """Draws the samples now, tinted by subconcept, and the network (None: none) at the next refresh."""
        if enn is not None and samples.n != len(enn.sample_subconcept):
            raise ValueError(
                f"the network was built on {len(enn.sample_subconcept)} samples, not {samples.n}"
            )
        self.enn = enn
        self.hover_text = ""
        # Two classes: P(blue) through the MLP canvas's colour map; more: class_colours' RGB image.
        self.background_image.setLookupTable(prediction_lut() if enn is None or enn.n_classes == 2 else None)
        self.set_samples(samples)
        self._dirty = True

    def _draw_samples(self, samples: SampleSet) -> None:
        for dots in self.subconcept_dots:
            self.removeItem(dots)
        self.subconcept_dots = []
        self.legend.setVisible(self.enn is not None)
        if self.enn is None:
            super()._draw_samples(samples)  # red and blue, as on the MLP canvas
            return
        for dots in self.sample_dots + self.held_out_dots:
            dots.clear()
        outline = pg.mkPen((25, 25, 25), width=1.3)
        entries: list[list[str]] = [[] for _ in range(self.enn.n_classes)]  # the legend's entries, by class
        for j, rgb in enumerate(subconcept_rgb(self.enn.subconcept_class)):
            dots = pg.ScatterPlotItem(size=10, pen=outline, brush=pg.mkBrush(*rgb))
            dots.setData(pos=samples.points[self.enn.sample_subconcept == j])
            dots.setZValue(20)
            self.addItem(dots)
            self.subconcept_dots.append(dots)
            dot = '<span style="color:#{:02x}{:02x}{:02x}">\u25cf</span>'.format(*rgb)
            entries[self.enn.subconcept_class[j]].append(f"{dot}&nbsp;{self.enn.subconcept_names[j]}")
        lines = [" ".join(entry) for entry in entries]  # one line a class, wrapped to the view's width
        self.legend.setText(f'<div style="color:#1e1e1e; font-size:8pt">{"<br>".join(lines)}</div>')

    def refresh(self, preview: bool = False) -> bool:
        """Redraws background, decision contour and lines if the network, zoom or size changed."""
        if not self._dirty:
            return False
        self._dirty = False
        rect = self.view_rect()
        self.differentia_segments = {}
        if self.enn is None:
            self.background_image.clear()
            self.decision_curve.clear()
        else:
            image, levels, curve = self._field_image(rect)
            self.background_image.setImage(image, autoLevels=False)
            # Set after: an ImageItem's first setImage applies the levels set before it had an image (the
            # canvas's (0, 1)) over any it is given.
            self.background_image.setLevels(levels)
            self.background_image.setRect(QRectF(rect.xmin, rect.ymin, rect.width, rect.height))
            self.decision_curve.setData(*(curve.T if len(curve) else ([], [])))
            for k in range(self.enn.n_differentiae):
                segment = clip_line(self.enn.differentia_w[k], self.enn.differentia_b[k], rect)
                if segment is not None:
                    self.differentia_segments[k] = segment
        ends = np.concatenate([np.empty((0, 2)), *self.differentia_segments.values()])
        self.differentia_curve.setData(ends[:, 0], ends[:, 1])
        self._draw_labels(rect)
        data = self.data_frame.rect()  # shown once zoomed out, as on the MLP canvas
        zoomed_out = min(rect.width / max(data.width(), 1e-300), rect.height / max(data.height(), 1e-300))
        self.data_frame.setVisible(zoomed_out > 2.5)
        self.frames_drawn += 1
        return True

    def _field_image(self, rect: Rect) -> tuple[np.ndarray, tuple[float, float], np.ndarray]:
        """(image, levels, decision curve) over rect: two classes, P(blue) for prediction_lut and its 0.5
        contour; more, class_colours' RGB image and where the two leading concepts tie (as the MLP canvas)."""
        nx, ny = self._grid_size()
        if self.enn.n_classes > 2:
            field = essence_field(self.enn, rect, nx, ny)
            return class_background(field), (0, 255), field.decision_curve()
        xs, ys = grid_centres(rect, nx, ny)
        gx, gy = np.meshgrid(xs, ys)
        p_blue = self.enn.predict_proba(np.column_stack([gx.ravel(), gy.ravel()])).reshape(ny, nx)
        return p_blue.astype(np.float32), (0.0, 1.0), level_curves(xs, ys, p_blue, 0.5)

    def _grid_size(self) -> tuple[int, int]:
        size = self.view_box.size()
        width, height = max(size.width(), 1.0), max(size.height(), 1.0)
        scale = min(1.0, MAX_FIELD_PIXELS / max(width, height))
        return (int(np.clip(width * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)),
                int(np.clip(height * scale, MIN_FIELD_PIXELS, MAX_FIELD_PIXELS)))  # fmt: skip

    def _draw_labels(self, rect: Rect) -> None:
        """Shows the labels placed by _label_places, reusing the label items of the last frame."""
        places = self._label_places(rect) if self.enn is not None else []
        while len(self.label_items) < len(places):
            label = pg.TextItem(color=(25, 25, 25), fill=pg.mkBrush(255, 255, 255, 210), anchor=(0.5, 0.5))
            label.setFont(self.label_font)
            label.setZValue(25)
            self.addItem(label)
            self.label_items.append(label)
        for label, (text, position, angle) in zip(self.label_items, places, strict=False):
            label.setText(text)
            label.setPos(*position)
            label.setAngle(angle)
        for i, label in enumerate(self.label_items):
            label.setVisible(i < len(places))
        self.labels = self.label_items[: len(places)]

    def _label_places(self, rect: Rect) -> list[tuple[str, np.ndarray, float]]:
        """(text, position, angle in degrees) of a label along each drawn line naming the two subconcepts it
        tells apart, slid to where it crosses the fewest other lines (so it cannot be read as theirs), then
        covers the fewest samples. A label with no room clear of the view's edge and earlier labels, or that
        would take the labels past MAX_COVERED_SHARE of the samples, is left out: hovering names its line."""
        metrics = QFontMetricsF(self.label_font)
        pixels = self.view_box.width() / rect.width  # per data unit (the aspect is locked); y grows upwards
        taken: list[QPolygonF] = []
        view = QRectF(rect.xmin * pixels, rect.ymin * pixels, rect.width * pixels, rect.height * pixels)
        dots = self.samples.points * pixels
        budget = int(MAX_COVERED_SHARE * self.samples.n)
        drawn = list(self.differentia_segments)
        norms = np.linalg.norm(self.enn.differentia_w[drawn], axis=1)
        unit_w = self.enn.differentia_w[drawn] / norms[:, None]
        unit_b = self.enn.differentia_b[drawn] / norms * pixels
        places = []
        for k in drawn[:MAX_LABELS]:
            start, end = self.differentia_segments[k] * pixels
            along = (end - start) / np.linalg.norm(end - start)
            along = -along if along[0] < 0 or (along[0] == 0 and along[1] < 0) else along  # reads upright
            frame = np.column_stack([along, [-along[1], along[0]]])  # label coordinates: along, across
            text = self.enn.differentia_label(k)
            # the text item's box (its document margin is 4 px a side), and a pixel to spare around it
            width, height = metrics.horizontalAdvance(text) + 10.0, metrics.height() + 10.0
            spots = start + LABEL_SPOTS[:, None] * (end - start)
            offsets = (dots[None, :, :] - spots[:, None, :]) @ frame
            reach = (width / 2 + DOT_RADIUS, height / 2 + DOT_RADIUS)
            covered = np.all(np.abs(offsets) < reach, axis=2).sum(axis=1)
            crossings = (np.abs(spots @ unit_w.T + unit_b) < width / 2).sum(axis=1)  # its own line too
            cost = 1e3 * crossings + 30.0 * covered + np.abs(LABEL_SPOTS - 0.5)
            for i in np.argsort(cost, kind="stable"):
                if covered[i] > budget:
                    break  # the spots after it cover as many or cross more lines
                box = _label_box(spots[i], along, width, height)
                if all(view.contains(corner) for corner in box) and not any(box.intersects(o) for o in taken):
                    taken.append(box)
                    budget -= int(covered[i])
                    places.append((text, spots[i] / pixels, float(np.degrees(np.arctan2(*along[::-1])))))
                    break
        return places

    def lines_near(self, x: float, y: float) -> list[int]:
        """The drawn lines within HOVER_PIXELS of (x, y), nearest first."""
        if not self.differentia_segments or self.enn is None:
            return []
        drawn = np.array(list(self.differentia_segments))
        w, b = self.enn.differentia_w[drawn], self.enn.differentia_b[drawn]
        pixels = self.view_box.width() / max(self.view_rect().width, 1e-300)
        distance = np.abs(w @ np.array([x, y]) + b) / np.linalg.norm(w, axis=1) * pixels
        order = np.argsort(distance, kind="stable")
        return [int(drawn[i]) for i in order if distance[i] <= HOVER_PIXELS]

    def explain_at(self, x: float, y: float) -> str:
        """What the network says about (x, y); kept in hover_text and shown as a tooltip."""
        text = self.enn.explain((x, y)) if self.enn is not None else ""
        near = [self.enn.differentia_label(k) for k in self.lines_near(x, y)]
        if near:
            text = f"Line{'s' if len(near) > 1 else ''}: {', '.join(near)}. {text}"
        if text != self.hover_text:
            self.hover_text = text
            QToolTip.showText(QCursor.pos(), textwrap.fill(text, 70), self) if text else QToolTip.hideText()
        return text

    def _on_hover(self, scene_pos) -> None:
        if self.view_box.sceneBoundingRect().contains(scene_pos):
            point = self.view_box.mapSceneToView(scene_pos)
            self.explain_at(point.x(), point.y())


class QtEssenceView(QWidget):
    """Title and status, the subconcepts' legend, the network's canvas (with axes), and the MLP-versus-ENN
    table under it. Nothing but the network's own lines and labels is drawn on the plot."""

    shown = Signal()  # each time it is shown, once its splitter has taken it in: room is given then

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = title = QLabel(TITLE)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        title.setFont(font)
        title.setWordWrap(True)  # a narrow view wraps it rather than cutting it
        title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.status = QLabel(EMPTY_STATUS)
        self.status.setFont(font)
        self.status.setToolTip(STATUS_TIP)
        self.canvas = QtEssenceCanvas()
        self.canvas.setMinimumHeight(MIN_PLOT_HEIGHT)  # in a small window the table gives way, not the plot
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Measure", "MLP", "ENN"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        # The measures' names whole (a narrow view once cut them to "Traini..."); the values take the room
        # left, the ENN's wrapped onto more lines where needed ("concept layer, as the authors").
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        columns.sectionResized.connect(self._fit_rows)
        self.table.setWordWrap(True)
        self.agreement = QLabel()
        self.agreement.setWordWrap(True)  # never wider than the view
        self.agreement.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.canvas.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.setSpacing(2)
        column.addWidget(title)
        column.addWidget(self.status)
        column.addWidget(self.canvas.legend)
        column.addWidget(self.canvas, 3)
        column.addWidget(self.table, 2)  # two fifths of the room at most (its policy ignores its size hint)
        column.addWidget(self.agreement)
        self._hide_comparison()
        self._view_requested = False  # until the main window sets the zoom, the data is framed

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        QTimer.singleShot(0, self.shown.emit)  # after the splitter has handled the show

    @property
    def hover_text(self) -> str:
        return self.canvas.hover_text

    def show_essence(self, enn: EssenceNetwork | None, samples: SampleSet) -> None:
        """Shows the network built from these samples (None clears it); a different network hides the
        comparison, which was about the old one."""
        if enn is not self.canvas.enn:
            self._hide_comparison()
        self.canvas.show_essence(enn, samples)
        if not self._view_requested:
            self.canvas.fit_data()
        if enn is None:
            self.status.setText(EMPTY_STATUS)
            return
        errors = int(np.sum(enn.predict(samples.points) != samples.labels))
        wrong = "no errors" if errors == 0 else f"{errors} error{'s' if errors > 1 else ''}"
        self.status.setText(f"{enn.n_subconcepts} subconcepts · {enn.n_differentiae} lines · {wrong}")

    def set_view_rect(self, rect: Rect) -> None:
        """Shows this rectangle (widened to the canvas's aspect), e.g. the MLP canvas's."""
        self._view_requested = True
        self.canvas.set_view_rect(rect)

    def view_rect(self) -> Rect:
        return self.canvas.view_rect()

    def refresh(self) -> bool:
        """Redraws the canvas, while shown, if the network, samples, zoom or size changed; returns whether
        it drew."""
        return self.isVisible() and self.canvas.refresh()

    def show_comparison(self, comparison: Comparison) -> None:
        trained = "MLP" if comparison.epoch is None else f"MLP\nepoch {comparison.epoch:,}"
        self.table.setHorizontalHeaderLabels(["Measure", trained, "ENN"])
        rows = comparison.rows()
        self.table.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(ROW_TIPS.get(cells[0], ""))
                if c > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self._fit_rows()
        self.agreement.setText(comparison.models_agree_text)
        self.table.show()
        self.agreement.show()

    def _fit_rows(self, *_args) -> None:
        """Each row as tall as its wrapped text at the columns' widths, and all rows shown where there is
        room; in a small window the table scrolls (down to its header alone) and the picture keeps its
        minimum."""
        table = self.table
        table.resizeRowsToContents()
        header = table.horizontalHeader().sizeHint().height()
        frame = 2 * table.frameWidth()
        table.setMaximumHeight(header + table.verticalHeader().length() + frame)
        table.setMinimumHeight(header + frame + 4)

    def _hide_comparison(self) -> None:
        self.table.setRowCount(0)
        self.table.hide()
        self.agreement.clear()
        self.agreement.hide()
