"""The "advanced" constants of the interpretable network's construction, as a collapsible form."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox

from app.core.essence import EssenceSettings

LABELS = {
    "m1": ("Differentia steepness m1", "d = tanh(m1 · (w·x + b))"),
    "m2": ("Subconcept steepness m2", "s = tanh(m2 · (v·d + c))"),
    "c1": ("Differentia SVM C", "Regularisation of the first layer's linear SVMs"),
    "c2": ("Subconcept SVM C", "Regularisation of the second layer's linear SVMs"),
    "concept_weight": ("Concept weight", "Weight from each subconcept to its class"),
    "concept_bias": ("Concept bias", "Bias of every concept (output) neuron"),
    "overlap_skip": ("Skip overlapping pairs above", "Share of a pair's samples a line may misclassify"),
    "max_subconcepts": ("Most subconcepts (automatic)", "The automatic search stops at this many"),
}


class QtEssenceSettings(QGroupBox):
    """Unchecked (collapsed): the paper's defaults. Checked: the constants below."""

    def __init__(self, parent=None):
        super().__init__("Advanced: construction constants", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("The constants of the Essence Neural Network construction (Blazek & Lin 2021)")
        form = QFormLayout(self)
        self.subconcepts_box = QSpinBox(minimum=0, maximum=64)
        self.subconcepts_box.setSpecialValueText("automatic")
        self.subconcepts_box.setToolTip("Total subconcepts; automatic: the fewest that classify all samples")
        form.addRow("Subconcepts", self.subconcepts_box)
        self.boxes = {}
        defaults = EssenceSettings()
        for field in fields(EssenceSettings):
            if field.name not in LABELS:
                continue
            label, tip = LABELS[field.name]
            value = getattr(defaults, field.name)
            if isinstance(value, int):
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
        """The settings to build with, and the number of subconcepts (None: automatic)."""
        if not self.isChecked():
            return EssenceSettings(), None
        values = {name: box.value() for name, box in self.boxes.items()}
        return EssenceSettings(**values), (self.subconcepts_box.value() or None)
