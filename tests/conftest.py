"""Shared test settings: no display needed, and no test may leave a training thread running."""

import atexit
import os
import shutil
import sys
import tempfile
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings, recent files and autosaves of test windows go to a throw-away folder, never the user's.
_SANDBOX = tempfile.mkdtemp(prefix="unboxed-tests-")
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = os.path.join(_SANDBOX, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_SANDBOX, "data")


@pytest.fixture(autouse=True)
def discard_unsaved_changes_on_close(monkeypatch):
    """Closing a test window with unsaved work answers "Discard" instead of waiting for a person."""
    if "app.ui.main_window" in sys.modules:
        from PySide6.QtWidgets import QMessageBox

        discard = QMessageBox.StandardButton.Discard
        monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: discard)


@pytest.fixture(autouse=True)
def no_thread_left_running():
    before = set(threading.enumerate())
    yield
    worker = sys.modules.get("app.worker")  # only loaded by tests that use Qt
    running = [t for t in list(worker.started_threads) if t.isRunning()] if worker else []
    assert not running, f"{len(running)} training QThread(s) still running after the test"
    extra = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not extra, f"Python threads left running: {extra}"


def pytest_configure(config):
    """One thread for torch and BLAS, as in the app: on these tiny tensors more threads only contend."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
