"""The window's menus, toolbar and keyboard shortcuts: each action is made here and connected to the model,
a controller or a view; the window keeps the few whose state it shows (`Actions`)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QInputDialog, QMenu, QSpinBox

from app.core.dataset import MULTICLASS_PRESETS, PRESET_LABELS, PRESETS
from app.core.training import MAX_EPOCH
from app.ui.class_actions import ClassActions
from app.ui.help import install_launcher_from_menu, show_about, show_quick_guide
from app.ui.study_control import open_study_window
from app.ui.tour import start_tour

REGION_FILLS = (("none", "Edges only, over the prediction"), ("patterns", "A light tint per region"),
                ("slope", "Shade by the output's slope"))  # fmt: skip; the first is the default
# View menu toggles of what the canvas draws, by the command line's names for them (--show); the samples
# alone are the article's first picture.
LAYER_TOGGLES = {
    "samples": ("Samples", "set_show_samples", "The training samples (filled) and held-out ones (hollow)"),
    "prediction": ("Prediction background", "set_show_background",
                   "The network's probability of blue: red - white - blue"),
    "neurons": ("Neuron lines", "set_show_neuron_lines",
                "Each first-layer neuron's line w.x + b = 0, with its tick"),
    "boundary": ("Decision boundary", "set_show_decision_boundary", "The black curve where p = 0.5"),
}  # fmt: skip


@dataclass
class Actions:
    """The actions whose state the window reads or sets."""

    recent_menu: QMenu
    export_menu: QMenu
    class_actions: ClassActions
    brush_action: QAction
    density_box: QSpinBox
    regions_action: QAction
    region_fill_actions: dict[str, QAction]
    essence_action: QAction
    layer_actions: dict[str, QAction]  # LAYER_TOGGLES' and "regions"


def _action(window, menu, text: str, slot, key=None, tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, window, checkable=checkable)
    if key:
        action.setShortcut(QKeySequence(key))
    if tip:
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def export_influence_maps(window) -> bool:
    """The influence panel alone as a picture; shown first, since a hidden panel does not redraw."""
    window.docks["Influence"].show()
    return window.files.export_picture(window.influence_panel, "png")


def ask_train_until(window) -> bool:
    """Model > Train until epoch…: asks for the epoch (the last one + 1000 proposed) and trains to it."""
    latest = window.model.history.latest_epoch
    epoch, ok = QInputDialog.getInt(window, "Train until epoch", f"Train on from epoch {latest} and stop at "
                                    "epoch:", min(latest + 1000, MAX_EPOCH), 0, MAX_EPOCH, 100)  # fmt: skip
    return bool(ok) and window.training.train_until(epoch)


def build_menus(window) -> Actions:
    """Menus, toolbar and shortcuts of the main window `window`."""
    model, files, training, canvas = window.model, window.files, window.training, window.canvas
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "Open…", files.open_session, QKeySequence.StandardKey.Open)
    _action(window, file_menu, "Save", files.save_session, QKeySequence.StandardKey.Save)
    _action(window, file_menu, "Save As…", files.save_session_as, QKeySequence.StandardKey.SaveAs)
    recent_menu = file_menu.addMenu("Open Recent")
    recent_menu.aboutToShow.connect(lambda: files.fill_recent_menu(recent_menu))
    export_menu = file_menu.addMenu("Export")
    _action(window, export_menu, "Canvas as PNG (2x)…", lambda: files.export_picture(canvas, "png"),
            "Ctrl+Shift+P")  # fmt: skip
    _action(window, export_menu, "Window as PNG (2x)…", lambda: files.export_picture(window, "png"))
    _action(window, export_menu, "Influence maps as PNG (2x)…", lambda: export_influence_maps(window))
    _action(window, export_menu, "Canvas as SVG…", lambda: files.export_picture(canvas, "svg"))
    _action(window, export_menu, "Seeds side by side as PNG (2x)…", lambda: window.seeds.export())
    _action(window, export_menu, "Training as animated GIF…", files.export_animation, "Ctrl+Shift+G")
    _action(window, file_menu, "New study…", open_study_window, tip="A grid of configurations, each trained "
            "from several seeds in the background; its table and plots (python -m app.study)")  # fmt: skip
    file_menu.addSeparator()
    _action(window, file_menu, "Quit", window.close, QKeySequence.StandardKey.Quit)

    data_menu = bar.addMenu("&Data")
    presets = data_menu.addMenu("Presets")
    for name in PRESETS:
        _action(window, presets, PRESET_LABELS[name], lambda n=name: window.load_preset(n))
    presets.addSeparator()
    for name in MULTICLASS_PRESETS:
        _action(window, presets, PRESET_LABELS[name], lambda n=name: window.load_preset(n))
    _action(window, data_menu, "Clear samples", lambda: model.edit_samples(model.samples.cleared(),
            "Clear samples"), "Ctrl+Shift+Backspace", "Remove every sample (undoable)")  # fmt: skip
    data_menu.addSeparator()
    _action(window, data_menu, "Import CSV…", files.import_csv, "Ctrl+I")
    _action(window, data_menu, "Export CSV…", files.export_csv, "Ctrl+E")
    data_menu.addSeparator()
    _action(window, data_menu, "Retrain without the selected samples", window.counterfactual.start,
            tip="Train the run again from epoch 0 to the displayed epoch, same seed and batch order, without "
            "the samples selected (Ctrl+drag); drawn dashed, compared with the influence maps")  # fmt: skip
    _action(window, data_menu, "Retrain without the selected samples from epoch…",
            window.counterfactual.ask_start)  # fmt: skip
    _action(window, data_menu, "Clear the counterfactual", window.counterfactual.clear)

    edit_menu = bar.addMenu("&Edit")
    undo = model.undo_stack.createUndoAction(window, "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = model.undo_stack.createRedoAction(window, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit_menu.addActions([undo, redo])
    edit_menu.addSeparator()
    class_actions = ClassActions(window)
    class_actions.labelChosen.connect(window.set_current_label)
    edit_menu.addActions(class_actions.actions)
    brush_action = QAction("Brush", window, shortcut=QKeySequence(Qt.Key.Key_B), checkable=True)
    brush_action.setToolTip("Drag to spray samples of the current colour (B; or hold B on the canvas)")
    brush_action.toggled.connect(window.set_brush)
    edit_menu.addAction(brush_action)
    _action(window, edit_menu, "Delete selected", canvas.delete_selected_or_hovered, Qt.Key.Key_Delete,
            "Delete the selected samples (Ctrl+drag selects), or the one under the cursor")  # fmt: skip
    toolbar = window.addToolBar("Edit")
    toolbar.setObjectName("edit-toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)  # each class: its dot and name
    toolbar.addActions([undo, redo])
    toolbar.addSeparator()
    toolbar.addActions(class_actions.actions)
    toolbar.addAction(brush_action)
    density_box = QSpinBox(minimum=1, maximum=20, value=3, prefix="density ")
    density_box.setToolTip("Samples the brush sprays per mouse move")
    density_box.valueChanged.connect(canvas.set_brush_density)
    toolbar.addWidget(density_box)

    view_menu = bar.addMenu("&View")
    for title in ("Influence", "Network", "Extrapolation", "Hidden space"):
        action = window.docks[title].toggleViewAction()
        action.setText(f"{title} panel")
        view_menu.addAction(action)
    _action(window, view_menu, "Seeds side by side", window.seeds.open, tip="The same samples "
            "and settings trained from several seeds at once, in a window of small canvases at the displayed "
            "epoch; click one to make it the main run")  # fmt: skip
    view_menu.addSeparator()
    _action(window, view_menu, "Fit data", canvas.fit_data, Qt.Key.Key_F, "Frame the samples")
    for text, factor, key in (("Zoom out ×10", 10.0, "Ctrl+-"), ("Zoom out ×100", 100.0, "Ctrl+Shift+-"),
                              ("Zoom in ×10", 0.1, "Ctrl+=")):  # fmt: skip
        _action(window, view_menu, text, lambda f=factor: canvas.zoom(f), key)
    view_menu.addSeparator()
    layer_actions = {}
    for name, (text, setter, tip) in LAYER_TOGGLES.items():
        action = QAction(text, window, checkable=True, checked=True)
        action.setToolTip(tip)
        action.toggled.connect(getattr(canvas, setter))
        view_menu.addAction(action)
        layer_actions[name] = action
    view_menu.addSeparator()
    regions_action = QAction(
        "Activation regions", window, shortcut=QKeySequence(Qt.Key.Key_R), checkable=True
    )
    regions_action.setToolTip(
        "The pieces of the network: regions where every hidden neuron keeps its on/off state (exact linear "
        "pieces for ReLU and leaky ReLU). Hover one to read its pattern and function; Ctrl+click it to light "
        "its active neurons in the network diagram."
    )
    regions_action.toggled.connect(window.set_show_regions)
    view_menu.addAction(regions_action)
    layer_actions["regions"] = regions_action
    fill_menu = view_menu.addMenu("Region fill")
    fill_group = QActionGroup(window)
    region_fill_actions = {}
    for fill, text in REGION_FILLS:
        action = _action(window, fill_menu, text, lambda f=fill: window.set_regions_fill(f), checkable=True)
        action.setChecked(fill == REGION_FILLS[0][0])
        fill_group.addAction(action)
        region_fill_actions[fill] = action
    essence_action = QAction("Interpretable network", window, shortcut=QKeySequence("Ctrl+Shift+B"),
                             checkable=True)  # fmt: skip
    essence_action.setToolTip("Show the interpretable network beside the trained one")
    essence_action.toggled.connect(window.essence_view.setVisible)
    view_menu.addAction(essence_action)

    help_menu = bar.addMenu("&Help")
    _action(window, help_menu, "Quick guide", lambda: show_quick_guide(window),
            QKeySequence.StandardKey.HelpContents)  # fmt: skip
    _action(window, help_menu, "Tour of the black box", lambda: start_tour(window),
            tip="The article's argument in six steps, in a window of its own: your session stays as it is")
    _action(window, help_menu, "Install desktop launcher", lambda: install_launcher_from_menu(window))
    _action(window, help_menu, "About Unboxed", lambda: show_about(window))
    model_menu = bar.addMenu("&Model")
    _action(window, model_menu, "Build interpretable network", window.essence_builder.build_in_background,
            "Ctrl+B", "Build an Essence Neural Network (Blazek & Lin 2021) for the samples, its lines and "
            "subconcepts by SVMs, not gradient descent, and compare it with the trained network")  # fmt: skip
    _action(window, model_menu, "Interpretable network settings…", window.essence_settings_dialog.show,
            tip="Subconcepts per class and the construction's constants, for the next build")
    _action(window, model_menu, "Train until epoch…", lambda: ask_train_until(window), tip="Train on from "
            "the last epoch and stop by itself at the epoch you give")  # fmt: skip
    model_menu.addSeparator()
    _action(window, model_menu, "Switch selected neuron off/on", window.surgery.toggle_selected, "O",
            "Hold the selected hidden neuron's output at 0 (its outgoing weights zeroed) at the displayed "
            "epoch, or put its weights back (undoable); or right-click it in the diagram, a map")  # fmt: skip

    QShortcut(QKeySequence(Qt.Key.Key_Space), window, training.toggle)
    for key, step in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, 1), (Qt.Key.Key_PageUp, -10),
                      (Qt.Key.Key_PageDown, 10)):  # fmt: skip
        QShortcut(QKeySequence(key), window, lambda d=step: model.step(d))
    QShortcut(QKeySequence(Qt.Key.Key_Home), window, lambda: model.step(-model.displayed_epoch))
    QShortcut(QKeySequence(Qt.Key.Key_End), window, window.timeline.go_live)
    return Actions(recent_menu, export_menu, class_actions, brush_action, density_box, regions_action,
                   region_fill_actions, essence_action, layer_actions)  # fmt: skip
