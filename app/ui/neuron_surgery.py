"""Neuron surgery in the window (issue 25): switching a hidden neuron off (its output held at 0: its
outgoing weights zeroed) or back on (those weights put back), at the displayed epoch, from the network
diagram's or an influence map's right-click menu or Model > Switch selected neuron off/on (O); and any hidden
neuron's incoming weights and bias edited as numbers from the same menu (WeightsDialog). Each edit branches
the run there (SessionModel.edit_network): undoable, and training goes on from the edited network."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QMenu

from app.core.surgery import incoming, neuron_name, outgoing_weights, with_incoming, with_outgoing_weights
from app.ui.session_model import SessionModel
from app.ui.weights_dialog import WeightsDialog


class NeuronSurgery(QObject):
    message = Signal(str)

    def __init__(self, model: SessionModel, parent=None):
        super().__init__(parent)
        self.model = model

    def is_off(self, layer: int, neuron: int) -> bool:
        return (layer, neuron) in self.model.switched_off

    def toggle(self, layer: int, neuron: int) -> None:
        """Switches the neuron off, or back on if it is off, and says what that did to the accuracy."""
        model = self.model
        params = model.displayed_params()
        switched = dict(model.switched_off)
        name = neuron_name(layer, neuron)
        if (layer, neuron) in switched:
            edited = with_outgoing_weights(model.spec, params, layer, neuron, switched.pop((layer, neuron)))
            verb = "on"
        else:
            switched[(layer, neuron)] = outgoing_weights(model.spec, params, layer, neuron)
            edited = with_outgoing_weights(model.spec, params, layer, neuron, 0.0)
            verb = "off"
        before, after = model.metrics(params)[0][1], model.metrics(edited)[0][1]
        model.edit_network(edited, f"Switch {name} {verb}", switched)
        off = ", ".join(neuron_name(*key) for key in sorted(switched)) or "none"
        self.message.emit(
            f"{name} {verb}: training accuracy {before:.0%} -> {after:.0%} (switched off: {off}). Training "
            "goes on from the edited network and may grow its weights back; Undo (Ctrl+Z) restores it."
        )

    def switch_off(self, neurons) -> None:
        """Switches these (layer, neuron) off at once, in one edit (the command line's --off); ValueError
        names a neuron the network does not have. Those already off stay off."""
        model = self.model
        params, switched = model.displayed_params(), dict(model.switched_off)
        edited = params
        for layer, neuron in neurons:
            if (layer, neuron) not in switched:
                switched[(layer, neuron)] = outgoing_weights(model.spec, params, layer, neuron)
            edited = with_outgoing_weights(model.spec, edited, layer, neuron, 0.0)
        names = ", ".join(neuron_name(*key) for key in neurons)
        model.edit_network(edited, f"Switch {names} off", switched)

    def toggle_selected(self) -> None:
        if self.model.selected is None:
            self.message.emit("Select a hidden neuron first (click its line, node or map), then press O.")
            return
        self.toggle(*self.model.selected)

    def neuron_menu(self, layer: int, neuron: int) -> QMenu:
        """A neuron's right-click menu: switch it off (or on), edit its weights."""
        menu = QMenu()
        verb, name = "on" if self.is_off(layer, neuron) else "off", neuron_name(layer, neuron)
        menu.addAction(f"Switch {name} {verb}", lambda: self.toggle(layer, neuron))
        menu.addAction(f"Edit {name}'s weights…", lambda: self.edit_weights(layer, neuron))
        return menu

    def weights_dialog(self, layer: int, neuron: int) -> WeightsDialog:
        """The dialog for (layer, neuron)'s incoming weights and bias at the displayed epoch."""
        w, b = incoming(self.model.spec, self.model.displayed_params(), layer, neuron)
        return WeightsDialog(layer, neuron, w, b, self.model.displayed_epoch, self.parent())

    def edit_weights(self, layer: int, neuron: int, dialog: WeightsDialog | None = None) -> bool:
        """Asks for the neuron's weights and bias and makes the edited network the next epoch (a branch of
        the run, undoable); False when cancelled or unchanged."""
        dialog = dialog or self.weights_dialog(layer, neuron)
        if not dialog.exec():
            return False
        model = self.model
        params = model.displayed_params()
        edited = with_incoming(model.spec, params, layer, neuron, *dialog.values())
        if np.array_equal(edited, params):
            return False
        before, after = model.metrics(params)[0][1], model.metrics(edited)[0][1]
        name = neuron_name(layer, neuron)
        model.edit_network(edited, f"Edit {name}'s weights", dict(model.switched_off))
        self.message.emit(f"{name}'s weights edited: training accuracy {before:.0%} -> {after:.0%}. Undo "
                          "(Ctrl+Z) restores them.")  # fmt: skip
        return True

    def show_menu(self, layer: int, neuron: int) -> None:
        self.neuron_menu(layer, neuron).exec(QCursor.pos())
