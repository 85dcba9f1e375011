"""The Counterfactual panel: progress of a retraining without some samples, then each hidden neuron's actual
change beside the change the influence maps predicted, and how well the two rank the neurons alike."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.counterfactual import Counterfactual
from app.core.network import NetworkSpec
from app.ui.palette import neuron_rgb

COLUMNS = ("Neuron", "Actual change", "Predicted", "Ranks")
IDLE_TEXT = ("What if some samples were not there? Select them on the canvas (Ctrl+drag) and choose "
             "Data > Retrain without the selected samples: the run is trained again with the same seed and "
             "batch order, without them, and drawn dashed over the real one.")  # fmt: skip


def sample_list(indices, limit: int = 8) -> str:
    """'3, 10 and 50', or the first `limit` and how many more."""
    items = [str(int(i)) for i in indices]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def correlation_words(rho: float) -> str:
    """What a rank correlation says, for someone who does not know the term."""
    if not np.isfinite(rho):
        return "undefined (every neuron changed alike, or fewer than two neurons)"
    if rho >= 0.7:
        return f"{rho:.2f}: the maps ranked the neurons much as retraining did"
    if rho >= 0.3:
        return f"{rho:.2f}: the maps got the order partly right"
    if rho > -0.3:
        return f"{rho:.2f}: the maps' order hardly matches what retraining did"
    return f"{rho:.2f}: the maps ranked the neurons against what retraining did"


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, ties sharing their mean rank (as Spearman's rho ranks them)."""
    from scipy.stats import rankdata

    return rankdata(-values)


class QtCounterfactualPanel(QWidget):
    cancelRequested = Signal()
    clearRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.intro = QLabel(IDLE_TEXT)
        self.intro.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("%p% of the epochs")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelRequested)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeaderItem(3).setToolTip("Rank by actual change / rank by predicted change")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the columns share the panel's width
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.note = QLabel()  # where the dashed network is drawn, as the displayed epoch changes
        self.note.setWordWrap(True)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove the dashed network and this comparison")
        self.clear_button.clicked.connect(self.clearRequested)
        column = QVBoxLayout(self)
        column.addWidget(self.intro)
        column.addLayout(row)
        column.addWidget(self.summary)
        column.addWidget(self.table, 1)
        column.addWidget(self.note)
        column.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignRight)
        self.show_idle()

    def show_idle(self, text: str = IDLE_TEXT) -> None:
        self.intro.setText(text)
        for widget in (self.progress, self.cancel_button, self.table, self.clear_button):
            widget.hide()
        self.summary.clear()
        self.note.clear()
        self.table.setRowCount(0)

    def show_running(self, text: str) -> None:
        self.show_idle(text)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(min(done, total))

    def show_result(self, result: Counterfactual, spec: NetworkSpec) -> None:
        """The comparison at the result's last epoch: a row per hidden neuron, largest actual change first."""
        self.progress.hide()
        self.cancel_button.hide()
        removed = sample_list(result.removed)
        plural = "s" if len(result.removed) > 1 else ""
        text = (f"What if sample{plural} {removed} had not been there? The network was trained again from "
                f"epoch {result.start_epoch:,} to {result.end_epoch:,} with the same seed and batch order, "
                f"skipping {'them' if plural else 'it'}. Dashed on the canvas: that network; crosses: the "
                "samples left out.")  # fmt: skip
        if len(result.held_out):
            held = sample_list(result.held_out)
            text += (f" Held-out sample{'s' if len(result.held_out) > 1 else ''} {held} never trained the "
                     "network, so nothing was removed for them.")  # fmt: skip
        if not result.reproduced:
            text += (f" Note: replaying the real run did not give the recorded one exactly (from epoch "
                     f"{result.mismatch_epoch:,}: were settings changed while it trained?), so changes are "
                     "measured against the replay.")  # fmt: skip
        self.intro.setText(text)
        self.summary.setText(
            f"<b>Actual change</b>: how far each neuron's incoming weights and bias moved at epoch "
            f"{result.end_epoch:,} (length of the difference). <b>Predicted</b>: the accumulated influence "
            f"of the removed sample{plural} on it over those epochs (the influence maps' “Accumulated” mode, "
            f"summed over the sample{plural}). <b>Rank correlation</b> over the {_count(result)} neurons: "
            f"{correlation_words(result.rank_correlation)}. (From the influence at epoch "
            f"{result.end_epoch:,} alone: {_short(result.rank_correlation_now)}.) <b>Ranks</b>: the neuron's "
            "place by actual change / by predicted change, 1 the largest."
        )
        self._fill_table(result, spec)
        self.table.show()
        self.clear_button.show()

    def show_note(self, text: str) -> None:
        self.note.setText(text)

    def _fill_table(self, result: Counterfactual, spec: NetworkSpec) -> None:
        names, colours = [], []
        for layer, width in enumerate(spec.widths):
            names += [f"L{layer + 1} N{j + 1}" for j in range(width)]
            colours += [neuron_rgb(layer, j, spec.widths) for j in range(width)]
        actual, predicted = np.concatenate(result.change), np.concatenate(result.predicted)
        rank_actual, rank_predicted = _ranks(actual), _ranks(predicted)
        order = np.argsort(-actual, kind="stable")
        self.table.setRowCount(len(order))
        for row, k in enumerate(order):
            cells = (names[k], f"{actual[k]:.3g}", f"{predicted[k]:.3g}",
                     f"{rank_actual[k]:g} / {rank_predicted[k]:g}")  # fmt: skip
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setForeground(QColor(*colours[k]))
                self.table.setItem(row, column, item)

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""


def _count(result: Counterfactual) -> int:
    return sum(len(c) for c in result.change)


def _short(rho: float) -> str:
    return f"{rho:.2f}" if np.isfinite(rho) else "undefined"
