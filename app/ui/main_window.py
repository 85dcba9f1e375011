"""The main window: holds the session's state (samples, network, settings, history) and wires the canvas,
the controls and the training thread together. Widgets draw; this class decides."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, PRESET_LABELS, PRESETS, SampleSet, make_preset
from app.core.history import TrainingHistory
from app.core.network import ACTIVATION_LABELS, NetworkSpec, bce_loss_and_accuracy
from app.core.training import EpochChunk, TrainConfig, Trainer
from app.ui.canvas import QtCanvas
from app.ui.controls import QtTrainingControls
from app.worker import EngineWarmUp, TrainingThread

DISPLAY_INTERVAL_MS = 25
HINT = "Left-click: add a red sample · Right-click or Shift+click: add a blue one · Space: train/pause"


class MainWindow(QMainWindow):
    def __init__(self, samples: SampleSet | None = None, spec: NetworkSpec | None = None,
                 config: TrainConfig | None = None):  # fmt: skip
        super().__init__()
        self.setWindowTitle("Unboxed")
        self.resize(1150, 780)
        self.samples = samples if samples is not None else make_preset(DEFAULT_PRESET)
        self.spec = spec or NetworkSpec()
        self.config = config or TrainConfig()
        self.generation = 0
        self.displayed_epoch = 0
        self._new_epochs_arrived = False

        self.canvas = QtCanvas()
        self.setCentralWidget(self.canvas)
        self.controls = QtTrainingControls(self.spec, self.config)
        dock = QDockWidget("Settings", self)
        dock.setObjectName("settings")
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        dock.setWidget(self.controls)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.message_label = QLabel(HINT)
        self.epoch_label = QLabel()
        self.statusBar().addWidget(self.message_label, 1)
        self.statusBar().addPermanentWidget(self.epoch_label)
        self._build_menus()

        self.training = TrainingThread(self._on_chunk, self._on_training_finished, self._on_preparing)
        self.training.set_max_rate(self.controls.speed())
        self.warm_up = None if engine.is_compiled() else EngineWarmUp(self.canvas.redraw)
        self.canvas.sampleRequested.connect(self.add_sample)
        self.controls.trainToggled.connect(self.toggle_training)
        self.controls.resetRequested.connect(self.reset)
        self.controls.specEdited.connect(self.set_spec)
        self.controls.configEdited.connect(self.set_config)
        self.controls.speedEdited.connect(self.training.set_max_rate)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.toggle_training)

        self.display_timer = QTimer(self)
        self.display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self.display_timer.timeout.connect(self._draw)
        self.display_timer.start()

        self.canvas.set_samples(self.samples)
        self.canvas.fit_data()
        self._new_run()

    # --- menus ------------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        data_menu = self.menuBar().addMenu("&Data")
        presets = data_menu.addMenu("Presets")
        self.preset_actions = QActionGroup(self)
        for name in PRESETS:
            action = QAction(PRESET_LABELS[name], self)
            action.triggered.connect(lambda _checked=False, n=name: self.load_preset(n))
            presets.addAction(action)
            self.preset_actions.addAction(action)
        clear = QAction("Clear samples", self)
        clear.triggered.connect(lambda: self.set_samples(self.samples.cleared(), "Cleared all samples."))
        data_menu.addAction(clear)
        view_menu = self.menuBar().addMenu("&View")
        fit = QAction("Fit data", self, shortcut=QKeySequence(Qt.Key.Key_F))
        fit.triggered.connect(self.canvas.fit_data)
        view_menu.addAction(fit)

    # --- state changes ----------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.training.running

    def _new_run(self) -> None:
        """Fresh weights for the current network and seed; history restarts at epoch 0."""
        self.training.stop()
        self.generation += 1
        self.trainer = Trainer(self.spec, self.config)
        loss, accuracy = self._metrics(self.trainer.params)
        self.history = TrainingHistory(self.spec, self.trainer.params, loss, accuracy)
        self._last_data_version = self.samples.version
        self.show_epoch(0)
        self.controls.set_training(False)

    def _metrics(self, params: np.ndarray) -> tuple[float, float]:
        if self.samples.n == 0:
            return float("nan"), float("nan")
        return bce_loss_and_accuracy(self.spec, params, self.samples.points, self.samples.labels)

    def add_sample(self, x: float, y: float, label: int) -> None:
        self.set_samples(self.samples.with_sample(x, y, label))

    def set_samples(self, samples: SampleSet, message: str | None = None) -> None:
        self.samples = samples
        self.canvas.set_samples(samples)
        self.training.set_samples(samples)
        if message:
            self.show_message(message)

    def load_preset(self, name: str) -> None:
        self.set_samples(make_preset(name), f"Loaded the {PRESET_LABELS[name]} preset.")
        self.canvas.fit_data()

    def set_spec(self, spec: NetworkSpec) -> None:
        was_training = self.is_training
        self.spec = spec
        self._new_run()
        shape = "-".join(str(s) for s in spec.layer_sizes)
        self.show_message(
            f"Network changed to {shape} ({ACTIVATION_LABELS[spec.activation]}): training restarted from new "
            "initial weights."
        )
        if was_training:
            self.start_training()

    def set_config(self, config: TrainConfig) -> None:
        seed_changed = config.seed != self.config.seed
        self.config = config
        if seed_changed:
            was_training = self.is_training
            self._new_run()
            self.show_message(f"Seed changed to {config.seed}: training restarted from new initial weights.")
            if was_training:
                self.start_training()
        else:
            self.training.set_config(config)
            if not self.is_training:
                self.trainer.set_config(config)

    def toggle_training(self) -> None:
        if self.is_training:
            self.pause_training()
        else:
            self.start_training()

    def start_training(self) -> None:
        problem = self.samples.training_problem()
        if problem:
            self.show_message(problem)
            return
        self.trainer.set_config(self.config)
        self.training.start(self.trainer, self.samples, self.generation)
        self.controls.set_training(True)
        self.show_message("Training…")

    def pause_training(self) -> None:
        self.training.stop()
        self.controls.set_training(False)
        self.show_message("Paused. Press Train (or Space) to resume.")

    def reset(self) -> None:
        self._new_run()
        self.show_message("Reset to epoch 0 with fresh initial weights.")

    def show_epoch(self, epoch: int) -> None:
        self.displayed_epoch = epoch
        self.canvas.show_network(self.spec, self.history.params_at(epoch))
        loss, accuracy = self.history.metrics_at(epoch)
        self.epoch_label.setText(f"Epoch {epoch} · loss {loss:.4f} · accuracy {100 * accuracy:.1f}%")

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)

    # --- training thread signals (queued into the GUI thread) ---------------------------------------
    def _on_preparing(self) -> None:
        self.show_message("Preparing the training engine… (compiling, only the first time)")

    def _on_chunk(self, generation: int, chunk: EpochChunk) -> None:
        if generation != self.generation:
            return  # a late result of a run that was reset
        if chunk.data_version != self._last_data_version:
            self.history.mark_data_change(chunk.first_epoch)
            self._last_data_version = chunk.data_version
        self.history.append(chunk)
        if self.message_label.text().startswith("Preparing"):
            self.show_message("Training…")
        self._new_epochs_arrived = True

    def _on_training_finished(self, generation: int, reason: str) -> None:
        if generation != self.generation:
            return
        self.training.stop()
        self.controls.set_training(False)
        if reason:
            self.show_message(reason)

    def _draw(self) -> None:
        """Display timer: show the newest epoch if new ones arrived (a quick preview while they keep coming),
        else let the canvas redraw or sharpen what changed."""
        if self._new_epochs_arrived:
            self._new_epochs_arrived = False
            self.show_epoch(self.history.latest_epoch)
            self.canvas.refresh(preview=self.is_training)
        else:
            self.canvas.refresh()

    def closeEvent(self, event) -> None:
        self.display_timer.stop()
        self.training.stop()
        if self.warm_up is not None:
            self.warm_up.wait()
        super().closeEvent(event)
