"""The main window: holds the session's state (samples, network, settings, history) and wires the canvas,
the controls and the training thread together. Widgets draw; this class decides."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import engine
from app.core.comparison import Comparison, compare_models
from app.core.dataset import (
    CLASS_NAMES,
    DEFAULT_PRESET,
    PRESET_LABELS,
    PRESETS,
    RED,
    CsvError,
    SampleSet,
    make_preset,
    read_csv,
    test_mask,
    write_csv,
)
from app.core.essence import EssenceError, EssenceNetwork, EssenceSettings, build_essence
from app.core.geometry import Rect
from app.core.history import TrainingHistory
from app.core.network import ACTIVATION_LABELS, NetworkSpec, bce_loss_and_accuracy, logits
from app.core.regions import RegionCountSeries, local_affine, pattern_text
from app.core.session import SUFFIX, SessionError, load_session
from app.core.session import save_session as write_session
from app.core.training import EpochChunk, TrainConfig, Trainer
from app.ui.canvas import QtCanvas
from app.ui.controls import QtTrainingControls, position_of_speed
from app.ui.essence_settings import QtEssenceSettings
from app.ui.essence_view import QtEssenceView
from app.ui.exports import export_png, export_svg, run_animation_export_with_dialog
from app.ui.extrapolation_view import QtExtrapolationView
from app.ui.help import ICON_PATH, show_about, show_quick_guide
from app.ui.influence_panel import QtInfluencePanel
from app.ui.loss_plot import QtLossPlot
from app.ui.network_view import QtNetworkView
from app.ui.session_files import (
    apply_session,
    autosave_path,
    autosave_seconds,
    recent_files,
    remember_recent,
    window_session,
)
from app.ui.timeline import QtTimeline
from app.worker import BackgroundJob, TrainingThread

DISPLAY_INTERVAL_MS = 25
SPLIT_FRAME_SECONDS = 0.012  # a preview tick that has drawn views for this long leaves the rest to the next
FRAME_REST = 1.0  # after a frame, the event loop is left free for this many times as long as it took
REGION_COUNT_SECONDS = 0.004  # region counting per side-view tick (the plot fills in over a few seconds)
SIDE_VIEWS_HZ = 5  # the side views and loss curves redraw at most this often while epochs stream in
HINT = "Left-click: add a red sample · Right-click or Shift+click: add a blue one · Space: train/pause"


class SamplesCommand(QUndoCommand):
    """One undoable edit of the samples: the samples before and after (immutable values)."""

    def __init__(self, window: MainWindow, before: SampleSet, after: SampleSet, description: str):
        super().__init__(description)
        self.window, self.before, self.after = window, before, after

    def redo(self) -> None:
        self.window.set_samples(self.after)

    def undo(self) -> None:
        self.window.set_samples(self.before)


class MainWindow(QMainWindow):
    def __init__(self, samples: SampleSet | None = None, spec: NetworkSpec | None = None,
                 config: TrainConfig | None = None):  # fmt: skip
        super().__init__()
        self.setWindowTitle("Unboxed")
        self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.resize(1440, 900)
        self.samples = samples if samples is not None else make_preset(DEFAULT_PRESET)
        self.spec = spec or NetworkSpec()
        self.config = config or TrainConfig()
        self.generation = 0
        self.undo_stack = QUndoStack(self)
        self.session_path: str | None = None
        self.modified = False
        self._wrote_autosave = False
        self.displayed_epoch = 0
        self.live = True  # the display follows the newest epoch
        self._new_epochs_arrived = False
        self._changed_last_tick = False
        self._curves_stale = False
        self._side_views_at = 0.0
        self._side_views_epoch = -1  # the epoch the side views show
        self._side_views_pending: tuple[int, int] | None = None  # (epoch, display tick) of a half-done update
        self._display_ticks = 0
        self._next_frame_at = 0.0  # the display timer draws no frame before then (see _draw)
        self._next_view = 0  # the view the next preview tick draws first (see _draw_preview)
        self.region_counts: RegionCountSeries | None = None

        self.canvas = QtCanvas()
        self.timeline = QtTimeline()
        self.loss_plot = QtLossPlot()
        self.loss_plot.setMinimumHeight(170)
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.timeline)
        column.addWidget(self.loss_plot, 1)
        self.essence_view = QtEssenceView()
        self.essence_settings = QtEssenceSettings()
        self.essence_view.layout().addWidget(self.essence_settings)
        self.essence_view.hide()
        self.essence: EssenceNetwork | None = None
        self.essence_job: BackgroundJob | None = None  # an interpretable network being built
        self._essence_request: tuple = ()  # what the pending build was asked for; empty when none is
        self.comparison: Comparison | None = None
        models = QSplitter(Qt.Orientation.Horizontal)  # the trained MLP, and beside it the interpretable one
        models.addWidget(self.canvas)
        models.addWidget(self.essence_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(models)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 240])
        self.setCentralWidget(splitter)
        self.controls = QtTrainingControls(self.spec, self.config)
        self.influence_panel = QtInfluencePanel()
        self.network_view = QtNetworkView()
        self.extrapolation = QtExtrapolationView()
        self.docks = {}
        for title, widget, area in (
            ("Settings", self.controls, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Network", self.network_view, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Extrapolation", self.extrapolation, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Influence", self.influence_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(title.lower())
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetMovable)  # fmt: skip
            self.addDockWidget(area, dock)
            self.docks[title] = dock
        self.docks["Settings"].setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.tabifyDockWidget(self.docks["Network"], self.docks["Extrapolation"])
        self.docks["Network"].raise_()
        self.resizeDocks([self.docks["Influence"]], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Settings"], self.docks["Network"]], [480, 260], Qt.Orientation.Vertical)
        self.selected: tuple[int, int] | None = None
        self.message_label = QLabel(HINT)
        self.epoch_label = QLabel()
        self.statusBar().addWidget(self.message_label, 1)
        self.statusBar().addPermanentWidget(self.epoch_label)
        self._build_menus()

        self.training = TrainingThread(
            self._on_chunk, self._on_training_finished, self._on_preparing, on_notice=self.show_message
        )
        self.training.set_max_rate(self.controls.speed())
        # Compiles the engine (or loads numba's cache) at start-up, so that nothing waits for it. If that
        # fails, the error is dropped here: the training worker tries again, falls back to torch, says so.
        self.warm_up = None if engine.is_compiled() else BackgroundJob(engine.warm_up, self.canvas.redraw)
        self.canvas.sampleRequested.connect(self.add_sample)
        self.canvas.samplesEdited.connect(self.edit_samples)
        self.canvas.regionClicked.connect(self.show_region_neurons)
        self.extrapolation.canvas.regionClicked.connect(self.show_region_neurons)
        self.controls.trainToggled.connect(self.toggle_training)
        self.controls.resetRequested.connect(self.reset)
        self.controls.specEdited.connect(self.set_spec)
        self.controls.configEdited.connect(self.set_config)
        self.controls.speedEdited.connect(self.training.set_max_rate)
        self.controls.layerCurvesToggled.connect(self.canvas.show_layer_curves)
        self.timeline.epochRequested.connect(self.scrub_to)
        self.timeline.liveRequested.connect(self.go_live)
        self.loss_plot.epochRequested.connect(self.scrub_to)
        self.influence_panel.neuronClicked.connect(self.select_neuron)
        self.network_view.neuronClicked.connect(self.select_neuron)
        self.extrapolation.viewRectRequested.connect(self.canvas.set_view_rect)
        self.canvas.view_box.sigRangeChanged.connect(self._main_view_moved)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.toggle_training)
        for key, action in (
            (Qt.Key.Key_Left, lambda: self.timeline.step(-1)),
            (Qt.Key.Key_Right, lambda: self.timeline.step(1)),
            (Qt.Key.Key_PageUp, lambda: self.timeline.step(-10)),
            (Qt.Key.Key_PageDown, lambda: self.timeline.step(10)),
            (Qt.Key.Key_Home, self.timeline.jump_to_start),
            (Qt.Key.Key_End, self.timeline.go_live),
        ):
            QShortcut(QKeySequence(key), self, action)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(int(1000 * autosave_seconds()))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.display_timer = QTimer(self)
        self.display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self.display_timer.timeout.connect(self._draw)
        self.display_timer.start()

        self._show_samples()
        self.canvas.fit_data()
        self._new_run()

    # --- menus ------------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, key, slot in (
            ("Open…", QKeySequence.StandardKey.Open, self.open_session),
            ("Save", QKeySequence.StandardKey.Save, self.save_session),
            ("Save As…", QKeySequence.StandardKey.SaveAs, self.save_session_as),
        ):
            action = QAction(text, self, shortcut=QKeySequence(key))
            action.triggered.connect(lambda _checked=False, f=slot: f())
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.export_menu = file_menu.addMenu("Export")
        for text, key, slot in (
            ("Canvas as PNG (2x)…", "Ctrl+Shift+P", lambda: self.export_picture(self.canvas, "png")),
            ("Window as PNG (2x)…", "", lambda: self.export_picture(self, "png")),
            ("Canvas as SVG…", "", lambda: self.export_picture(self.canvas, "svg")),
            ("Training as animated GIF…", "Ctrl+Shift+G", self.export_animation),
        ):
            action = QAction(text, self, shortcut=QKeySequence(key))
            action.triggered.connect(lambda _checked=False, f=slot: f())
            self.export_menu.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self, shortcut=QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        data_menu = self.menuBar().addMenu("&Data")
        presets = data_menu.addMenu("Presets")
        self.preset_actions = QActionGroup(self)
        for name in PRESETS:
            action = QAction(PRESET_LABELS[name], self)
            action.triggered.connect(lambda _checked=False, n=name: self.load_preset(n))
            presets.addAction(action)
            self.preset_actions.addAction(action)
        clear = QAction("Clear samples", self, shortcut=QKeySequence("Ctrl+Shift+Backspace"))
        clear.setToolTip("Remove every sample (undoable)")
        clear.triggered.connect(lambda: self.edit_samples(self.samples.cleared(), "Clear samples"))
        data_menu.addAction(clear)
        data_menu.addSeparator()
        for text, key, slot in (
            ("Import CSV…", "Ctrl+I", self.import_csv),
            ("Export CSV…", "Ctrl+E", self.export_csv),
        ):
            action = QAction(text, self, shortcut=QKeySequence(key))
            action.triggered.connect(slot)
            data_menu.addAction(action)
        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addActions([undo, redo])
        edit_menu.addSeparator()
        self.class_actions = QActionGroup(self)
        for label, (text, key) in enumerate((("Add red samples", "1"), ("Add blue samples", "2"))):
            action = QAction(text, self, shortcut=QKeySequence(key), checkable=True)
            action.setChecked(label == RED)
            action.setToolTip(
                f"What a plain click (and the brush) adds; right-click adds the other colour ({key})"
            )
            action.triggered.connect(lambda _checked=False, c=label: self.set_current_label(c))
            self.class_actions.addAction(action)
            edit_menu.addAction(action)
        self.brush_action = QAction("Brush", self, shortcut=QKeySequence(Qt.Key.Key_B), checkable=True)
        self.brush_action.setToolTip(
            "Drag to spray samples of the current colour (B; or hold B on the canvas)"
        )
        self.brush_action.toggled.connect(self.set_brush)
        edit_menu.addAction(self.brush_action)
        delete = QAction("Delete selected", self, shortcut=QKeySequence(Qt.Key.Key_Delete))
        delete.setToolTip("Delete the selected samples (Ctrl+drag selects), or the one under the cursor")
        delete.triggered.connect(self.canvas.delete_selected_or_hovered)
        edit_menu.addAction(delete)
        toolbar = self.addToolBar("Edit")
        toolbar.setObjectName("edit-toolbar")
        toolbar.addActions([undo, redo])
        toolbar.addSeparator()
        toolbar.addActions(self.class_actions.actions())
        toolbar.addAction(self.brush_action)
        self.density_box = QSpinBox(minimum=1, maximum=20, value=3, prefix="density ")
        self.density_box.setToolTip("Samples the brush sprays per mouse move")
        self.density_box.valueChanged.connect(lambda v: setattr(self.canvas.view_box, "brush_density", v))
        toolbar.addWidget(self.density_box)
        view_menu = self.menuBar().addMenu("&View")
        for title in ("Influence", "Network", "Extrapolation"):
            action = self.docks[title].toggleViewAction()
            action.setText(f"{title} panel")
            view_menu.addAction(action)
        view_menu.addSeparator()
        fit = QAction("Fit data", self, shortcut=QKeySequence(Qt.Key.Key_F))
        fit.setToolTip("Frame the samples")
        fit.triggered.connect(lambda: self.canvas.fit_data())
        view_menu.addAction(fit)
        for text, factor, key in (("Zoom out ×10", 10.0, "Ctrl+-"), ("Zoom out ×100", 100.0, "Ctrl+Shift+-"),
                                  ("Zoom in ×10", 0.1, "Ctrl+=")):  # fmt: skip
            action = QAction(text, self, shortcut=QKeySequence(key))
            action.triggered.connect(lambda _checked=False, f=factor: self.canvas.zoom(f))
            view_menu.addAction(action)
        self.regions_action = QAction("Activation regions", self, shortcut=QKeySequence(Qt.Key.Key_R))
        self.regions_action.setCheckable(True)
        self.regions_action.setToolTip(
            "The pieces of the network: regions where every hidden neuron keeps its on/off state (exact "
            "linear pieces for ReLU and leaky ReLU). Hover one to read its pattern and function; Ctrl+click "
            "it to light its active neurons in the network diagram."
        )
        self.regions_action.toggled.connect(self.set_show_regions)
        view_menu.addAction(self.regions_action)
        fill_menu = view_menu.addMenu("Region fill")
        self.region_fill_actions = {}
        fill_group = QActionGroup(self)
        for fill, text in (("patterns", "A pale colour per region"), ("slope", "Shade by the output's slope"),
                           ("none", "Edges only")):  # fmt: skip
            action = QAction(text, self, checkable=True, checked=fill == "patterns")
            action.triggered.connect(lambda _checked=False, f=fill: self.set_regions_fill(f))
            fill_group.addAction(action)
            fill_menu.addAction(action)
            self.region_fill_actions[fill] = action
        self.essence_action = QAction("Interpretable network", self, shortcut=QKeySequence("Ctrl+Shift+B"))
        self.essence_action.setCheckable(True)
        self.essence_action.setToolTip("Show the interpretable network beside the trained one")
        self.essence_action.toggled.connect(self.essence_view.setVisible)
        view_menu.addAction(self.essence_action)
        help_menu = self.menuBar().addMenu("&Help")
        guide = QAction("Quick guide", self, shortcut=QKeySequence(QKeySequence.StandardKey.HelpContents))
        guide.triggered.connect(lambda: show_quick_guide(self))
        about = QAction("About Unboxed", self)
        about.triggered.connect(lambda: show_about(self))
        help_menu.addActions([guide, about])
        model_menu = self.menuBar().addMenu("&Model")
        build = QAction("Build interpretable network", self, shortcut=QKeySequence("Ctrl+B"))
        build.setToolTip("Build an Essence Neural Network (Blazek & Lin 2021) for the samples, without "
                         "gradient descent, and compare it with the trained network")  # fmt: skip
        build.triggered.connect(self.build_essence_in_background)
        model_menu.addAction(build)

    # --- state changes ----------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.training.running

    def _new_run(self) -> None:
        """Fresh weights for the current network and seed; history restarts at epoch 0."""
        self.training.stop()
        self.generation += 1
        self.trainer = Trainer(self.spec, self.config)
        (loss, accuracy), (test_loss, test_accuracy) = self._metrics(self.trainer.params)
        self.history = TrainingHistory(
            self.spec,
            self.trainer.params,
            loss,
            accuracy,
            initial_test_loss=test_loss,
            initial_test_acc=test_accuracy,
        )
        self._last_data_version = self.samples.version
        self.live = True
        self.timeline.stop_playing()
        self.controls.set_layer_count(len(self.spec.widths))
        if self.selected is not None:
            self.select_neuron(*self.selected)  # clears it: the neuron may not exist any more
        self.show_epoch(0)
        self.refresh_curves()
        self.controls.set_training(False)

    def _metrics(self, params: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
        """(loss, accuracy) on the training part and on the held-out part (NaN where a part is empty)."""
        parts = self.samples.split(self.config.test_fraction, self.config.seed)
        return tuple(bce_loss_and_accuracy(self.spec, params, p.points, p.labels) for p in parts)

    def _show_samples(self) -> None:
        mask = test_mask(self.samples.n, self.config.test_fraction, self.config.seed)
        self.canvas.set_samples(self.samples, mask)
        self.extrapolation.set_samples(self.samples, mask)

    def _main_view_moved(self, *_args) -> None:
        self.extrapolation.show_main_view(self.canvas.view_rect())
        self.essence_view.set_view_rect(self.canvas.view_rect())  # side by side at the same zoom

    def build_essence(self) -> bool:
        """Builds the interpretable network for the training samples and compares it with the MLP, in this
        thread (the command line, tests); Model > Build uses build_essence_in_background."""
        training, held_out, settings, n_subconcepts = self._essence_inputs()
        try:
            enn = build_essence(training, settings, n_subconcepts)
        except EssenceError as error:
            self.show_message(f"Could not build the interpretable network: {error}")
            return False
        self._show_built_essence(enn, training, held_out)
        return True

    def build_essence_in_background(self) -> None:
        """Model > Build: builds in a thread (seconds for thousands of samples) while the window stays
        usable; the network is shown when it arrives unless the samples or its settings changed meanwhile."""
        if self._essence_request:  # until its result has arrived, not only until its thread has ended
            self.show_message("Still building the interpretable network…")
            return
        training, held_out, settings, n_subconcepts = self._essence_inputs()
        self._essence_request = (self.samples, self.config, settings, n_subconcepts, training, held_out)
        self.show_message(f"Building the interpretable network for {training.n:,} samples…")
        self.essence_job = BackgroundJob(lambda: build_essence(training, settings, n_subconcepts),
                                         self._on_essence_built)  # fmt: skip

    def _on_essence_built(self, enn: EssenceNetwork | None, error: Exception | None) -> None:
        request, self._essence_request = self._essence_request, ()
        if not request:  # the window closed while it was being built
            return
        samples, config, settings, n_subconcepts, training, held_out = request
        if isinstance(error, EssenceError):
            self.show_message(f"Could not build the interpretable network: {error}")
        elif error is not None:
            self.show_message(f"Building the interpretable network failed: {type(error).__name__}: {error}")
        elif (
            samples is not self.samples
            or (config.test_fraction, config.seed) != (self.config.test_fraction, self.config.seed)
            or (settings, n_subconcepts) != self.essence_settings.settings()
        ):
            self.show_message("The samples or settings changed while the interpretable network was being "
                              "built: build it again (Ctrl+B) for the new ones.")  # fmt: skip
        else:
            self._show_built_essence(enn, training, held_out)

    def _essence_inputs(self) -> tuple[SampleSet, SampleSet, EssenceSettings, int | None]:
        """(training samples, held-out samples, settings, subconcepts or None) for a build now."""
        training, held_out = self.samples.split(self.config.test_fraction, self.config.seed)
        settings, n_subconcepts = self.essence_settings.settings()
        return training, held_out, settings, n_subconcepts

    def _show_built_essence(self, enn: EssenceNetwork, training: SampleSet, held_out: SampleSet) -> None:
        self.essence = enn
        self.essence_view.show_essence(self.essence, training)
        self.essence_view.set_view_rect(self.canvas.view_rect())
        self.essence_action.setChecked(True)
        self.comparison = self.compare_models(training, held_out)
        self.essence_view.show_comparison(self.comparison)
        self.show_message(f"Built an interpretable network: {self.essence.n_subconcepts} subconcepts, "
                          f"{self.essence.n_neurons} neurons.")  # fmt: skip

    def compare_models(self, training: SampleSet, held_out: SampleSet) -> Comparison:
        params = self.history.params_at(self.displayed_epoch)

        def mlp_predict(points):
            return (logits(self.spec, params, points) > 0).astype(int)

        return compare_models(training, held_out, mlp_predict, self.essence.predict,
                              sum(self.spec.widths) + 1, self.essence.n_neurons)  # fmt: skip

    def add_sample(self, x: float, y: float, label: int) -> None:
        self.edit_samples(self.samples.with_sample(x, y, label), f"Add {CLASS_NAMES[label]} sample")

    def edit_samples(self, samples: SampleSet, description: str) -> None:
        """Every edit of the samples goes through here, so that each one can be undone."""
        self.undo_stack.push(SamplesCommand(self, self.samples, samples, description))
        self.set_modified()

    def set_modified(self, modified: bool = True) -> None:
        self.modified = modified
        if self.session_path or modified:
            name = Path(self.session_path).name if self.session_path else "untitled"
            self.setWindowTitle(f"Unboxed — {name}{' *' if modified else ''}")
        else:
            self.setWindowTitle("Unboxed")

    # --- sessions -----------------------------------------------------------------------------------------
    def open_session(self, path: str | None = None) -> bool:
        """Opens a saved session; a damaged, foreign or newer file changes nothing and says why."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open session", "", f"Unboxed sessions (*{SUFFIX})")
            if not path:
                return False
        try:
            session = load_session(path)
        except (OSError, SessionError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            QMessageBox.warning(self, "Open session", f"Could not open {Path(path).name}: {reason}")
            return False
        apply_session(self, session)
        self.session_path = str(path)
        self.set_modified(False)
        remember_recent(path)
        self.show_message(f"Opened {Path(path).name}: {session.samples.n} samples, "
                          f"{self.history.latest_epoch} epochs.")  # fmt: skip
        return True

    def save_session(self, path: str | None = None) -> bool:
        path = path or self.session_path
        if not path:
            return self.save_session_as()
        try:
            self._write_session(path)
        except OSError as error:
            QMessageBox.warning(self, "Save session", f"Could not save {Path(path).name}: "
                                f"{error.strerror or error}. The previous file is unchanged.")  # fmt: skip
            return False
        self.session_path = str(path)
        self.set_modified(False)
        remember_recent(path)
        self.show_message(f"Saved {Path(path).name}.")
        return True

    def save_session_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", f"session{SUFFIX}",
                                              f"Unboxed sessions (*{SUFFIX})")  # fmt: skip
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_session(path)

    def export_picture(self, widget, kind: str, path: str | None = None) -> bool:
        """Exports the canvas or the window as a PNG at twice the screen resolution, or as SVG."""
        if not path:
            pattern = "PNG images (*.png)" if kind == "png" else "SVG drawings (*.svg)"
            path, _ = QFileDialog.getSaveFileName(self, "Export picture", f"unboxed.{kind}", pattern)
            if not path:
                return False
        self.draw_for_export()
        try:
            (export_png if kind == "png" else export_svg)(widget, path)
        except OSError as error:
            QMessageBox.warning(self, "Export picture", f"Could not write {Path(path).name}: {error}")
            return False
        self.show_message(f"Wrote {Path(path).name}.")
        return True

    def export_animation(self, path: str | None = None) -> bool:
        """The canvas across the recorded epochs as an animated GIF (at most 300 frames), with progress."""
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export animation", "training.gif", "GIF (*.gif)")
            if not path:
                return False
        was_training = self.is_training
        if was_training:
            self.pause_training()
        try:
            done = run_animation_export_with_dialog(self, path)
        except (OSError, ValueError) as error:
            QMessageBox.warning(self, "Export animation", f"Could not write {Path(path).name}: {error}")
            return False
        self.show_message(f"Wrote {Path(path).name}." if done else "Animation export cancelled.")
        return done

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_session(p))
        self.recent_menu.setEnabled(True)

    def autosave(self) -> None:
        """Every minute, unsaved work goes to the application-data folder, for recovery after a crash."""
        if not self.modified:
            return
        path = autosave_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._write_session(path)
            self._wrote_autosave = True
        except OSError as error:
            self.show_message(f"Autosave failed: {error.strerror or error}")

    def _write_session(self, path) -> None:
        """Writes the session; training (if running) stands still meanwhile, since its state is read."""
        was_training = self.is_training
        if was_training:
            self.training.stop()
        try:
            write_session(path, window_session(self))
        finally:
            if was_training:
                self.training.start(self.trainer, self.samples, self.generation)

    def set_current_label(self, label: int) -> None:
        self.canvas.view_box.current_label = label
        self.class_actions.actions()[label].setChecked(True)

    def set_brush(self, on: bool) -> None:
        self.canvas.brush_tool_on = on
        self.canvas.view_box.brush_on = on
        if on:
            self.show_message("Brush: drag on the canvas to spray samples of the current colour.")

    def set_samples(self, samples: SampleSet, message: str | None = None) -> None:
        """New data; training (if running) goes on from the newest epoch with it, and the display follows."""
        self.samples = samples
        self._show_samples()
        self._show_influence()
        self.training.set_samples(samples)
        if self.is_training and not self.live:
            self.go_live()
        if message:
            self.show_message(message)

    def load_preset(self, name: str) -> None:
        self.edit_samples(make_preset(name), f"Load the {PRESET_LABELS[name]} preset")
        self.show_message(f"Loaded the {PRESET_LABELS[name]} preset.")
        self.canvas.fit_data()

    def import_csv(self, path: str | None = None) -> bool:
        """Replaces the samples by a CSV file's (undoable); a malformed file changes nothing."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import samples", "", "CSV files (*.csv);;All files (*)"
            )
            if not path:
                return False
        try:
            samples = read_csv(path)
        except (OSError, CsvError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            QMessageBox.warning(self, "Import CSV", f"Could not import {Path(path).name}: {reason}")
            return False
        self.edit_samples(samples, f"Import {Path(path).name}")
        self.canvas.fit_data()
        self.show_message(f"Imported {samples.n} samples from {Path(path).name}.")
        return True

    def export_csv(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export samples", "samples.csv", "CSV files (*.csv)")
            if not path:
                return False
        try:
            write_csv(self.samples, path)
        except OSError as error:
            QMessageBox.warning(self, "Export CSV", f"Could not write {path}: {error.strerror}")
            return False
        self.show_message(f"Wrote {self.samples.n} samples to {Path(path).name}.")
        return True

    def set_spec(self, spec: NetworkSpec) -> None:
        self.set_modified()
        shape = "-".join(str(s) for s in spec.layer_sizes)
        self._restart_run(f"Network changed to {shape} ({ACTIVATION_LABELS[spec.activation]}): training "
                          "restarted from new initial weights.", spec=spec)  # fmt: skip

    def set_config(self, config: TrainConfig) -> None:
        self.set_modified()
        split_changed = (config.test_fraction, config.seed) != (self.config.test_fraction, self.config.seed)
        if config.seed != self.config.seed:
            self._restart_run(f"Seed changed to {config.seed}: training restarted from new initial weights.",
                              config=config)  # fmt: skip
        else:
            self.config = config
            self.training.set_config(config)
            if not self.is_training:
                self.trainer.set_config(config)
        if split_changed:
            self._show_samples()
            self._show_influence()

    def _restart_run(
        self, message: str, spec: NetworkSpec | None = None, config: TrainConfig | None = None
    ) -> None:
        """A new network or seed: fresh weights, history from epoch 0, training again if it was on. Training
        stops before anything changes: stopping delivers the old run's queued epochs and end of training,
        which must meet the old settings (the soak found the diagram drawing old weights with a new
        network's indices)."""
        was_training = self.is_training
        self.training.stop()
        self.spec = spec or self.spec
        self.config = config or self.config
        self._new_run()
        self.show_message(message)
        if was_training:
            self.start_training()

    def toggle_training(self) -> None:
        if self.is_training:
            self.pause_training()
        else:
            self.start_training()

    def start_training(self) -> None:
        problem = self.samples.training_problem(self.config.test_fraction, self.config.seed)
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
        self.show_epoch(self.displayed_epoch)
        self.refresh_curves()
        self.show_message("Paused. Press Train (or Space) to resume.")

    def reset(self) -> None:
        self._new_run()
        self.set_modified()
        self.show_message("Reset to epoch 0 with fresh initial weights.")

    def show_epoch(self, epoch: int) -> None:
        """Displays `epoch` in every view (the canvas repaints at the next display tick)."""
        epoch = int(np.clip(epoch, 0, self.history.latest_epoch))
        self.displayed_epoch = epoch
        self.canvas.show_network(self.spec, self.history.params_at(epoch))
        loss, accuracy = self.history.metrics_at(epoch)
        test_loss, test_accuracy = self.history.test_metrics_at(epoch)
        kept = self.history.recorded_epoch(epoch)
        text = f"Epoch {epoch}" if kept == epoch else f"Epoch {epoch} (nearest kept: {kept})"
        text += f" · loss {loss:.4f} · accuracy {100 * accuracy:.1f}%"
        if np.isfinite(test_loss):
            text += f" · test loss {test_loss:.4f} · test accuracy {100 * test_accuracy:.1f}%"
        self.epoch_label.setText(text)
        self.timeline.show_state(epoch, self.history.latest_epoch, self.live, self.history.data_changes)
        self._update_side_views()

    def _update_side_views(self, force: bool = False) -> None:
        """The loss plot, network diagram, extrapolation and influence views follow the displayed epoch at
        most SIDE_VIEWS_HZ times a second while epochs stream in (training, scrubbing, playing): they are for
        reading, and repainting them for every frame would take the display's time. Each update is split over
        two display ticks, so that no frame carries all of it; _draw catches up, force does it all now."""
        pending = self._side_views_pending
        if pending is not None and (force or self._display_ticks > pending[1]):
            self._follow_in_maps(pending[0])
        now = time.perf_counter()
        if force or (self._side_views_pending is None and now - self._side_views_at >= 1 / SIDE_VIEWS_HZ):
            self._side_views_at = now
            self._follow_in_plots(self.displayed_epoch)
            if force:
                self._follow_in_maps(self.displayed_epoch)

    def _follow_in_plots(self, epoch: int) -> None:
        """First half of a side-view update: the loss plot (curves and cursor in one repaint), the diagram."""
        if self._curves_stale:
            self.refresh_curves()
        self.loss_plot.set_cursor(epoch)
        self.network_view.show_network(self.spec, self.history.params_at(epoch))
        self.update_region_counts()
        self._side_views_pending = (epoch, self._display_ticks)

    def _follow_in_maps(self, epoch: int) -> None:
        """Second half: the extrapolation view and the influence maps."""
        epoch = min(epoch, self.history.latest_epoch)  # a reset may have come in between
        self.extrapolation.show_network(self.spec, self.history.params_at(epoch))
        self._show_influence(epoch)
        self._side_views_pending = None
        self._side_views_epoch = epoch

    def _data_frame(self) -> Rect:
        """The data's extent with a 10% margin: what the influence maps and the region count look at."""
        xmin, xmax, ymin, ymax = self.samples.extent()
        margin = 0.1 * max(xmax - xmin, ymax - ymin)
        return Rect(xmin - margin, xmax + margin, ymin - margin, ymax + margin)

    def _show_influence(self, epoch: int | None = None) -> None:
        """The influence maps (at `epoch`, default the displayed one) frame the data, whatever the main view's
        zoom."""
        training_part = self.samples.split(self.config.test_fraction, self.config.seed)[0]
        frame = self._data_frame()
        epoch = self.displayed_epoch if epoch is None else min(epoch, self.history.latest_epoch)
        self.influence_panel.show_state(self.spec, self.history, epoch, training_part, frame)

    def set_show_regions(self, shown: bool) -> None:
        """The activation-regions overlay on the canvas and the extrapolation view; the region-count plot."""
        for canvas in (self.canvas, self.extrapolation.canvas):
            canvas.set_show_regions(shown)
        self.loss_plot.set_regions_shown(shown)
        if not shown:
            self.network_view.set_active(None)
        self.update_region_counts()

    def set_regions_fill(self, fill: str) -> None:
        self.region_fill_actions[fill].setChecked(True)
        for canvas in (self.canvas, self.extrapolation.canvas):
            canvas.set_regions_fill(fill)

    def show_region_neurons(self, x: float, y: float) -> None:
        """Lights the neurons that are on in the region at (x, y) in the network diagram."""
        if not self.regions_action.isChecked():
            return
        params = self.history.params_at(self.displayed_epoch)
        pattern, _, _ = local_affine(self.spec, params, np.array([x, y]))
        self.network_view.set_active(pattern)
        on = int(pattern.sum())
        self.show_message(
            f"Region {pattern_text(pattern, self.spec.widths)}: {on} of {len(pattern)} hidden neurons on, "
            "lit in the network diagram. Ctrl+click elsewhere for another region."
        )

    def update_region_counts(self) -> None:
        """The number of regions in the data's extent over the epochs, a little more at every call."""
        if not self.regions_action.isChecked():
            return
        frame = self._data_frame()
        if self.region_counts is None or not self.region_counts.fits(self.spec, frame, self.history):
            self.region_counts = RegionCountSeries(self.spec, frame, self.history)
        if self.region_counts.update(REGION_COUNT_SECONDS):
            self.loss_plot.set_region_counts(*self.region_counts.series())

    def select_neuron(self, layer: int, neuron: int) -> None:
        """Selects a hidden neuron everywhere (clicking the selected one again clears the selection)."""
        self.selected = None if self.selected == (layer, neuron) else (layer, neuron)
        self.canvas.set_selected(self.selected)
        self.influence_panel.set_selected(self.selected)
        self.network_view.set_selected(*(self.selected or (None, None)))
        if self.selected:
            self.show_message(f"Selected neuron L{layer + 1} N{neuron + 1}; click it again to clear.")

    def scrub_to(self, epoch: int) -> None:
        """The user picked an epoch (timeline, keys, loss plot, Play): leave live mode and show it."""
        self.live = False
        self.show_epoch(epoch)

    def go_live(self) -> None:
        self.live = True
        self.show_epoch(self.history.latest_epoch)

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
        if not self.modified:
            self.set_modified()
        if self.message_label.text().startswith("Preparing"):
            self.show_message("Training…")
        self._new_epochs_arrived = True

    def _on_training_finished(self, generation: int, reason: str) -> None:
        if generation != self.generation:
            return
        self.training.stop()
        self.controls.set_training(False)
        self.show_epoch(self.history.latest_epoch if self.live else self.displayed_epoch)
        self.refresh_curves()
        if reason:
            self.show_message(reason)

    def _draw(self) -> None:
        """Display timer: follow the newest epoch when live, update the timeline and the loss curves, and let
        the canvas redraw what changed: a quick preview while changes keep coming (training, scrubbing,
        playing, dragging), the sharp picture as soon as they stop. After a long frame (a big network, many
        samples) the next waits as long again: clicks and keys never queue behind frame after frame."""
        started = time.perf_counter()
        if started < self._next_frame_at:
            return
        self._display_ticks += 1
        if self._new_epochs_arrived:
            self._new_epochs_arrived = False
            self._curves_stale = True
            self.show_epoch(self.history.latest_epoch if self.live else self.displayed_epoch)
        if self._side_views_epoch != self.displayed_epoch or self._curves_stale:
            self._update_side_views()
        changed = self.canvas.dirty
        preview = changed and self._changed_last_tick
        # While training, a sharp frame (a tick without a new epoch) still redraws a wide layer's influence
        # maps a few per frame: all 64 at once would hold the window for a tenth of a second.
        if preview:
            self._draw_preview()
        else:
            self.render_frame(preview=False, maps_in_turn=self.is_training)
        self._changed_last_tick = changed
        finished = time.perf_counter()
        self._next_frame_at = finished + FRAME_REST * (finished - started)

    def _draw_preview(self) -> None:
        """A display tick while changes stream in: the views draw in turn until the tick has taken
        SPLIT_FRAME_SECONDS, and the next tick goes on with the view after the last one drawn. Quick views all
        draw every tick; slow ones (a wide network, many samples) share the ticks, so that no tick holds the
        window for all of them."""
        views = self._view_refreshers(preview=True, maps_in_turn=True)
        started = time.perf_counter()
        for k in range(len(views)):
            view = (self._next_view + k) % len(views)
            views[view]()
            if time.perf_counter() - started > SPLIT_FRAME_SECONDS:
                self._next_view = (view + 1) % len(views)
                return

    def render_frame(self, preview: bool = False, maps_in_turn: bool | None = None) -> None:
        """Redraws every view whose state changed (a preview raster if asked; the sharp frame also brings
        the side views up to the displayed epoch). The influence panel redraws a few maps per frame when
        `maps_in_turn` (default: in a preview), all of them otherwise."""
        if not preview and (self._side_views_epoch != self.displayed_epoch or self._curves_stale):
            self._update_side_views(force=True)
        for refresh in self._view_refreshers(preview, preview if maps_in_turn is None else maps_in_turn):
            refresh()

    def _view_refreshers(self, preview: bool, maps_in_turn: bool) -> tuple:
        """Each view's redraw (if its state changed), in drawing order: the canvas, extrapolation,
        interpretable network, influence maps."""
        return (
            lambda: self.canvas.refresh(preview=preview),
            lambda: self.extrapolation.refresh(preview=preview),
            self.essence_view.refresh,
            lambda: self.influence_panel.refresh(preview=maps_in_turn),
        )

    def draw_for_export(self) -> None:
        """Draws every view at the displayed epoch now (not at the display timer's next tick), the canvases
        at full resolution: the same picture whatever the machine's speed. Layouts and resizes still pending
        are settled first: settling them later changes a view, which the display then redraws as a preview."""
        QApplication.sendPostedEvents()
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)  # no clicks here
        self.render_frame()
        self.canvas.render_full()
        if self.extrapolation.isVisible():
            self.extrapolation.canvas.render_full()

    def refresh_curves(self) -> None:
        h = self.history
        self.loss_plot.set_history(h.epochs, h.loss, h.accuracy, h.test_loss, h.test_accuracy,
                                   data_changes=tuple(h.data_changes))  # fmt: skip
        self._curves_stale = False

    def closeEvent(self, event) -> None:
        if self.modified and not self._may_discard():
            event.ignore()
            return
        self.display_timer.stop()
        self.autosave_timer.stop()
        self.training.stop()
        self._essence_request = ()  # a build's result is not shown any more (each wait delivers any result)
        if self.warm_up is not None:
            self.warm_up.wait()
        if self.essence_job is not None:
            self.essence_job.wait()
        self.remember_settings()
        QSettings().setValue("window/geometry", self.saveGeometry())
        QSettings().setValue("window/state", self.saveState())
        if self._wrote_autosave:
            autosave_path().unlink(missing_ok=True)  # a clean exit: nothing to recover
        super().closeEvent(event)

    def _may_discard(self) -> bool:
        """Asks what to do with unsaved changes; True when the window may close."""
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this session before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save,
        )  # fmt: skip
        if answer == QMessageBox.StandardButton.Save:
            return self.save_session()
        return answer == QMessageBox.StandardButton.Discard

    def remember_settings(self) -> None:
        """The network and training settings, for the next plain start."""
        c = self.config
        QSettings().setValue("settings/last", json.dumps({
            "widths": list(self.spec.widths), "activation": self.spec.activation, "optimizer": c.optimizer,
            "learning_rate": c.learning_rate, "batch_size": c.batch_size, "l2": c.l2,
            "test_fraction": c.test_fraction, "seed": c.seed, "speed": self.controls.speed(),
        }))  # fmt: skip

    def restore_settings(self) -> None:
        """Starts with the settings the last window closed with; unreadable ones are ignored."""
        try:
            last = json.loads(QSettings().value("settings/last", "") or "{}")
            spec = NetworkSpec(tuple(int(w) for w in last["widths"]), str(last["activation"]))
            config = TrainConfig(
                optimizer=str(last["optimizer"]),
                learning_rate=float(last["learning_rate"]),
                batch_size=int(last["batch_size"]),
                l2=float(last["l2"]),
                seed=int(last["seed"]),
                test_fraction=float(last["test_fraction"]),
            )
            speed = None if last["speed"] is None else float(last["speed"])
        except (KeyError, TypeError, ValueError):
            return
        self.spec, self.config = spec, config
        self.controls.set_values(spec, config)
        self.controls.speed_slider.setValue(position_of_speed(speed))
        self._show_samples()
        self._new_run()

    def restore_geometry(self) -> None:
        settings = QSettings()
        if settings.value("window/geometry") is not None:
            self.restoreGeometry(settings.value("window/geometry"))
            self.restoreState(settings.value("window/state"))
