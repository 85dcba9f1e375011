"""Shaping the data precisely: move, delete, select, brush, colours, undo/redo, CSV import and export."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.core.dataset import BLUE, RED, read_csv


@pytest.fixture
def window(shown_window, monkeypatch):
    warnings = []
    monkeypatch.setattr("app.ui.session_files.QMessageBox.warning", lambda *args: warnings.append(args[2]))
    w = shown_window()
    w.warnings = warnings
    return w


def pixel(window, x, y) -> QPoint:
    return window.canvas.mapFromScene(window.canvas.view_box.mapViewToScene(QPointF(x, y)))


def send_mouse(widget, kind, point, buttons, modifier):
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else left
    global_point = QPointF(widget.mapToGlobal(point))
    event = QMouseEvent(kind, QPointF(point), global_point, button, buttons, modifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, window, start, end, modifier=Qt.KeyboardModifier.NoModifier, steps=6):
    """A real drag: press, moves with the button (and modifier) held, release, as Qt delivers them."""
    viewport = window.canvas.viewport()
    a, b = pixel(window, *start), pixel(window, *end)
    held, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(viewport, QEvent.Type.MouseButtonPress, a, held, modifier)
    for t in np.linspace(0, 1, steps)[1:]:
        point = QPoint(round(a.x() + t * (b.x() - a.x())), round(a.y() + t * (b.y() - a.y())))
        qtbot.wait(20)  # pyqtgraph drops mouse moves that come faster than its rate limit
        send_mouse(viewport, QEvent.Type.MouseMove, point, held, modifier)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, b, none, modifier)
    qtbot.wait(1)


def per_pixel(window) -> float:
    return window.canvas.view_box.pixel_size()


def test_dragging_a_sample_moves_it_and_undo_redo(qtbot, window):
    original = window.model.samples
    i = 7
    start = original.points[i]
    drag(qtbot, window, start, start + [0.8, -0.5])
    assert window.model.samples.n == original.n
    np.testing.assert_allclose(
        window.model.samples.points[i], start + [0.8, -0.5], atol=3 * per_pixel(window)
    )
    others = np.delete(np.arange(original.n), i)
    np.testing.assert_array_equal(window.model.samples.points[others], original.points[others])
    assert window.model.undo_stack.undoText().startswith("Move 1 sample")
    window.model.undo_stack.undo()
    assert window.model.samples is original
    window.model.undo_stack.redo()
    np.testing.assert_allclose(
        window.model.samples.points[i], start + [0.8, -0.5], atol=3 * per_pixel(window)
    )


def test_dragging_empty_space_pans(qtbot, window):
    before = window.canvas.view_rect()
    drag(qtbot, window, (3.0, 0.25), (2.0, 0.25))
    after = window.canvas.view_rect()
    assert after.xmin == pytest.approx(before.xmin + 1.0, abs=0.1)
    assert window.model.undo_stack.count() == 0


def test_middle_click_and_delete_key_remove_the_sample_under_the_cursor(qtbot, window):
    n = window.model.samples.n
    target = window.model.samples.points[3].copy()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.MiddleButton, pos=pixel(window, *target))
    assert window.model.samples.n == n - 1
    assert not any(np.allclose(p, target) for p in window.model.samples.points)
    second = window.model.samples.points[10].copy()
    qtbot.mouseMove(window.canvas.viewport(), pixel(window, *second))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Backspace)
    assert window.model.samples.n == n - 2
    window.model.undo_stack.undo()
    window.model.undo_stack.undo()
    assert window.model.samples.n == n


def test_rubber_band_selects_then_delete_and_group_move(qtbot, window):
    points = window.model.samples.points
    box = (-2.8, 0.9, -1.2, 2.3)  # the upper-left blue cluster
    inside = np.flatnonzero((points[:, 0] > box[0]) & (points[:, 0] < box[2])
                            & (points[:, 1] > box[1]) & (points[:, 1] < box[3]))  # fmt: skip
    assert len(inside) > 10
    drag(qtbot, window, (box[0], box[1]), (box[2], box[3]), Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(window.canvas.view_box.selection, inside)
    assert len(window.canvas.selection_rings.data) == len(inside)
    start = points[inside[0]]
    drag(qtbot, window, start, start + [0.0, 0.5])
    moved = window.model.samples.points[inside] - points[inside]
    np.testing.assert_allclose(moved, np.tile([0.0, 0.5], (len(inside), 1)), atol=3 * per_pixel(window))
    n = window.model.samples.n
    window.canvas.delete_selected_or_hovered()
    assert window.model.samples.n == n - len(inside)
    window.model.undo_stack.undo()
    assert window.model.samples.n == n


def test_brush_sprays_the_current_colour_and_undoes_in_one_step(qtbot, window):
    n = window.model.samples.n
    window.set_current_label(BLUE)
    window.menu_actions.brush_action.setChecked(True)
    drag(qtbot, window, (-0.5, -2.0), (0.5, -2.0), steps=8)
    added = window.model.samples.n - n
    assert added >= 3 * 5
    assert (window.model.samples.labels[n:] == BLUE).all()
    assert window.model.undo_stack.count() == 1
    window.model.undo_stack.undo()
    assert window.model.samples.n == n
    window.menu_actions.brush_action.setChecked(False)


def test_class_selector_sets_what_a_click_adds(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pixel(window, 0.1, 0.1))
    assert window.model.samples.labels[-1] == BLUE
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.RightButton, pos=pixel(window, 0.2, 0.1))
    assert window.model.samples.labels[-1] == RED
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pixel(window, 0.3, 0.1))
    assert window.model.samples.labels[-1] == RED


def test_clear_and_preset_loads_are_undoable(window):
    original = window.model.samples
    window.model.edit_samples(window.model.samples.cleared(), "Clear samples")
    assert window.model.samples.n == 0
    window.load_preset("moons")
    assert window.model.samples.n == 200
    window.model.undo_stack.undo()
    assert window.model.samples.n == 0
    window.model.undo_stack.undo()
    assert window.model.samples is original


def test_csv_import_export_round_trip_and_refusal(tmp_path, window):
    out = tmp_path / "s.csv"
    assert window.files.export_csv(str(out))
    np.testing.assert_array_equal(read_csv(out).points, window.model.samples.points)
    original = window.model.samples
    good = tmp_path / "good.csv"
    good.write_text("x,y,label\n0,0,red\n1,1,blue\n2,0.5,red\n")
    assert window.files.import_csv(str(good))
    assert window.model.samples.n == 3 and window.model.samples.labels.tolist() == [RED, BLUE, RED]
    window.model.undo_stack.undo()
    assert window.model.samples is original
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n0,0,0\n1,nan,1\n")
    assert not window.files.import_csv(str(bad))
    assert window.model.samples is original
    assert "line 3" in window.warnings[-1]


def test_a_csv_of_three_classes_imports_with_its_names_and_undo_brings_the_two_back(tmp_path, window):
    """Issue 23: the window takes any number of classes (2 to 8), with the file's class names."""
    original = window.model.samples
    path = tmp_path / "pets.csv"
    path.write_text("x,y,label\n0,0,cat\n1,1,dog\n2,0.5,emu\n")
    assert window.files.import_csv(str(path))
    assert window.model.samples.class_names == ("cat", "dog", "emu") and window.model.spec.classes == 3
    assert window.warnings == []
    window.model.undo_stack.undo()
    assert window.model.samples is original and window.model.spec.classes == 2


def test_a_click_beyond_the_coordinate_limit_says_so_and_adds_nothing(window):
    """Zoomed out 10,000 times around data at 1e12, a click reached past ±1e15: a traceback from the click
    handler (#19)."""
    from app.core.dataset import MAX_COORDINATE

    n = window.model.samples.n
    window.add_sample(2 * MAX_COORDINATE, 0.0, 0)
    assert window.model.samples.n == n and not window.model.undo_stack.canUndo()
    assert window.message_label.text().startswith("No sample added there")


def test_a_csv_import_can_be_cancelled_and_the_samples_stay(window, tmp_path, monkeypatch):
    """Ten million rows took 67 s with no progress (#19): the import shows progress and can be cancelled."""
    path = tmp_path / "big.csv"
    path.write_text("".join(f"{k % 97},{k % 89},{k % 2}\n" for k in range(20000)))
    before = window.model.samples
    with monkeypatch.context() as patched:
        patched.setattr("app.ui.session_files.QProgressDialog.wasCanceled", lambda self: True)
        assert not window.files.import_csv(str(path))
    assert window.model.samples is before
    assert "cancelled" in window.message_label.text() and not window.warnings
    assert window.files.import_csv(str(path)) and window.model.samples.n == 20000
