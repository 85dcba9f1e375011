"""The interpretable network's subconcepts per class and the "advanced" constants of its construction, as a
collapsible form in a dialog of its own (Model > Interpretable network settings), so that the network's
view keeps its room for the picture."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.essence import EssenceSettings

MAX_PER_CLASS_BOX = 30  # subconcepts per class the box offers: 900 differentiae already
LABELS = {
    "m1": ("Differentia steepness m1", "d = tanh(m1 · (w·x + b))"),
    "m2": ("Subconcept steepness m2", "s = tanh(m2 · (v·d + c))"),
    "c1": ("Differentia SVM C", "Regularisation of the first layer's linear SVMs"),
    "c2": ("Subconcept SVM C", "Regularisation of the second layer's linear SVMs"),
    "tune_concepts": ("Concept layer by gradient descent", "As the authors: SVMs on the subconcepts, then "
                      "gradient descent on that layer alone; off: fixed weights, no gradient descent at all"),
    "concept_weight": ("Concept weight (fixed)", "Weight from a subconcept's firing strength to its class"),
    "concept_bias": ("Concept bias (fixed)", "Bias of every concept (output) neuron"),
    "split_tolerance": ("Split until pairs separate within", "Automatic subconcepts: the balanced error a "
                        "pair of subconcepts may keep (the authors: 0.02)"),
    "max_subconcepts": ("Most subconcepts (automatic)", "The automatic splitting stops at this many"),
    "standardize_inputs": ("Standardize inputs", "Fit on each axis shifted to mean 0 and scaled to standard "
                           "deviation 1; off (as the authors): on the coordinates as they are"),
}  # fmt: skip


class QtEssenceSettings(QGroupBox):
    """Unchecked (collapsed): the authors' defaults, subconcepts found automatically. Checked: the number of
    subconcepts per class and the constants below."""

    def __init__(self, parent=None):
        super().__init__("Advanced: construction constants", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("The constants of the Essence Neural Network construction (Blazek & Lin 2021)")
        form = QFormLayout(self)
        self.subconcepts_box = QSpinBox(minimum=0, maximum=MAX_PER_CLASS_BOX)
        self.subconcepts_box.setSpecialValueText("automatic")
        self.subconcepts_box.setToolTip("Subconcepts of each class (Ward clusters); automatic: split as the "
                                        "authors do until every pair of subconcepts separates")  # fmt: skip
        form.addRow("Subconcepts per class", self.subconcepts_box)
        self.boxes = {}
        defaults = EssenceSettings()
        for field in fields(EssenceSettings):
            if field.name not in LABELS:
                continue
            label, tip = LABELS[field.name]
            value = getattr(defaults, field.name)
            if isinstance(value, bool):
                box = QCheckBox(checked=value)
            elif isinstance(value, int):
                box = QSpinBox(minimum=2, maximum=64, value=value)
            else:
                box = QDoubleSpinBox(decimals=3, minimum=-1e4, maximum=1e6, value=value)
            box.setToolTip(tip)
            form.addRow(label, box)
            self.boxes[field.name] = box
        self.toggled.connect(self._show_form)
        self._show_form(False)

    def _show_form(self, on: bool) -> None:
        for child in [self.subconcepts_box, *self.boxes.values()]:
            child.setVisible(on)
            self.layout().labelForField(child).setVisible(on)

    def settings(self) -> tuple[EssenceSettings, int | None]:
        """The settings to build with, and the number of subconcepts per class (None: automatic)."""
        if not self.isChecked():
            return EssenceSettings(), None
        values = {name: box.isChecked() if isinstance(box, QCheckBox) else box.value()
                  for name, box in self.boxes.items()}  # fmt: skip
        return EssenceSettings(**values), (self.subconcepts_box.value() or None)


class EssenceSettingsDialog(QDialog):
    """The settings form in a dialog that does not block; they apply to the next build (Ctrl+B)."""

    def __init__(self, form: QtEssenceSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Interpretable network settings")
        self.setModal(False)
        self.form = form
        note = QLabel("Unchecked: the network as its authors build it (Blazek & Lin 2021), subconcepts "
                      "found automatically. The settings apply to the next build (Ctrl+B).")  # fmt: skip
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        column = QVBoxLayout(self)
        column.addWidget(note)
        column.addWidget(form)
        column.addWidget(buttons)
        self.setMinimumWidth(420)
