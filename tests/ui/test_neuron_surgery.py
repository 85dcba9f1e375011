"""Neuron surgery in the window (issue 25): a hidden neuron switched off or on at the displayed epoch from the
diagram's right-click menu or Model > Switch selected neuron off/on (O): the run branches there, training
goes on from the edited network, the diagram shows the neuron hollow, and undo brings the run back."""

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction

from app.core.network import split_params
from app.core.surgery import is_off


def test_switching_a_neuron_off_branches_the_run_and_undo_brings_it_back(qtbot, shown_window):
    window = shown_window(300)
    model = window.model
    original = model.history
    model.scrub_to(200)
    params = model.displayed_params()
    window.surgery.toggle(0, 2)
    assert model.history is not original and model.history.latest_epoch == 201
    assert model.displayed_epoch == 201 and model.history.data_changes[-1] == 201  # marked on the timeline
    edited = model.history.params_at(201)
    assert is_off(model.spec, edited, 0, 2) and np.array_equal(model.trainer.params, edited)
    np.testing.assert_array_equal(model.history.params_at(200), params)  # the branch keeps what came before
    text = window.message_label.text()
    assert text.startswith("L1 N3 off: training accuracy ") and "Undo" in text
    qtbot.waitUntil(lambda: window.network_view.switched_off == {(0, 2)}, timeout=5000)
    assert "switched off" in window.network_view.describe_neuron(0, 2)
    model.train_here(20)  # training goes on from the edited network
    assert model.history.latest_epoch == 221
    model.undo_stack.undo()
    assert model.history is original and model.history.latest_epoch == 300 and model.displayed_epoch == 200
    assert not model.switched_off
    model.undo_stack.redo()
    assert model.history.latest_epoch == 221 and model.switched_off.keys() == {(0, 2)}


def test_the_selected_neuron_switches_off_and_back_on_with_o(qtbot, shown_window):
    window = shown_window(100)
    model = window.model
    (action,) = [a for a in window.findChildren(QAction) if a.shortcut().toString() == "O"]
    assert action.text() == "Switch selected neuron off/on"
    action.trigger()  # nothing selected: says what to do
    assert "Select a hidden neuron first" in window.message_label.text() and model.history.latest_epoch == 100
    model.select_neuron((1, 0))
    before = model.displayed_params()
    action.trigger()
    assert is_off(model.spec, model.displayed_params(), 1, 0) and model.history.latest_epoch == 101
    action.trigger()  # back on: its weights as they were
    assert model.history.latest_epoch == 102 and not model.switched_off
    np.testing.assert_array_equal(
        split_params(model.spec, model.displayed_params())[2][0], split_params(model.spec, before)[2][0]
    )
    assert window.message_label.text().startswith("L2 N1 on:")


def test_the_diagrams_right_click_opens_the_neurons_menu(qtbot, shown_window, monkeypatch):
    from app.ui.neuron_surgery import NeuronSurgery

    asked = []
    monkeypatch.setattr(NeuronSurgery, "show_menu", lambda _self, *neuron: asked.append(neuron))
    window = shown_window(10)
    view = window.network_view
    qtbot.waitUntil(lambda: view.spec is not None)
    k = int(np.cumsum((0, *view.spec.layer_sizes))[1] + 1)  # L1 N2's node
    x, y = view.node_xy[k]
    point = view.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=point)
    assert asked == [(0, 1)] and window.model.selected is None  # a right-click does not select
    menu = window.surgery.neuron_menu(0, 1)
    assert [a.text() for a in menu.actions()] == ["Switch L1 N2 off", "Edit L1 N2's weights…"]


def test_a_deeper_neurons_weights_are_edited_as_numbers_from_its_menu(qtbot, shown_window):
    from app.core.surgery import incoming

    window = shown_window(50)
    model = window.model
    menu = window.surgery.neuron_menu(1, 2)
    assert [a.text() for a in menu.actions()] == ["Switch L2 N3 off", "Edit L2 N3's weights…"]
    dialog = window.surgery.weights_dialog(1, 2)
    w, b = incoming(model.spec, model.displayed_params(), 1, 2)
    assert [box.value() for box in dialog.weight_boxes] == [round(v, 4) for v in w]
    for box, value in zip(dialog.weight_boxes, (1.5, -2.0, 0.0, 0.25), strict=True):
        box.setValue(value)
    dialog.bias_box.setValue(-0.5)
    dialog.exec = lambda: 1  # OK, without showing it
    assert window.surgery.edit_weights(1, 2, dialog)
    new_w, new_b = incoming(model.spec, model.displayed_params(), 1, 2)
    np.testing.assert_array_equal(new_w, [1.5, -2.0, 0.0, 0.25])
    assert new_b == -0.5 and model.history.latest_epoch == 51 and model.history.data_changes[-1] == 51
    assert window.message_label.text().startswith("L2 N3's weights edited: training accuracy")
    model.undo_stack.undo()
    assert model.history.latest_epoch == 50
    cancelled = window.surgery.weights_dialog(1, 2)
    cancelled.exec = lambda: 0
    assert not window.surgery.edit_weights(1, 2, cancelled) and model.history.latest_epoch == 50
