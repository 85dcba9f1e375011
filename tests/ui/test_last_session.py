"""A plain start shows the session the last window closed with: its samples and network together, never the
default samples with the last network's shape; an unreadable one gives the defaults for both, and says so."""

import numpy as np
from PySide6.QtWidgets import QMessageBox

from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.network import NetworkSpec
from app.ui.app import offer_recovery, train_synchronously
from app.ui.session_files import autosave_path, last_session_path


def left_window(shown_window):
    """A window with moons and one more sample, a 3,2 network trained 40 epochs, epoch 17 shown; closed."""
    window = shown_window()
    window.model.edit_samples(make_preset("moons").with_sample(2.5, -1.5, 1), "Custom samples")
    window.controls.layers_edit.setText("3,2")
    window.controls.layers_edit.editingFinished.emit()
    window.controls.learning_rate_box.setValue(0.1)
    train_synchronously(window, 40)
    window.model.scrub_to(17)
    window.close()  # unsaved: the tests' answer is Discard
    return window


def assert_defaults(window) -> None:
    default = make_preset(DEFAULT_PRESET)
    assert np.array_equal(window.model.samples.points, default.points)
    assert np.array_equal(window.model.samples.labels, default.labels)
    assert window.model.spec == NetworkSpec() and window.model.history.latest_epoch == 0


def test_a_plain_start_restores_the_samples_together_with_their_network(shown_window, fresh_settings):
    first = left_window(shown_window)
    assert last_session_path().is_file()
    second = shown_window()
    assert_defaults(second)
    assert second.restore_settings()
    model = second.model
    assert np.array_equal(model.samples.points, first.model.samples.points)
    assert np.array_equal(model.samples.labels, first.model.samples.labels)
    assert model.spec.widths == (3, 2) and second.controls.layers_edit.text() == "3,2"
    assert model.config.learning_rate == 0.1
    assert model.history.latest_epoch == 40 and model.displayed_epoch == 17
    assert np.array_equal(model.trainer.params, first.model.trainer.params)
    assert second.canvas.samples.n == model.samples.n  # the views show them
    assert not model.modified and second.windowTitle() == "Unboxed" and second.files.path is None
    assert model.samples.n == make_preset("moons").n + 1
    said = second.message_label.text()
    assert said == f"Restored the last session: {model.samples.n} samples, network 2-3-2-1, 40 epochs."


def test_an_unreadable_last_session_gives_the_defaults_for_both_and_says_so(shown_window, fresh_settings):
    left_window(shown_window)
    path = last_session_path()
    for damage in (path.read_bytes()[: path.stat().st_size // 2], b"not a session"):
        path.write_bytes(damage)
        window = shown_window()
        assert not window.restore_settings()
        assert_defaults(window)
        assert window.message_label.text().startswith("Could not restore the last session (")
        assert window.message_label.text().endswith("started with the default samples and network.")


def test_the_first_start_gives_the_defaults_without_a_word(shown_window, fresh_settings):
    window = shown_window()
    assert not window.restore_settings()
    assert_defaults(window)
    assert window.message_label.text().startswith("Left-click")


def test_a_failed_write_on_close_leaves_no_older_session_to_come_back(shown_window, fresh_settings,
                                                                      monkeypatch):  # fmt: skip
    left_window(shown_window)
    assert last_session_path().is_file()

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.ui.session_files.save_session", full_disk)
    shown_window().close()
    assert not last_session_path().exists()


def test_an_accepted_recovery_wins_over_the_last_session(shown_window, fresh_settings, monkeypatch):
    left_window(shown_window)
    crashed = shown_window(25)
    crashed.files.autosave()
    assert autosave_path().is_file()
    crashed.model.set_modified(False)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    window = shown_window()
    assert window.restore_settings()  # as a plain start does, before the offer
    offer_recovery(window)
    assert window.model.spec == NetworkSpec() and window.model.history.latest_epoch == 25
    assert window.model.samples.n == make_preset(DEFAULT_PRESET).n
