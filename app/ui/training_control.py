"""Training control: owns the training thread; starts, pauses and resets training, and applies network and
training settings to the session model. `runningChanged` is the one source of the Train/Pause state."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from PySide6.QtCore import QObject, Signal

from app.core.network import ACTIVATION_LABELS, NetworkSpec
from app.core.training import MAX_EPOCH, EpochChunk, TrainConfig
from app.ui.session_model import SessionModel
from app.worker import TrainingThread


class TrainingControl(QObject):
    runningChanged = Signal(bool)  # training started or stopped, whatever the cause
    message = Signal(str)  # what the user should read in the status line

    def __init__(self, model: SessionModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.thread = TrainingThread(self.on_chunk, self.on_finished, self.on_preparing, self.on_notice)
        self._preparing = False
        self._stopping = False  # set while this object stops the thread: its end is no news...
        self._ended_by_itself = ""  # ...unless the run ended by itself meanwhile (diverged): why it did
        self._until: int | None = None  # the epoch the running training stops at by itself (Train until)
        model.samplesChanged.connect(self._samples_changed)
        model.training_paused = self.paused  # an edit that changes the number of classes swaps the run

    @property
    def running(self) -> bool:
        return self.thread.running

    def set_max_rate(self, epochs_per_second: float | None) -> None:
        self.thread.set_max_rate(epochs_per_second)

    # --- start and stop -----------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.running:
            self.pause()
        else:
            self.start()

    def start(self, until: int | None = None) -> bool:
        """Trains until paused, or (`until`) until that epoch exactly, where it stops by itself."""
        model = self.model
        problem = model.samples.training_problem(model.config.test_fraction, model.config.seed)
        if problem:
            self.message.emit(problem)
            return False
        model.trainer.set_config(model.config)
        self._until = until
        self._start_thread()
        self.message.emit("Training…" if until is None else f"Training until epoch {until}…")
        return True

    def train_until(self, epoch: int) -> bool:
        """Trains on from the last epoch and stops by itself at `epoch`; an epoch not beyond the last one (or
        beyond the last the timeline holds) changes nothing and says so."""
        latest = self.model.history.latest_epoch
        if epoch <= latest:
            self.message.emit(f"Epoch {epoch} is not beyond the last epoch, {latest}: nothing to train.")
            return False
        if epoch > MAX_EPOCH:
            self.message.emit(f"Epoch {epoch} is beyond {MAX_EPOCH}, the last the timeline holds.")
            return False
        self.stop()  # a run going on stops first, and goes on with the limit
        return self.start(until=epoch)

    def pause(self) -> None:
        self.stop()
        self.model.follow_history()
        self.message.emit("Paused. Press Train (or Space) to resume.")

    def stop(self) -> None:
        """Stops training (if running) and delivers every epoch it trained; says so through runningChanged."""
        was_running = self.running
        self._stop_thread()
        if was_running:
            self.runningChanged.emit(False)

    @contextmanager
    def paused(self):
        """Training stands still inside (a session is being written: the trainer is read) and goes on after,
        without a change of the Train/Pause state."""
        was_running = self.running
        self._stop_thread()
        ended, self._ended_by_itself = self._ended_by_itself, ""
        try:
            yield
        finally:
            if was_running and not ended:
                self._start_thread()
            elif was_running:  # it ended by itself while being stopped: say why, and do not start it again
                self.runningChanged.emit(False)
                self.message.emit(ended)

    def _start_thread(self) -> None:
        self.thread.start(self.model.trainer, self.model.samples, self.model.generation, self._until)
        self.runningChanged.emit(True)

    def _stop_thread(self) -> None:
        self._stopping, self._ended_by_itself = True, ""
        try:
            self.thread.stop()
        finally:
            self._stopping = False

    # --- settings and runs --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.restart_run("Reset to epoch 0 with fresh initial weights.", resume=False)
        self.model.set_modified()

    def set_spec(self, spec: NetworkSpec) -> None:
        """A new network (its outputs: one per class of the samples, or one for two) and a fresh run."""
        spec = dataclasses.replace(spec, classes=self.model.samples.classes)
        self.model.set_modified()
        shape = "-".join(str(s) for s in spec.layer_sizes)
        self.restart_run(f"Network changed to {shape} ({ACTIVATION_LABELS[spec.activation]}): training "
                         "restarted from new initial weights.", spec=spec)  # fmt: skip

    def set_config(self, config: TrainConfig) -> None:
        """A new seed restarts the run; the other settings apply from the next epoch."""
        if config.seed != self.model.config.seed:
            self.model.set_modified()
            self.restart_run(f"Seed changed to {config.seed}: training restarted from new initial weights.",
                             config=config)  # fmt: skip
            return
        self.model.set_config(config)
        self.thread.set_config(config)
        if not self.running:
            self.model.trainer.set_config(config)

    def restart_run(self, message: str, spec: NetworkSpec | None = None, config: TrainConfig | None = None,
                    resume: bool = True) -> None:  # fmt: skip
        """Fresh weights, history from epoch 0, and training again if it was on (when `resume`). Training
        stops before anything changes: stopping delivers the old run's queued epochs and end of training,
        which must meet the old settings."""
        was_running = self.running
        self.stop()
        self.model.new_run(spec, config)
        self.message.emit(message)
        if was_running and resume:
            self.start()

    # --- what the training thread reports (queued into the GUI thread) ----------------------------------
    def _samples_changed(self) -> None:
        self.thread.set_samples(self.model.samples)
        if self.running and not self.model.live:
            self.model.go_live()

    def on_preparing(self) -> None:
        self._preparing = True
        self.message.emit("Preparing the training engine… (compiling, only the first time)")

    def on_notice(self, text: str) -> None:
        self._preparing = False  # the notice says what happened to the engine; it stays on the status line
        self.message.emit(text)

    def on_chunk(self, generation: int, chunk: EpochChunk) -> None:
        self.model.append(generation, chunk)
        if self._preparing and generation == self.model.generation:
            self._preparing = False
            self.message.emit("Training…")

    def on_finished(self, generation: int, reason: str) -> None:
        if generation != self.model.generation:
            return
        if self._stopping:
            self._ended_by_itself = reason
            return
        self._stop_thread()
        self.runningChanged.emit(False)
        self.model.follow_history()
        if reason:
            self.message.emit(reason)
