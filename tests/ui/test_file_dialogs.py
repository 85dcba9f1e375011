"""File dialogs open in the user's documents folder, then in the folder last used in one: never the program's
working directory."""

from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog


@pytest.fixture
def documents(fresh_settings, monkeypatch):
    """A home with a Documents folder, as most desktops have (the XDG default for documents)."""
    home = fresh_settings / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert Path(location) == home / "Documents"
    return home / "Documents"


@pytest.fixture
def dialogs(monkeypatch):
    """Every file dialog's proposed path (its third argument); each answers with the next of `answers`."""
    asked, answers = [], []

    def dialog(parent, title, proposed, pattern):
        asked.append(Path(proposed))
        return (str(answers.pop(0)) if answers else "", "")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    return asked, answers


def test_the_first_dialog_proposes_the_documents_folder_then_the_last_one_used(
    shown_window, documents, dialogs, tmp_path
):
    asked, answers = dialogs
    window = shown_window()
    assert not window.files.save_session_as()  # cancelled
    assert asked[-1] == documents / "session.unboxed"  # the default name stays, in the documents folder
    assert not window.files.open_session()
    assert asked[-1] == documents
    assert Path.cwd() not in (asked[0].parent, asked[1])

    answers.append(tmp_path / "x.unboxed")
    assert window.files.save_session_as()
    assert (tmp_path / "x.unboxed").is_file()
    assert not window.files.export_csv()
    assert asked[-1] == tmp_path / "samples.csv"
    assert not window.files.export_picture(window.canvas, "png")
    assert asked[-1] == tmp_path / "unboxed.png"
    assert not window.files.import_csv()
    assert asked[-1] == tmp_path

    second = shown_window()  # the folder is remembered across windows (and starts)
    assert not second.files.save_session_as()
    assert asked[-1] == tmp_path / "session.unboxed"


def test_a_cancelled_dialog_does_not_change_the_folder_and_a_vanished_one_falls_back(
    shown_window, documents, dialogs, tmp_path
):
    asked, answers = dialogs
    window = shown_window()
    folder = tmp_path / "later-removed"
    folder.mkdir()
    answers.append(folder / "samples.csv")
    assert window.files.export_csv()
    assert not window.files.save_session_as()
    assert asked[-1] == folder / "session.unboxed"
    (folder / "samples.csv").unlink()
    folder.rmdir()
    assert not window.files.save_session_as()
    assert asked[-1] == documents / "session.unboxed"


def test_without_a_documents_folder_the_dialog_opens_at_home(shown_window, fresh_settings, dialogs,
                                                              monkeypatch):  # fmt: skip
    home = fresh_settings / "bare-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    asked, _ = dialogs
    assert not shown_window().files.export_animation()
    assert asked[-1] == home / "training.gif"
