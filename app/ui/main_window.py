"""The main window: lays out the views and binds them to the session model (`model`), the training control
(`training`), the frame scheduler (`frames`), the files (`files`) and the interpretable network's builder."""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, PRESET_LABELS, SampleSet, make_preset
from app.core.network import NetworkSpec
from app.core.regions import local_affine, pattern_text
from app.core.training import TrainConfig
from app.ui.canvas import QtCanvas
from app.ui.confusion_view import QtConfusionView
from app.ui.controls import QtTrainingControls
from app.ui.counterfactual_control import CounterfactualControl
from app.ui.essence_builder import EssenceBuilder
from app.ui.essence_settings import EssenceSettingsDialog, QtEssenceSettings
from app.ui.essence_view import QtEssenceView
from app.ui.extrapolation_view import QtExtrapolationView
from app.ui.frame_scheduler import FrameScheduler, Views
from app.ui.help import ICON_PATH
from app.ui.hidden_space_view import QtHiddenSpaceView
from app.ui.influence_panel import QtInfluencePanel
from app.ui.line_handles import LineHandles
from app.ui.loss_plot import QtLossPlot
from app.ui.menus import build_menus
from app.ui.network_view import QtNetworkView
from app.ui.neuron_surgery import NeuronSurgery
from app.ui.palette import neuron_rgb
from app.ui.seeds_control import SeedsControl
from app.ui.session_files import (
    SessionFiles,
    autosave_path,
    influence_options,
    speed_position,
    try_option,
    view_rect,
)
from app.ui.session_model import SessionModel
from app.ui.timeline import QtTimeline
from app.ui.training_control import TrainingControl
from app.worker import BackgroundJob


def format_loss(value: float) -> str:
    """A loss readable at any size: 0.6931, 0.0123, 3.2e-05."""
    return f"{value:.4f}" if value >= 1e-3 or value == 0 else f"{value:.1e}"


HINT = "Left-click: add a red sample · Right-click or Shift+click: add a blue one · Space: train/pause"
HINT_CLASSES = ("Left-click: add a sample of the chosen class (keys 1 to 8 choose) · Right-click or "
                "Shift+click: of the next class · Space: train/pause")  # fmt: skip


class MainWindow(QMainWindow):
    def __init__(self, samples: SampleSet | None = None, spec: NetworkSpec | None = None,
                 config: TrainConfig | None = None):  # fmt: skip
        super().__init__()
        self.setWindowTitle("Unboxed")
        self.transient = False  # see set_transient
        self._focus: tuple | None = None  # the focus plot's data, from the essence builder
        self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.resize(1440, 900)
        samples = samples if samples is not None else make_preset(DEFAULT_PRESET)
        spec = replace(spec or NetworkSpec(), classes=samples.classes)  # one output per class (one for two)
        self.model = SessionModel(samples, spec, config or TrainConfig(), self)
        self._build_views()
        self.training = TrainingControl(self.model, self)
        self.seeds = SeedsControl(self)  # View > Seeds side by side
        views = Views(
            self.canvas,
            self.extrapolation,
            self.essence_view,
            self.influence_panel,
            self.loss_plot,
            self.network_view,
            self.confusion,
            self.hidden_space,
            self.seeds.view,
        )
        self.frames = FrameScheduler(self.model, views, self)
        self.files = SessionFiles(self)
        self.essence_builder = EssenceBuilder(self.model, self.essence_view, self.essence_settings, self)
        self.counterfactual = CounterfactualControl(self)  # retraining without the selected samples
        self.surgery = NeuronSurgery(self.model, self)
        self.line_handles = LineHandles(self.canvas, self.model, self)  # drag a selected L1 neuron's line
        self.menu_actions = build_menus(self)
        self.training.set_max_rate(self.controls.speed())
        # Compiles the engine (or loads numba's cache) at start-up, so that nothing waits for it. If that
        # fails, the error is dropped here: the training worker tries again, falls back to torch, says so.
        self.warm_up = None if engine.is_compiled() else BackgroundJob(engine.warm_up, self.canvas.redraw)
        self._bind()
        self._run_reset()
        self._show_samples()
        self.canvas.fit_data()
        self.frames.refresh_curves()
        self.model.show_epoch(0)

    def _build_views(self) -> None:
        self.canvas = QtCanvas()
        self.timeline = QtTimeline()
        self.loss_plot = QtLossPlot()
        self.loss_plot.setMinimumHeight(170)
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.timeline)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 1)
        self.confusion = QtConfusionView()  # more than two classes: the displayed epoch's confusion matrix
        plots.addWidget(self.confusion)
        column.addLayout(plots, 1)
        self.essence_view = QtEssenceView()
        self.essence_settings = QtEssenceSettings()
        self.essence_settings_dialog = EssenceSettingsDialog(self.essence_settings, self)
        self.essence_view.hide()
        models = QSplitter(Qt.Orientation.Horizontal)  # the trained MLP, and beside it the interpretable one
        models.addWidget(self.canvas)
        models.addWidget(self.essence_view)
        models.setChildrenCollapsible(False)
        models.setStretchFactor(0, 1)
        models.setStretchFactor(1, 1)
        self.essence_view.shown.connect(lambda: models.setSizes([models.width()] * 2))  # each view gets half
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(models)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 240])
        self.setCentralWidget(splitter)
        self.controls = QtTrainingControls(self.model.spec, self.model.config)
        self.influence_panel = QtInfluencePanel()
        self.network_view = QtNetworkView()
        self.extrapolation = QtExtrapolationView()
        self.hidden_space = QtHiddenSpaceView()
        self.docks = {}
        for title, widget, area in (
            ("Settings", self.controls, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Network", self.network_view, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Extrapolation", self.extrapolation, Qt.DockWidgetArea.RightDockWidgetArea),
            ("Hidden space", self.hidden_space, Qt.DockWidgetArea.RightDockWidgetArea),
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
        influence = self.docks["Influence"]  # floats, so that its maps can grow as large as the user wants
        influence.setFeatures(influence.features() | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.tabifyDockWidget(self.docks["Network"], self.docks["Extrapolation"])
        self.tabifyDockWidget(self.docks["Extrapolation"], self.docks["Hidden space"])
        self.docks["Network"].raise_()
        self.resizeDocks([self.docks["Influence"]], [330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["Settings"], self.docks["Network"]], [480, 260], Qt.Orientation.Vertical)
        self.message_label = QLabel(HINT if self.model.samples.classes == 2 else HINT_CLASSES)
        self.epoch_label = QLabel()
        self.statusBar().addWidget(self.message_label, 1)
        self.statusBar().addPermanentWidget(self.epoch_label)

    def _bind(self) -> None:
        """Gestures to the model and controllers; the model's and controllers' signals to the views."""
        model, training = self.model, self.training
        model.samplesChanged.connect(self._show_samples)
        model.splitChanged.connect(self._show_samples)
        model.samplesChanged.connect(self._show_figures)
        model.splitChanged.connect(self._show_figures)
        model.runReset.connect(self._run_reset)
        model.classesChanged.connect(self._classes_changed)
        model.epochChanged.connect(self._show_epoch)
        model.selectionChanged.connect(self._show_selection)
        for source in (training, self.files, self.essence_builder, self.surgery):
            source.message.connect(self.show_message)
        training.runningChanged.connect(self.controls.set_training)
        training.runningChanged.connect(self._running_changed)
        self.essence_builder.built.connect(self._essence_built)
        self.essence_builder.focusChanged.connect(self._show_focus)
        self.menu_actions.essence_action.toggled.connect(lambda _on: self._show_focus())
        self.menu_actions.essence_action.toggled.connect(self.influence_panel.set_essence_shown)
        self.canvas.sampleRequested.connect(self.add_sample)
        self.canvas.samplesEdited.connect(model.edit_samples)
        self.canvas.regionClicked.connect(self.show_region_neurons)
        self.extrapolation.canvas.regionClicked.connect(self.show_region_neurons)
        self.controls.trainToggled.connect(training.toggle)
        self.controls.resetRequested.connect(training.reset)
        self.controls.specEdited.connect(training.set_spec)
        self.controls.configEdited.connect(training.set_config)
        self.controls.speedEdited.connect(training.set_max_rate)
        self.controls.focusReleased.connect(self.canvas.setFocus)
        self.controls.layerCurvesToggled.connect(self.canvas.show_layer_curves)
        self.timeline.epochRequested.connect(model.scrub_to)
        self.timeline.liveRequested.connect(model.go_live)
        self.loss_plot.epochRequested.connect(model.scrub_to)
        self.timeline.viewChanged.connect(self.loss_plot.set_view)  # one epoch scale and range for both
        self.influence_panel.neuronClicked.connect(model.toggle_neuron)
        self.network_view.neuronClicked.connect(model.toggle_neuron)
        self.network_view.neuronMenuRequested.connect(self.surgery.show_menu)
        self.influence_panel.neuronMenuRequested.connect(self.surgery.show_menu)
        self.extrapolation.viewRectRequested.connect(self.canvas.set_view_rect)
        self.hidden_space.sampleHovered.connect(self.canvas.highlight_sample)
        model.runReset.connect(self.hidden_space.reset_axes)
        self.canvas.view_box.sigRangeChanged.connect(self._main_view_moved)

    # --- the model's state to the views -----------------------------------------------------------------
    def _run_reset(self) -> None:
        spec = self.model.spec
        self.confusion.setVisible(spec.classes > 2)
        self.hidden_space.show_state(spec, self.model.history, self.model.displayed_epoch)  # its layer boxes
        self.controls.set_values(spec, self.model.config)
        self.controls.set_layer_count(len(spec.widths))
        self.timeline.stop_playing()

    def _classes_changed(self, before: int, after: int, new_run: bool) -> None:
        """Says that the network changed with the number of classes, and how to get the old one back."""
        outputs = f"{after} outputs, one per class" if after > 2 else "one output, P(blue)"
        if new_run:
            self.show_message(f"The samples now have {after} classes, not {before}: the network has "
                              f"{outputs}, and trains from new initial weights. Undo brings the samples and "
                              "network back.")  # fmt: skip
        else:
            self.show_message(f"Back to {after} classes and the network trained on them ({outputs}).")

    def _show_samples(self) -> None:
        names = self.model.samples.class_names
        self.menu_actions.class_actions.show_classes(names)
        self.network_view.set_class_names(names)
        if self.canvas.view_box.current_label > len(names):  # its class is gone (undo): the first one
            self.set_current_label(0)
        mask = self.model.held_out_mask()
        self.canvas.set_samples(self.model.samples, mask)
        self.extrapolation.set_samples(self.model.samples, mask)
        self.hidden_space.set_samples(self.model.samples, mask)

    def _show_epoch(self, epoch: int, live: bool) -> None:
        """The canvas, the status line and the timeline show `epoch` (the canvas repaints at the next frame;
        the side views follow at the frame scheduler's pace)."""
        history = self.model.history
        self.canvas.show_network(self.model.spec, history.params_at(epoch))
        self._show_figures()
        self.timeline.show_state(epoch, history.latest_epoch, live, history.data_changes)

    def _show_figures(self) -> None:
        """The displayed epoch's loss and accuracy on the samples now on the canvas, or why there are none."""
        model = self.model
        epoch, kept = model.displayed_epoch, model.history.recorded_epoch(model.displayed_epoch)
        text = f"Epoch {epoch}" if kept == epoch else f"Epoch {epoch} (nearest kept: {kept})"
        (loss, accuracy), (test_loss, test_accuracy) = model.figures_at(epoch)
        if model.samples.n == 0:
            text += " · no samples"
        elif not np.isfinite(loss):
            text += " · no training samples (all held out)" if np.isnan(loss) else " · loss infinite"
        else:
            text += f" · loss {format_loss(loss)} · accuracy {100 * accuracy:.1f}%"
        if np.isfinite(test_loss):
            text += f" · test loss {format_loss(test_loss)} · test accuracy {100 * test_accuracy:.1f}%"
        self.epoch_label.setText(text)

    def _show_selection(self, selected: tuple[int, int] | None) -> None:
        self.canvas.set_selected(selected)
        self.influence_panel.set_selected(selected)
        self.network_view.set_selected(*(selected or (None, None)))
        if selected:
            self.show_message(
                f"Selected neuron L{selected[0] + 1} N{selected[1] + 1}; click it again to clear."
            )

    def _running_changed(self, running: bool) -> None:
        self.frames.training = running
        if not running:
            self.frames.refresh_curves()
            self.hidden_space.reset_axes()  # principal components fitted again, at the newest epoch

    def _main_view_moved(self, *_args) -> None:
        self.extrapolation.show_main_view(self.canvas.view_rect())
        self.essence_view.set_view_rect(self.canvas.view_rect())  # side by side at the same zoom

    def _essence_built(self) -> None:
        self.essence_view.set_view_rect(self.canvas.view_rect())
        # Built for today's training samples (a build for older ones is not shown): its lines' influence maps
        # join the trained network's while it is shown and the samples stay these.
        self.influence_panel.show_essence(self.essence_builder.essence, self.model.split()[0])
        self.menu_actions.essence_action.setChecked(True)

    def _show_focus(self, focus: tuple | None = ()) -> None:
        """The focus plot under the loss curves: `focus` as the essence builder gives it (() keeps the last),
        shown while the interpretable network is."""
        if focus != ():
            self._focus = focus
            if focus is not None:
                epochs, per_neuron, enn_focus, chance = focus
                colours = [neuron_rgb(0, j, self.model.spec.widths) for j in range(per_neuron.shape[1])]
                self.loss_plot.set_focus(epochs, per_neuron, colours, enn_focus, chance)
        shown = self._focus is not None and self.menu_actions.essence_action.isChecked()
        self.loss_plot.set_focus_shown(shown)

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)

    # --- gestures -----------------------------------------------------------------------------------------
    def add_sample(self, x: float, y: float, label: int) -> None:
        try:
            samples = self.model.samples.with_sample(x, y, label)
        except ValueError as error:  # zoomed out beyond the coordinates a sample may have
            self.show_message(f"No sample added there: {error}.")
            return
        self.model.edit_samples(samples, f"Add {samples.class_names[label]} sample")

    def load_preset(self, name: str) -> None:
        before = self.model.samples.classes
        self.model.edit_samples(make_preset(name), f"Load the {PRESET_LABELS[name]} preset")
        if self.model.samples.classes == before:  # else the message says what became of the network
            self.show_message(f"Loaded the {PRESET_LABELS[name]} preset.")
        self.canvas.fit_data()

    def set_current_label(self, label: int) -> None:
        self.canvas.set_current_label(label)
        self.menu_actions.class_actions.check(label)

    def set_brush(self, on: bool) -> None:
        self.canvas.set_brush(on)
        if on:
            self.show_message("Brush: drag on the canvas to spray samples of the current colour.")

    def set_show_regions(self, shown: bool) -> None:
        """The activation-regions overlay on the canvas and the extrapolation view; the region-count plot."""
        for canvas in (self.canvas, self.extrapolation.canvas):
            canvas.set_show_regions(shown)
        self.loss_plot.set_regions_shown(shown)
        if not shown:
            self.network_view.set_active(None)
        self.frames.count_regions = shown
        self.frames.update_region_counts()

    def set_regions_fill(self, fill: str) -> None:
        self.menu_actions.region_fill_actions[fill].setChecked(True)
        for canvas in (self.canvas, self.extrapolation.canvas):
            canvas.set_regions_fill(fill)

    def show_region_neurons(self, x: float, y: float) -> None:
        """Lights the neurons that are on in the region at (x, y) in the network diagram."""
        if not self.menu_actions.regions_action.isChecked():
            return
        spec = self.model.spec
        pattern, _, _ = local_affine(spec, self.model.displayed_params(), np.array([x, y]))
        self.network_view.set_active(pattern)
        self.show_message(
            f"Region {pattern_text(pattern, spec.widths)}: {int(pattern.sum())} of {len(pattern)} hidden "
            "neurons on, lit in the network diagram. Ctrl+click elsewhere for another region."
        )

    # --- the views' options in a session ------------------------------------------------------------------
    def view_state(self) -> dict:
        """The views' options that a session saves (the model adds the epoch, live mode and selection)."""
        rect, options = self.canvas.view_rect(), self.influence_panel.options()
        return {
            "view_rect": [rect.xmin, rect.xmax, rect.ymin, rect.ymax],
            "speed": self.controls.speed(),
            "regions": self.menu_actions.regions_action.isChecked(),
            "regions_fill": self.canvas.regions_fill,
            "layer_curves": sorted(self.canvas.deep_layers_shown),
            "influence": asdict(options),
        }

    def apply_view(self, view: dict) -> None:
        """The views' options as a session saved them; a missing or malformed one keeps its default."""
        try_option(lambda: self.controls.speed_slider.setValue(speed_position(view["speed"])))
        try_option(lambda: self.menu_actions.regions_action.setChecked(bool(view["regions"])))
        try_option(lambda: self.set_regions_fill(str(view["regions_fill"])))
        try_option(lambda: self.controls.show_layer_curves(view["layer_curves"]))
        n_hidden = len(self.model.spec.widths)
        try_option(lambda: self.influence_panel.set_options(influence_options(view["influence"], n_hidden)))
        if not try_option(lambda: self.canvas.set_view_rect(view_rect(view["view_rect"]))):
            self.canvas.fit_data()

    # --- closing and settings -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.model.modified and not self._may_discard():
            event.ignore()
            return
        self.frames.stop()
        self.files.autosave_timer.stop()
        self.training.stop()
        self.essence_builder.close()
        self.counterfactual.close()
        self.seeds.close()
        if self.warm_up is not None:
            self.warm_up.wait()
        if not self.transient:
            self.remember_settings()
            QSettings().setValue("window/geometry", self.saveGeometry())
            QSettings().setValue("window/state", self.saveState())
        if self.files.wrote_autosave:
            autosave_path().unlink(missing_ok=True)  # a clean exit: nothing to recover
        super().closeEvent(event)

    def set_transient(self) -> None:
        """A window for a while (the tour's): it saves nothing by itself, neither autosaves nor the session,
        settings and place it closes with; the user's own window does."""
        self.transient = True
        self.files.autosave_timer.stop()

    def _may_discard(self) -> bool:
        """Asks what to do with unsaved changes; True when the window may close."""
        buttons = QMessageBox.StandardButton
        question = "Save the changes to this session before closing?"
        answer = QMessageBox.question(
            self, "Unsaved changes", question, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save
        )
        if answer == buttons.Save:
            return self.files.save_session()
        return answer == buttons.Discard

    def remember_settings(self) -> None:
        """The whole session (samples, network, settings, training, views), for the next plain start."""
        self.files.remember_last_session()

    def restore_settings(self) -> bool:
        """A plain start: the session the last window closed with, its samples and network together; if it
        cannot be read, the defaults for all of it, and the status line says why."""
        return self.files.restore_last_session()

    def restore_geometry(self) -> None:
        settings = QSettings()
        if settings.value("window/geometry") is not None:
            self.restoreGeometry(settings.value("window/geometry"))
            self.restoreState(settings.value("window/state"))
