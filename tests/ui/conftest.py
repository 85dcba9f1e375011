"""Windows for the UI tests: shown, optionally trained, closed afterwards."""

import pytest

from app.ui.app import train_synchronously
from app.ui.main_window import MainWindow


@pytest.fixture
def shown_window(qtbot):
    """A factory: shown_window(epochs, spec=None) gives a shown MainWindow (default network unless spec is
    given) trained that many epochs (in this thread)."""
    windows = []

    def make(epochs: int = 0, spec=None) -> MainWindow:
        window = MainWindow(spec=spec)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if epochs:
            train_synchronously(window, epochs)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def fresh_settings(tmp_path, monkeypatch):
    """Settings (QSettings) and application data (autosave, last session) of this test alone, in
    tmp_path/config and tmp_path/data: a first start. The suite's sandbox (tests/conftest.py) comes back
    after."""
    import os

    from PySide6.QtCore import QSettings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # QStandardPaths reads it at every call
    kinds = (QSettings.Format.NativeFormat, QSettings.Format.IniFormat)
    for kind in kinds:  # QSettings read XDG_CONFIG_HOME once: its folder is set instead
        QSettings.setPath(kind, QSettings.Scope.UserScope, str(tmp_path / "config"))
    yield tmp_path
    for kind in kinds:
        QSettings.setPath(kind, QSettings.Scope.UserScope, os.environ["XDG_CONFIG_HOME"])
