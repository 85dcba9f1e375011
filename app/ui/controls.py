"""The side panel of settings: network shape, training settings, and the Train/Pause and Reset buttons.
It only maps widgets to (NetworkSpec, TrainConfig) values and back; the main window decides what they do.
Enter or Escape in a field hands the keyboard back (focusReleased), so that single-key shortcuts work."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.network import ACTIVATION_LABELS, ACTIVATIONS, NetworkSpec, parse_widths
from app.core.training import OPTIMIZER_LABELS, OPTIMIZERS, TrainConfig

SPEED_STEPS_PER_DECADE = 10
SPEED_DECADES = 4  # 1 to 10,000 epochs per second, then "max"
DEFAULT_SPEED = 100.0
SPEED_SLIDER_WIDTH = 150  # the speed slider has a row of its own, at least this wide
RELEASE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


def speed_of_position(position: int) -> float | None:
    """Slider position -> epochs per second (log scale), None for the last position: as fast as possible."""
    if position >= SPEED_STEPS_PER_DECADE * SPEED_DECADES + 1:
        return None
    return float(round(10 ** (position / SPEED_STEPS_PER_DECADE), 1))


def position_of_speed(speed: float | None) -> int:
    if speed is None:
        return SPEED_STEPS_PER_DECADE * SPEED_DECADES + 1
    return int(round(SPEED_STEPS_PER_DECADE * np.log10(max(speed, 1.0))))


class _FieldsArea(QScrollArea):
    """The settings, scrolled when the panel is shorter than they are (a 720-pixel screen), so that the
    docks below keep a usable size; as tall as its content when there is room."""

    def __init__(self, content: QWidget):
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the content grew or shrank (a layer toggle, an error line)
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:
        hint, bar = self.widget().sizeHint(), self.verticalScrollBar().sizeHint().width()
        return QSize(hint.width() + bar, hint.height())

    def minimumSizeHint(self) -> QSize:
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(self.widget().minimumSizeHint().width() + bar, 120)


class QtTrainingControls(QWidget):
    specEdited = Signal(object)  # NetworkSpec
    configEdited = Signal(object)  # TrainConfig
    speedEdited = Signal(object)  # epochs per second, or None for as fast as possible
    layerCurvesToggled = Signal(int, bool)  # hidden layer (0-based, >= 1), shown
    trainToggled = Signal()
    resetRequested = Signal()
    focusReleased = Signal()  # Enter or Escape in a field: the keyboard should go back to the canvas

    def __init__(self, spec: NetworkSpec, config: TrainConfig, parent=None):
        super().__init__(parent)
        self.layers_edit = QLineEdit(spec.widths_text())
        self.layers_edit.setToolTip("Hidden layer widths, e.g. 4,4 (1 to 8 layers, 1 to 64 neurons each)")
        self.layers_error = QLabel()
        self.layers_error.setStyleSheet("color: #b00020")
        self.layers_error.setWordWrap(True)
        self.layers_error.hide()
        self.activation_box = QComboBox()
        for name in ACTIVATIONS:
            self.activation_box.addItem(ACTIVATION_LABELS[name], name)
        self.optimizer_box = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer_box.addItem(OPTIMIZER_LABELS[name], name)
        self.learning_rate_box = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1e6, singleStep=0.01)
        self.batch_box = QSpinBox(minimum=0, maximum=100000)
        self.batch_box.setSpecialValueText("full")
        self.batch_box.setToolTip("Mini-batch size; 'full' trains on all samples at once")
        self.l2_box = QDoubleSpinBox(decimals=5, minimum=0.0, maximum=10.0, singleStep=0.001)
        self.test_fraction_box = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05)
        self.test_fraction_box.setToolTip(
            "Share of the samples held out for testing (drawn hollow, not trained on)"
        )
        self.seed_box = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed_box.setToolTip("Seed of the initial weights and of the mini-batch order")
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, position_of_speed(None))
        self.speed_slider.setValue(position_of_speed(DEFAULT_SPEED))
        self.speed_slider.setToolTip(
            "Training speed on a log scale (a tick per ×10), from 1 epoch per second to as fast as possible"
        )
        self.speed_slider.setMinimumWidth(SPEED_SLIDER_WIDTH)
        self.speed_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.speed_slider.setTickInterval(SPEED_STEPS_PER_DECADE)
        self.speed_slider.setPageStep(SPEED_STEPS_PER_DECADE)
        self.speed_label = QLabel()
        self.speed_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._show_speed()
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Start or pause training (Space)")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to epoch 0 with fresh initial weights")

        network = QGroupBox("Network")
        form = QFormLayout(network)
        form.addRow("Hidden layers", self.layers_edit)
        form.addRow(self.layers_error)
        form.addRow("Activation", self.activation_box)
        training = QGroupBox("Training")
        form = QFormLayout(training)
        form.addRow("Optimizer", self.optimizer_box)
        form.addRow("Learning rate", self.learning_rate_box)
        form.addRow("Batch size", self.batch_box)
        form.addRow("L2", self.l2_box)
        form.addRow("Test fraction", self.test_fraction_box)
        form.addRow("Seed", self.seed_box)
        self.curves_group = QGroupBox("Deeper-layer boundaries")
        self.curves_group.setToolTip("Draw each neuron's zero level (its boundary) as a curve over the plane")
        self.curves_layout = QVBoxLayout(self.curves_group)
        self.layer_boxes: list[QCheckBox] = []
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.reset_button)
        fields = QWidget()
        column = QVBoxLayout(fields)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(network)
        column.addWidget(training)
        column.addWidget(self.curves_group)
        column.addStretch(1)
        self.fields_area = _FieldsArea(fields)
        speed_row = QHBoxLayout()  # the slider gets a row of its own: beside the value it was 25 px wide
        speed_row.addWidget(QLabel("Speed"))
        speed_row.addWidget(self.speed_label, 1)
        column = QVBoxLayout(self)  # speed and buttons stay in sight below the (perhaps scrolled) settings
        column.addWidget(self.fields_area)
        column.addLayout(speed_row)
        column.addWidget(self.speed_slider)
        column.addLayout(buttons)
        column.addStretch(1)
        self.fields = (self.layers_edit, self.learning_rate_box, self.batch_box, self.l2_box,
                       self.test_fraction_box, self.seed_box)  # fmt: skip
        for field in self.fields:
            field.installEventFilter(self)

        self.set_values(spec, config)
        self.layers_edit.editingFinished.connect(self._emit_spec)
        self.activation_box.currentIndexChanged.connect(self._emit_spec)
        for box in (
            self.learning_rate_box,
            self.batch_box,
            self.l2_box,
            self.test_fraction_box,
            self.seed_box,
        ):
            box.valueChanged.connect(self._emit_config)
        self.optimizer_box.currentIndexChanged.connect(self._emit_config)
        self.speed_slider.valueChanged.connect(self._speed_changed)
        self.train_button.clicked.connect(self.trainToggled)
        self.reset_button.clicked.connect(self.resetRequested)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in a field commits it, Escape in the layers field reverts it; either hands the keyboard
        back (the field's focus is cleared, and focusReleased asks for it to go to the canvas). A malformed
        layers field keeps the keyboard, with the reason shown, to be corrected."""
        if (
            watched not in self.fields
            or event.type() != QEvent.Type.KeyPress
            or event.key() not in RELEASE_KEYS
        ):
            return super().eventFilter(watched, event)
        if watched is self.layers_edit:
            if event.key() == Qt.Key.Key_Escape:
                self.layers_edit.setText(self._spec.widths_text())
            if self.spec() is None:
                return True
            self._emit_spec()
        elif event.key() != Qt.Key.Key_Escape:
            watched.interpretText()
        watched.clearFocus()
        self.focusReleased.emit()
        return True

    def set_values(self, spec: NetworkSpec, config: TrainConfig) -> None:
        widgets = (self.layers_edit, self.activation_box, self.optimizer_box, self.learning_rate_box,
                   self.batch_box, self.l2_box, self.test_fraction_box, self.seed_box)  # fmt: skip
        for widget in widgets:
            widget.blockSignals(True)
        self.layers_edit.setText(spec.widths_text())
        self.activation_box.setCurrentIndex(ACTIVATIONS.index(spec.activation))
        self.optimizer_box.setCurrentIndex(OPTIMIZERS.index(config.optimizer))
        self.learning_rate_box.setValue(config.learning_rate)
        self.batch_box.setValue(config.batch_size)
        self.l2_box.setValue(config.l2)
        self.test_fraction_box.setValue(config.test_fraction)
        self.seed_box.setValue(config.seed)
        for widget in widgets:
            widget.blockSignals(False)
        self._spec = spec

    def set_layer_count(self, n_hidden: int) -> None:
        """One toggle per deeper hidden layer (layer 1's boundaries are always drawn, as lines)."""
        if len(self.layer_boxes) == n_hidden - 1:
            return
        for box in self.layer_boxes:
            self.curves_layout.removeWidget(box)
            box.deleteLater()
        self.layer_boxes = []
        for layer in range(1, n_hidden):
            box = QCheckBox(f"Layer {layer + 1} curves")
            box.toggled.connect(lambda on, k=layer: self.layerCurvesToggled.emit(k, on))
            self.curves_layout.addWidget(box)
            self.layer_boxes.append(box)
        self.curves_group.setVisible(n_hidden > 1)
        self.fields_area.updateGeometry()

    def show_layer_curves(self, layers: list[int]) -> None:
        """Checks the curve toggles of the given hidden layers (0-based, from 1 on) and clears the others."""
        if not isinstance(layers, list):
            raise TypeError(f"the layers must be a list, not {type(layers).__name__}")
        for layer, box in enumerate(self.layer_boxes, start=1):
            box.setChecked(layer in layers)

    def set_training(self, running: bool) -> None:
        self.train_button.setText("Pause" if running else "Train")

    def spec(self) -> NetworkSpec | None:
        """The network the widgets describe, or None (with the reason shown) if the widths are malformed."""
        try:
            widths = parse_widths(self.layers_edit.text())
        except ValueError as error:
            self.layers_error.setText(str(error))
            self.layers_error.show()
            return None
        self.layers_error.hide()
        return NetworkSpec(widths, self.activation_box.currentData())

    def config(self) -> TrainConfig:
        return TrainConfig(
            optimizer=self.optimizer_box.currentData(),
            learning_rate=self.learning_rate_box.value(),
            batch_size=self.batch_box.value(),
            l2=self.l2_box.value(),
            test_fraction=self.test_fraction_box.value(),
            seed=self.seed_box.value(),
        )

    def _emit_spec(self) -> None:
        spec = self.spec()
        if spec is not None and spec != self._spec:
            self._spec = spec
            self.specEdited.emit(spec)

    def speed(self) -> float | None:
        return speed_of_position(self.speed_slider.value())

    def _show_speed(self) -> None:
        speed = self.speed()
        self.speed_label.setText("max" if speed is None else f"{speed:g} epochs/s")

    def _speed_changed(self) -> None:
        self._show_speed()
        self.speedEdited.emit(self.speed())

    def _emit_config(self) -> None:
        self.configEdited.emit(self.config())
