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
