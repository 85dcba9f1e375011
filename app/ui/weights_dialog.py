"""The dialog that edits a hidden neuron's incoming weights and bias as numbers (issue 25, surgery): one box
per weight, named after the neuron or input it comes from, and the bias. It only gathers the numbers;
NeuronSurgery.edit_weights applies them."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel

from app.core.surgery import neuron_name

LIMIT = 1e6  # the largest weight or bias the boxes take


def _box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox(decimals=4, minimum=-LIMIT, maximum=LIMIT, singleStep=0.1)
    box.setValue(float(value))
    return box


class WeightsDialog(QDialog):
    """Edits (layer, neuron)'s incoming weights `w` and bias `b`; values() reads them back."""

    def __init__(self, layer: int, neuron: int, w: np.ndarray, b: float, epoch: int, parent=None):
        super().__init__(parent)
        name = neuron_name(layer, neuron)
        self.setWindowTitle(f"{name}: weights and bias")
        form = QFormLayout(self)
        note = QLabel(f"{name}'s pre-activation at epoch {epoch}: each input times its weight, plus the "
                      "bias. OK makes the edited network the next epoch (undoable).")  # fmt: skip
        note.setWordWrap(True)
        form.addRow(note)
        sources = ("x", "y") if layer == 0 else [neuron_name(layer - 1, i) for i in range(len(w))]
        self.weight_boxes = [_box(v) for v in w]
        for source, box in zip(sources, self.weight_boxes, strict=True):
            form.addRow(f"from {source}", box)
        self.bias_box = _box(b)
        form.addRow("bias", self.bias_box)
        choice = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(choice.Ok | choice.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[np.ndarray, float]:
        return np.array([box.value() for box in self.weight_boxes]), float(self.bias_box.value())
