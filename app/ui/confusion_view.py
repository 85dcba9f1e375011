"""The confusion matrix of the displayed epoch (issue 23), small, under the loss plots: for more than two
classes, how many training samples of each true class (rows) the network predicts as each class (columns).
Each cell is shaded by its share of its row: the right answers (the diagonal) green, the mistakes red."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from app.ui.class_colours import class_rgb

RIGHT_RGB = (0, 140, 70)  # the diagonal: samples predicted as their own class
WRONG_RGB = (200, 40, 40)  # off the diagonal: mistakes
TITLE_HEIGHT = 30  # two lines: the title, and what rows and columns are
HEADER = 18  # the class dots' row and column
SIDE = 190  # the widget's preferred width and height


class QtConfusionView(QWidget):
    """Shows `counts` (k, k) from show_counts; hidden by the window for two classes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.names: tuple[str, ...] = ()
        self.epoch = 0
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.setToolTip("Rows: each sample's true class · columns: the class the network predicts")

    def sizeHint(self) -> QSize:
        return QSize(SIDE, SIDE)

    def show_counts(self, counts: np.ndarray, names: tuple[str, ...], epoch: int) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (len(names), len(names)):
            raise ValueError(f"counts of shape {counts.shape} for {len(names)} classes")
        if not (np.array_equal(counts, self.counts) and (names, epoch) == (self.names, self.epoch)):
            self.counts, self.names, self.epoch = counts, tuple(names), int(epoch)
            self.update()

    def title(self) -> str:
        return f"Confusion at epoch {self.epoch}\nrows: true · columns: predicted"

    def _cell_side(self) -> float:
        k = max(len(self.names), 1)
        return max(4.0, min(self.width() - HEADER - 4, self.height() - TITLE_HEIGHT - HEADER - 4) / k)

    def cell_rect(self, row: int, column: int) -> QRectF:
        side = self._cell_side()
        return QRectF(HEADER + column * side, TITLE_HEIGHT + HEADER + row * side, side, side)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        side, k = self._cell_side(), len(self.names)
        row, column = int((y - TITLE_HEIGHT - HEADER) // side), int((x - HEADER) // side)
        return (row, column) if 0 <= row < k and 0 <= column < k else None

    def describe(self, row: int, column: int) -> str:
        """The tooltip of a cell, in words."""
        of_class = int(self.counts[row].sum())
        count = int(self.counts[row, column])
        true, predicted = self.names[row], self.names[column]
        if of_class == 0:
            return f"No training sample is {true}."
        verb = "are predicted" if row != column else "are predicted, rightly,"
        percent = f"{100 * count / of_class:.0f}%"
        return f"{count} of the {of_class} {true} training samples ({percent}) {verb} {predicted}."

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
        painter.setFont(font)
        painter.setPen(QColor(60, 60, 60))
        painter.drawText(QRectF(0, 0, self.width(), TITLE_HEIGHT), Qt.AlignmentFlag.AlignLeft, self.title())
        k = len(self.names)
        if k == 0:
            return
        side = self._cell_side()
        dot = min(HEADER, side) * 0.6
        for i in range(k):  # the class dots along the top (predicted) and the left (true)
            painter.setPen(QPen(QColor(25, 25, 25), 1))
            painter.setBrush(QColor(*class_rgb(i)))
            cell = self.cell_rect(i, i)
            top = TITLE_HEIGHT + (HEADER - dot) / 2
            painter.drawEllipse(QRectF(cell.center().x() - dot / 2, top, dot, dot))
            painter.drawEllipse(QRectF((HEADER - dot) / 2, cell.center().y() - dot / 2, dot, dot))
        rows = self.counts.sum(axis=1, keepdims=True)
        share = np.divide(self.counts, rows, out=np.zeros(self.counts.shape), where=rows > 0)
        for row in range(k):
            for column in range(k):
                rect = self.cell_rect(row, column)
                rgb = np.array(RIGHT_RGB if row == column else WRONG_RGB, float)
                mixed = 255.0 + (rgb - 255.0) * share[row, column] ** 0.5  # small shares stay visible
                painter.setPen(QPen(QColor(200, 200, 200), 0.5))
                painter.setBrush(QColor(*np.round(mixed).astype(int).tolist()))
                painter.drawRect(rect)
                if side >= 16:
                    dark = share[row, column] > 0.45
                    painter.setPen(QColor(255, 255, 255) if dark else QColor(40, 40, 40))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(int(self.counts[row, column])))
        painter.end()

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(*cell), self)
        super().mouseMoveEvent(event)
