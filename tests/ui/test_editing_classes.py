"""More than two classes in the window (issue 23): keys 1 to 8 and the toolbar's palette choose the class a
click adds; a sample of a new class, a preset or a file of another number of classes gives the network as many
outputs and a fresh run, which undo takes back (the run before it comes back as it was left)."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core.dataset import BLUE, RED, make_preset
from app.core.network import NetworkSpec
from app.core.session import load_session
from app.ui.class_colours import class_rgb
from tests.ui.test_editing import pixel


@pytest.fixture
def window(shown_window, monkeypatch):
    warnings = []
    monkeypatch.setattr("app.ui.session_files.QMessageBox.warning", lambda *args: warnings.append(args[2]))
    w = shown_window(40)
    w.warnings = warnings
    return w


def click(qtbot, window, x, y, button=Qt.MouseButton.LeftButton):
    qtbot.mouseClick(window.canvas.viewport(), button, pos=pixel(window, x, y))


def shown_class_buttons(window) -> list[str]:
    return [a.iconText() for a in window.menu_actions.class_actions.actions if a.isVisible()]


def test_key_3_and_a_click_start_a_third_class_and_undo_brings_the_trained_network_back(qtbot, window):
    assert shown_class_buttons(window) == ["red", "blue", "+ class 3"]  # the next class is one click away
    two_class = window.model.history
    qtbot.keyClick(window, Qt.Key.Key_3)
    click(qtbot, window, 0.1, 0.1)
    model = window.model
    assert model.samples.class_names == ("red", "blue", "class 3") and model.samples.labels[-1] == 2
    assert model.spec == NetworkSpec((4, 4), "tanh", classes=3) and model.history.latest_epoch == 0
    assert "3 classes, not 2" in window.message_label.text() and "Undo" in window.message_label.text()
    assert shown_class_buttons(window) == ["red", "blue", "class 3", "+ class 4"]
    qtbot.waitUntil(lambda: getattr(window.network_view.spec, "classes", 0) == 3)  # the diagram: 3 outputs
    model.train_here(25)
    model.undo_stack.undo()
    assert model.samples.classes == 2 and model.spec.classes == 2
    assert model.history is two_class and model.history.latest_epoch == 40  # as it was left
    assert "Back to 2 classes" in window.message_label.text()
    assert shown_class_buttons(window) == ["red", "blue", "+ class 3"]
    model.undo_stack.redo()
    assert model.samples.classes == 3 and model.history.latest_epoch == 25  # the 3-class run, as left
    assert model.trainer.epoch == 25


def test_right_click_adds_the_next_class_and_the_brush_the_chosen_one(qtbot, window):
    window.load_preset("blobs3")
    qtbot.keyClick(window, Qt.Key.Key_2)
    click(qtbot, window, 0.0, 0.0, Qt.MouseButton.RightButton)
    assert window.model.samples.labels[-1] == 2  # blue's next: class 3
    qtbot.keyClick(window, Qt.Key.Key_3)
    click(qtbot, window, 0.1, 0.0)
    click(qtbot, window, 0.2, 0.0, Qt.MouseButton.RightButton)
    assert window.model.samples.labels[-2:].tolist() == [2, RED]  # class 3's next: the first
    two = make_preset("moons")
    window.model.edit_samples(two, "two classes")
    qtbot.keyClick(window, Qt.Key.Key_1)
    click(qtbot, window, 0.0, 0.0, Qt.MouseButton.RightButton)
    assert window.model.samples.labels[-1] == BLUE  # two classes: right-click adds the other, as before


def test_a_preset_of_five_classes_while_training_goes_on_training_a_five_output_network(qtbot, window):
    window.training.start()
    window.load_preset("blobs5")
    assert window.training.running
    model = window.model
    assert model.spec.classes == 5 and model.trainer.spec.classes == 5
    qtbot.waitUntil(lambda: model.history.latest_epoch >= 20, timeout=20_000)
    window.training.stop()
    (loss, accuracy), _ = model.figures_at(model.history.latest_epoch)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    assert shown_class_buttons(window) == ["red", "blue", "class 3", "class 4", "class 5", "+ class 6"]
    window.canvas.refresh(full=True)
    key = window.canvas.keys.key.swatches  # the canvas key names every class in its colour
    assert [key[name] for name in model.samples.class_names] == [class_rgb(k) for k in range(5)]


def test_a_new_network_from_the_settings_keeps_one_output_per_class(qtbot, window):
    window.load_preset("spirals3")
    window.controls.layers_edit.setText("6,6")
    window.controls.layers_edit.editingFinished.emit()
    assert window.model.spec == NetworkSpec((6, 6), "tanh", classes=3)


def test_a_three_class_session_saves_opens_and_a_three_class_csv_imports(qtbot, window, tmp_path):
    window.load_preset("blobs3")
    window.model.train_here(30)
    path = str(tmp_path / "three.unboxed")
    assert window.files.save_session(path)
    assert load_session(path).spec.classes == 3
    window.load_preset("moons")
    assert window.files.open_session(path)
    assert window.model.samples.classes == 3 and window.model.history.latest_epoch == 30
    csv = tmp_path / "animals.csv"
    csv.write_text("x,y,label\n0,0,cat\n1,1,dog\n2,2,emu\n3,3,fox\n")
    assert window.files.import_csv(str(csv))
    assert window.model.samples.class_names == ("cat", "dog", "emu", "fox") and window.model.spec.classes == 4
    assert shown_class_buttons(window) == ["cat", "dog", "emu", "fox", "+ class 5"]
    assert window.warnings == []
