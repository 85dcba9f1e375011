"""Train until epoch N: the worker stops by itself at exactly N, whatever the batch size and chunking; the
Model menu's entry asks for N, trains to it and says so; Train afterwards goes on without a limit."""

import numpy as np
import pytest
from PySide6.QtWidgets import QInputDialog

from app.core.dataset import make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer, train
from app.worker import TrainingWorker


def run_worker(trainer: Trainer, until: int, max_rate: float | None = None) -> tuple[list, list]:
    """Runs a worker to its end in this thread; (chunks, reasons) it sent."""
    worker = TrainingWorker(trainer, make_preset("xor"), 0, max_rate, until)
    chunks, reasons = [], []
    worker.chunkReady.connect(lambda _generation, chunk: chunks.append(chunk))
    worker.finished.connect(lambda _generation, reason: reasons.append(reason))
    worker.run()
    return chunks, reasons


@pytest.mark.parametrize(("batch_size", "already", "until", "max_rate"), [
    (0, 0, 1, None), (0, 0, 137, None), (1, 0, 53, None), (16, 37, 1000, None), (7, 5, 2345, None),
    (16, 0, 150, 3000.0),  # limited speed: chunks of 50 epochs, the last one cut short
])  # fmt: skip
def test_the_worker_stops_at_exactly_the_epoch_asked(batch_size, already, until, max_rate):
    trainer = Trainer(NetworkSpec(), TrainConfig(batch_size=batch_size))
    if already:
        list(train(trainer, lambda: make_preset("xor"), lambda: False, max_epochs=already))
    chunks, reasons = run_worker(trainer, until, max_rate)
    assert trainer.epoch == until == chunks[-1].last_epoch
    assert chunks[0].first_epoch == already + 1
    assert [c.first_epoch for c in chunks[1:]] == [c.last_epoch + 1 for c in chunks[:-1]]
    assert reasons == [f"Stopped at epoch {until} as asked."]


def model_menu_action(window, text: str):
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    return next(a for a in menus["&Model"].actions() if a.text() == text)


@pytest.fixture
def asked_epoch(monkeypatch):
    """Answers the input dialog with `answer[0]`; `asked` gets its proposed value."""
    asked, answer = [], [None]

    def get_int(parent, title, label, value, minimum, maximum, step):
        asked.append(value)
        return (answer[0], True)

    monkeypatch.setattr(QInputDialog, "getInt", get_int)
    return asked, answer


def test_train_until_from_the_model_menu_then_train_goes_on(shown_window, qtbot, asked_epoch):
    asked, answer = asked_epoch
    window = shown_window(5)
    controls = window.controls
    controls.speed_slider.setValue(controls.speed_slider.maximum())
    answer[0] = 640
    model_menu_action(window, "Train until epoch…").trigger()
    assert asked == [1005]  # the last epoch + 1000 is proposed
    assert window.training.running and controls.train_button.text() == "Pause"
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    assert window.model.history.latest_epoch == 640 == window.model.trainer.epoch
    assert controls.train_button.text() == "Train"
    assert window.message_label.text() == "Stopped at epoch 640 as asked."
    assert window.model.displayed_epoch == 640

    controls.train_button.click()
    assert window.training.running
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 700, timeout=60_000)
    controls.train_button.click()
    assert not window.training.running and controls.train_button.text() == "Train"
    assert np.array_equal(window.model.history.epochs[:3], [0, 1, 2])


def test_an_epoch_not_beyond_the_last_changes_nothing(shown_window, asked_epoch):
    _, answer = asked_epoch
    window = shown_window(30)
    for epoch in (30, 12):
        answer[0] = epoch
        model_menu_action(window, "Train until epoch…").trigger()
        assert not window.training.running and window.model.history.latest_epoch == 30
        said = window.message_label.text()
        assert said == f"Epoch {epoch} is not beyond the last epoch, 30: nothing to train."


def test_the_limit_holds_across_a_save_while_training_and_a_running_training_takes_it(
    shown_window, qtbot, tmp_path
):
    window = shown_window()
    assert window.controls.speed() == 100.0  # epochs per second: the save below comes well before the end
    window.training.start()
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > 5, timeout=60_000)
    until = window.model.history.latest_epoch + 150
    assert window.training.train_until(until)
    assert window.training.running and window.message_label.text() == f"Training until epoch {until}…"
    qtbot.waitUntil(lambda: window.model.history.latest_epoch > until - 130, timeout=60_000)
    assert window.files.save_session(str(tmp_path / "during.unboxed"))  # training pauses while it writes
    assert window.training.running
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    assert window.model.history.latest_epoch == until
    assert window.message_label.text() == f"Stopped at epoch {until} as asked."
