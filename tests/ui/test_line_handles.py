"""Dragging a first-layer neuron's line by its handles (issue 25): the line goes through the handles where
they are dropped, the canvas previews the provisional network while dragging, the drop branches the run in
one undoable edit, and a click on a handle adds no sample."""

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt

from app.core.network import split_params
from tests.ui.test_editing import drag, pixel, send_mouse


def line_of(model, neuron):
    weights, biases = split_params(model.spec, model.displayed_params())[0]
    return weights[neuron], biases[neuron]


def test_dragging_a_handle_moves_the_line_through_it_and_undo_restores(qtbot, shown_window):
    window = shown_window(60)
    model, handles = window.model, window.line_handles
    assert not any(h.isVisible() for h in handles.handles)  # nothing selected: no handles
    model.select_neuron((1, 0))
    assert not any(h.isVisible() for h in handles.handles)  # a deeper neuron: no handles on the canvas
    model.select_neuron((0, 1))
    assert all(h.isVisible() for h in handles.handles)
    w_old, b_old = (np.array(v, dtype=float) for v in line_of(model, 1))
    before, epoch, samples = model.history, model.displayed_epoch, model.samples
    start, fixed = handles.points()
    np.testing.assert_allclose(handles.points() @ w_old + b_old, 0, atol=1e-9)  # on the line
    assert all(window.canvas.view_rect().contains(*p) for p in handles.points())
    pixel_size = window.canvas.view_box.pixel_size()
    end = start + (np.array([-w_old[1], w_old[0]]) / np.hypot(*w_old) * 0.3 + w_old / np.hypot(*w_old) * 0.5)
    drag(qtbot, window, start, end)
    assert model.history is not before and model.displayed_epoch == epoch + 1
    assert model.undo_stack.undoText() == "Move L1 N2's line" and model.samples is samples
    w, b = line_of(model, 1)
    dropped = handles.points()
    np.testing.assert_allclose(dropped[0], end, atol=3 * pixel_size)  # the handle stays where dropped
    np.testing.assert_allclose(dropped[1], fixed)
    np.testing.assert_allclose(dropped @ w + b, 0, atol=1e-9)  # the line through both handles
    np.testing.assert_allclose(np.hypot(*w), np.hypot(*w_old))  # the same length
    assert w @ w_old > 0  # the active side kept
    np.testing.assert_array_equal(window.canvas.params, model.displayed_params())
    others = np.delete(model.displayed_params(), [2, 3, 9])  # L1 N2's weights and bias (4x4 network)
    np.testing.assert_array_equal(others, np.delete(before.params_at(epoch), [2, 3, 9]))
    model.undo_stack.undo()
    assert model.history is before and model.displayed_epoch == epoch
    np.testing.assert_allclose(handles.points() @ w_old + b_old, 0, atol=1e-9)  # back on the old line


def test_the_canvas_previews_the_line_while_dragging_and_a_click_adds_no_sample(qtbot, shown_window):
    window = shown_window(30)
    model, handles = window.model, window.line_handles
    model.select_neuron((0, 0))
    start, _ = handles.points()
    n, latest = model.samples.n, model.history.latest_epoch
    viewport = window.canvas.viewport()
    held, plain = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    a = pixel(window, *start)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, a, held, plain)
    for step in range(1, 5):
        qtbot.wait(20)
        send_mouse(viewport, QEvent.Type.MouseMove, a + QPoint(0, -8 * step), held, plain)
    assert handles.dragging and model.history.latest_epoch == latest  # the history untouched
    w, b = split_params(model.spec, window.canvas.params)[0]
    np.testing.assert_allclose(handles.points() @ w[0] + b[0], 0, atol=1e-9)  # the canvas shows the preview
    assert not np.array_equal(window.canvas.params, model.displayed_params())
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, a + QPoint(0, -32), Qt.MouseButton.NoButton, plain)
    assert model.history.latest_epoch == latest + 1 and model.samples.n == n
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pixel(window, *handles.points()[1]))
    assert model.samples.n == n  # a click on a handle is the handle's
