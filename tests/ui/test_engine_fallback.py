"""The compiled engine failing under the window: training goes on with torch and says so, or stops at the
last finite epoch with a message; the history is kept either way."""

import numpy as np
import pytest

from app.core import engine

pytestmark = pytest.mark.skipif(not engine.AVAILABLE, reason="numba is not installed")


def compile_error():
    raise RuntimeError("numba cannot compile here")


def test_an_engine_that_cannot_compile_leaves_training_to_torch(qtbot, shown_window, monkeypatch):
    monkeypatch.setattr(engine, "is_compiled", lambda: False)
    monkeypatch.setattr(engine, "warm_up", compile_error)
    window = shown_window()  # its start-up warm-up fails too, quietly
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 20, timeout=20000)
    assert window.training.running and window.model.trainer.backend == "torch"
    assert window.message_label.text() == (
        "The compiled engine failed (RuntimeError: numba cannot compile here); training goes on with torch."
    )
    window.training.pause()


def test_an_engine_failing_mid_run_keeps_the_history_and_goes_on(qtbot, shown_window, monkeypatch):
    window = shown_window()
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 10, timeout=20000)
    monkeypatch.setattr(engine, "train_epochs", lambda *args: compile_error())
    qtbot.waitUntil(lambda: window.message_label.text().startswith("The compiled engine"), timeout=5000)
    switched = window.model.history.latest_epoch
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > switched + 20, timeout=20000)
    assert window.training.running and window.model.trainer.backend == "torch"
    window.training.pause()
    np.testing.assert_array_equal(
        window.model.history.epochs, np.arange(window.model.history.latest_epoch + 1)
    )


def test_nan_from_the_engine_stops_training_with_the_finite_history_kept(qtbot, shown_window, monkeypatch,
                                                                         tmp_path):  # fmt: skip
    window = shown_window()
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 10, timeout=20000)
    real = engine.train_epochs

    def nan_engine(params, *args):
        result = real(params, *args)
        result[1][:] = np.nan
        params[:] = np.nan
        return result

    monkeypatch.setattr(engine, "train_epochs", nan_engine)
    qtbot.waitUntil(lambda: not window.training.running, timeout=20000)
    assert "diverged" in window.message_label.text() and window.model.history.latest_epoch > 10
    assert np.isfinite(window.model.history.params).all() and np.isfinite(window.model.history.loss).all()
    assert window.files.save_session(str(tmp_path / "after-nan.unboxed"))
