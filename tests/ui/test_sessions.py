"""Work that lasts: save and open sessions from the window, unsaved-change guard, autosave and recovery."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from app.core.session import load_session
from app.ui.app import offer_recovery, train_synchronously
from app.ui.main_window import MainWindow
from app.ui.session_files import autosave_path, recent_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_window(qtbot, monkeypatch):
    warnings = []
    monkeypatch.setattr("app.ui.session_files.QMessageBox.warning", lambda *args: warnings.append(args[2]))

    def make():
        w = MainWindow()
        w.warnings = warnings
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        return w

    return make


def test_save_and_open_reproduce_the_session(tmp_path, make_window):
    first = make_window()
    first.controls.test_fraction_box.setValue(0.2)
    train_synchronously(first, 120)
    first.add_sample(0.3, 0.4, 1)
    train_synchronously(first, 30)
    first.controls.layer_boxes[0].setChecked(True)
    first.menu_actions.regions_action.setChecked(True)
    first.set_regions_fill("slope")
    first.model.scrub_to(40)
    first.canvas.zoom(3.0)
    first.model.toggle_neuron(0, 2)
    first.influence_panel.mode_box.setCurrentIndex(1)
    path = tmp_path / "s.unboxed"
    assert first.files.save_session(str(path))
    assert not first.model.modified and first.windowTitle() == "Unboxed — s.unboxed"
    assert str(path.resolve()) in recent_files()

    second = make_window()
    assert second.files.open_session(str(path))
    for name in ("epochs", "params", "loss", "accuracy", "test_loss", "test_accuracy"):
        assert np.array_equal(
            getattr(second.model.history, name), getattr(first.model.history, name), equal_nan=True
        ), name
    assert second.model.history.data_changes == first.model.history.data_changes
    np.testing.assert_array_equal(second.model.samples.points, first.model.samples.points)
    assert second.model.config == first.model.config and second.model.spec == first.model.spec
    assert second.model.displayed_epoch == 40 and not second.model.live
    assert second.model.selected == (0, 2) and second.menu_actions.regions_action.isChecked()
    assert (
        second.canvas.regions_fill == "slope" and second.menu_actions.region_fill_actions["slope"].isChecked()
    )
    assert 1 in second.canvas.deep_layers_shown
    assert second.influence_panel.options().accumulated
    a, b = first.canvas.view_rect(), second.canvas.view_rect()
    assert (a.xmin, a.xmax, a.ymin, a.ymax) == pytest.approx((b.xmin, b.xmax, b.ymin, b.ymax), rel=1e-6)
    # training goes on from exactly where it stopped
    train_synchronously(first, 5)
    train_synchronously(second, 5)
    np.testing.assert_array_equal(first.model.history.params[-1], second.model.history.params[-1])


def test_a_damaged_file_changes_nothing_and_says_why(tmp_path, make_window):
    window = make_window()
    before = (window.model.samples, window.model.history)
    bad = tmp_path / "bad.unboxed"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert not window.files.open_session(str(bad))
    assert (window.model.samples, window.model.history) == before
    assert "damaged" in window.warnings[-1]


def test_a_failed_save_keeps_the_previous_file_and_the_unsaved_mark(tmp_path, make_window, monkeypatch):
    window = make_window()
    path = tmp_path / "s.unboxed"
    assert window.files.save_session(str(path))
    saved = path.read_bytes()
    window.add_sample(0.0, 0.0, 0)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.ui.session_files.save_session", full_disk)
    assert not window.files.save_session(str(path))
    assert "No space left on device" in window.warnings[-1]
    assert path.read_bytes() == saved and window.model.modified


@pytest.mark.parametrize(("answer", "closes"), [("Cancel", False), ("Discard", True)])
def test_closing_with_unsaved_changes_asks_first(make_window, monkeypatch, answer, closes):
    window = make_window()
    window.add_sample(0.0, 0.0, 0)
    asked = []
    button = getattr(QMessageBox.StandardButton, answer)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args) or button)
    window.close()
    assert asked and window.isVisible() == (not closes)
    window.model.set_modified(False)


def test_autosave_then_recovery_offer(make_window, monkeypatch):
    window = make_window()
    train_synchronously(window, 25)
    window.files.autosave()
    assert autosave_path().is_file()
    assert load_session(autosave_path()).history.latest_epoch == 25
    window.model.set_modified(False)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    fresh = make_window()
    offer_recovery(fresh)
    assert fresh.model.history.latest_epoch == 25 and fresh.model.modified and fresh.files.path is None
    assert not autosave_path().exists()


def test_a_killed_process_leaves_a_recoverable_autosave(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UNBOXED_AUTOSAVE_SECONDS": "1",
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}  # fmt: skip
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--epochs", "40"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    autosave = tmp_path / "data" / "Unboxed" / "Unboxed" / "autosave.unboxed"
    try:
        deadline = time.monotonic() + 60
        while not autosave.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    candidates = list((tmp_path / "data").rglob("autosave.unboxed"))
    assert candidates, "no autosave was written"
    assert load_session(candidates[0]).history.latest_epoch >= 40


def test_the_last_settings_come_back_at_the_next_plain_start(make_window):
    first = make_window()
    first.controls.layers_edit.setText("6,3")
    first.controls.layers_edit.editingFinished.emit()
    first.controls.learning_rate_box.setValue(0.1)
    first.controls.optimizer_box.setCurrentIndex(0)
    first.model.set_modified(False)
    first.close()
    second = make_window()
    second.restore_settings()
    assert second.model.spec.widths == (6, 3)
    assert second.model.config.learning_rate == 0.1 and second.model.config.optimizer == "sgd"
    assert second.controls.layers_edit.text() == "6,3" and second.model.history.latest_epoch == 0


def test_saving_while_training_writes_a_history_that_agrees_with_the_trainer(qtbot, tmp_path, make_window):
    """Found by the soak run: chunks still queued when a save paused training were missing from the saved
    history while the trainer state was ahead of it; reopened, training could not go on ("epoch 189 does not
    follow epoch 183")."""
    window = make_window()
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 50, timeout=10000)
    path = tmp_path / "running.unboxed"
    assert window.files.save_session(str(path))
    saved = load_session(path)
    assert saved.trainer.epoch == saved.history.latest_epoch
    window.training.stop()
    assert window.files.open_session(str(path))
    latest = window.model.history.latest_epoch
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > latest + 20, timeout=10000)  # it goes on
    window.training.stop()


def test_a_session_whose_trainer_disagrees_with_its_history_resumes_from_the_history(tmp_path, make_window):
    from dataclasses import replace

    from app.core.session import save_session

    window = make_window()
    train_synchronously(window, 30)
    session = window.model.to_session(window.view_state())
    ahead = replace(session, trainer=replace(session.trainer, epoch=session.trainer.epoch + 6))
    path = tmp_path / "ahead.unboxed"
    save_session(path, ahead)
    assert window.files.open_session(str(path))
    assert window.model.trainer.epoch == window.model.history.latest_epoch == 30
    train_synchronously(window, 5)
    assert window.model.history.latest_epoch == 35


@pytest.mark.parametrize(
    "edit",
    [
        {"view_rect": [-1e308, 1e308, -1e308, 1e308]},
        {"view_rect": [-3.0, 3.0, 2.0, 2.0]},
        {"layer_curves": "abc"},
        {"layer_curves": 5},
        {"influence": {"layer": 10**30, "accumulated": False, "include_bias": True, "per_neuron_scale": 1}},
    ],
)
def test_a_malformed_view_entry_falls_back_and_the_session_opens(tmp_path, make_window, edit):
    """Found by fuzzing: view entries the loader accepts (it does not check the UI's view) but the window
    could not show made opening fail halfway, or every display tick raise."""
    from dataclasses import replace

    from app.core.session import save_session

    window = make_window()
    train_synchronously(window, 10)
    session = window.model.to_session(window.view_state())
    path = tmp_path / "odd-view.unboxed"
    save_session(path, replace(session, view={**session.view, **edit}))
    assert window.files.open_session(str(path))
    window.frames.render_frame()
    rect = window.canvas.view_rect()
    assert np.isfinite([rect.xmin, rect.xmax, rect.ymin, rect.ymax]).all() and rect.width > 0
    assert window.model.history.latest_epoch == 10


def test_saving_and_autosaving_while_training_leave_the_train_button_saying_pause(
    qtbot, tmp_path, make_window
):
    """Found in review: a save (Ctrl+S) or the autosave stopped and restarted the training thread, and the end
    of the stopped thread set the button back to "Train" while training went on; a click then paused."""
    from PySide6.QtCore import Qt

    window = make_window()
    button = window.controls.train_button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 5, timeout=20000)
    assert button.text() == "Pause"
    assert window.files.save_session(str(tmp_path / "first.unboxed"))  # names the file Ctrl+S saves to
    qtbot.waitUntil(lambda: window.model.modified, timeout=5000)  # training goes on: new epochs
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # File > Save
    assert not window.model.modified and window.training.running and button.text() == "Pause"
    qtbot.waitUntil(lambda: window.model.modified, timeout=5000)
    window.files.autosave()  # as the one-minute timer does
    assert window.files.wrote_autosave and window.training.running and button.text() == "Pause"
    latest = window.model.history.latest_epoch
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > latest, timeout=5000)  # still training
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not window.training.running and button.text() == "Train"


def test_a_session_of_three_classes_opens_in_the_window(tmp_path, make_window):
    """Issue 23: a session of three classes opens from the menu and the way the command line and the last
    session open one, with its network of three outputs."""
    from app.core.dataset import make_preset
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec, loss_and_accuracy
    from app.core.session import Session, save_session
    from app.core.training import TrainConfig, Trainer

    samples, spec = make_preset("blobs3"), NetworkSpec((4,), "tanh", classes=3)
    trainer = Trainer(spec, TrainConfig())
    start = loss_and_accuracy(spec, trainer.params, samples.points, samples.labels)
    path = tmp_path / "three.unboxed"
    save_session(path, Session(samples, spec, TrainConfig(), TrainingHistory(spec, trainer.params, *start)))
    window = make_window()
    assert window.files.open_session(str(path))
    assert window.model.samples.classes == 3 and window.model.spec == spec and window.warnings == []
    assert window.files.path == str(path)
    window.load_preset("moons")
    assert window.model.spec.classes == 2
    window.files.apply_session(load_session(path))  # the command line's and the last session's way
    assert window.model.spec == spec and window.model.samples.class_names == samples.class_names
