"""The training thread: a QObject moved to a QThread that forwards what the core's training generator yields.
Signals carry immutable EpochChunks out; thread-safe setters and a stop flag go in."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal, Slot

from app.core import engine
from app.core.dataset import SampleSet
from app.core.training import MAX_EPOCH, TrainConfig, Trainer, train

# Every QThread this module started, so tests can fail when one is left running.
started_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


class TrainingWorker(QObject):
    preparing = Signal()
    notice = Signal(str)  # something the user should know while training goes on (the engine fell back)
    chunkReady = Signal(int, object)  # generation, EpochChunk
    finished = Signal(int, str)  # generation, why it stopped ("" when asked to stop or done)

    def __init__(self, trainer: Trainer, samples: SampleSet, generation: int, max_rate: float | None = None,
                 until: int | None = None):  # fmt: skip
        super().__init__()
        self._until = until  # the epoch to stop at by itself, exactly; None: no limit
        self._trainer = trainer
        self._samples = samples
        self._config = trainer.config
        self.max_rate = max_rate  # epochs per second, None for as fast as it goes
        self._generation = generation
        self._stop = threading.Event()

    # Called from the GUI thread; plain reference swaps are atomic in Python.
    def set_samples(self, samples: SampleSet) -> None:
        self._samples = samples

    def set_config(self, config: TrainConfig) -> None:
        self._config = config

    def set_max_rate(self, epochs_per_second: float | None) -> None:
        self.max_rate = epochs_per_second

    def request_stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        reason = ""
        try:
            if self._trainer.backend == "engine" and not engine.is_compiled():
                self.preparing.emit()
                try:
                    engine.warm_up()
                except Exception as error:  # noqa: BLE001 - numba cannot compile here: torch takes over
                    self._trainer.fall_back_to_torch(error)
                self._pass_on_notice()
            limit = None if self._until is None else max(0, self._until - self._trainer.epoch)
            chunks = train(self._trainer, self._current_samples, self._stop.is_set, max_epochs=limit,
                           max_rate=lambda: self.max_rate, wait=self._stop.wait)  # fmt: skip
            for chunk in chunks:
                self.chunkReady.emit(self._generation, chunk)
                self._pass_on_notice()
                if chunk.diverged:
                    reason = (
                        f"Training diverged after epoch {chunk.last_epoch}: the loss became NaN or infinite. "
                        "Lower the learning rate, then press Reset."
                    )
            if not reason and self._until is not None and self._trainer.epoch >= self._until:
                reason = f"Stopped at epoch {self._until} as asked."
            if not reason and not self._stop.is_set():
                config = self._trainer.config
                reason = self._samples.training_problem(config.test_fraction, config.seed) or ""
                if not reason and self._trainer.epoch >= MAX_EPOCH:
                    reason = f"Training stopped at epoch {MAX_EPOCH:,}, the last the timeline can show."
        except Exception as error:  # noqa: BLE001 - reported to the user, never lost in the thread
            reason = f"Training stopped: {type(error).__name__}: {error}"
        self.finished.emit(self._generation, reason)

    def _pass_on_notice(self) -> None:
        if self._trainer.notice:
            self.notice.emit(self._trainer.notice)
            self._trainer.notice = ""

    def _current_samples(self) -> SampleSet:
        if self._config is not self._trainer.config:
            self._trainer.set_config(self._config)
        return self._samples


class TrainingThread:
    """Owns one worker and its QThread at a time; start() and stop() are called from the GUI thread.
    on_notice(text), if given, receives what the user should know while training goes on."""

    def __init__(self, on_chunk, on_finished, on_preparing, on_notice=None):
        self._slots = (on_chunk, on_finished, on_preparing)
        self._on_notice = on_notice
        self._thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.max_rate: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, trainer: Trainer, samples: SampleSet, generation: int, until: int | None = None) -> None:
        """Trains in a new thread until stopped, or until epoch `until` exactly when given."""
        self.stop()
        on_chunk, on_finished, on_preparing = self._slots
        thread = QThread()
        worker = TrainingWorker(trainer, samples, generation, self.max_rate, until)
        worker.moveToThread(thread)
        worker.chunkReady.connect(on_chunk)
        worker.finished.connect(on_finished)
        worker.preparing.connect(on_preparing)
        if self._on_notice is not None:
            worker.notice.connect(self._on_notice)
        worker.finished.connect(thread.quit)
        thread.started.connect(worker.run)
        self._thread, self.worker = thread, worker
        started_threads.add(thread)
        thread.start()

    def stop(self) -> None:
        """Asks the worker to stop, waits for its thread to end (at most one chunk, ~20 ms), and delivers the
        chunks it sent that are still queued: afterwards the history holds every epoch the trainer has
        trained, so that a session written now has a history and a trainer state that agree."""
        if self._thread is None:
            return
        self.worker.request_stop()
        self._thread.quit()
        self._thread.wait()
        self._thread = None
        self.worker = None
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)

    def set_samples(self, samples: SampleSet) -> None:
        if self.worker is not None:
            self.worker.set_samples(samples)

    def set_config(self, config: TrainConfig) -> None:
        if self.worker is not None:
            self.worker.set_config(config)

    def set_max_rate(self, epochs_per_second: float | None) -> None:
        self.max_rate = epochs_per_second
        if self.worker is not None:
            self.worker.set_max_rate(epochs_per_second)


class _JobWorker(QObject):
    done = Signal(object, object)  # the result, or None and the exception raised

    def __init__(self, work: Callable[[], object]):
        super().__init__()
        self._work = work

    @Slot()
    def run(self) -> None:
        try:
            result, error = self._work(), None
        except BaseException as raised:  # noqa: BLE001 - handed to the GUI thread, which says what went wrong;
            result, error = None, raised  # whatever it was, done must be emitted or the thread never ends
        self.done.emit(result, error)


class _Delivery(QObject):
    """Hands a job's outcome to its on_done in the GUI thread once the job's thread has ended: the owner may
    drop the job (and with it the QThread) in on_done, and a QThread destroyed before its thread ends aborts
    the process ("QThread: Destroyed while thread is still running")."""

    def __init__(self, thread: QThread, on_done: Callable[[object, object], None]):
        super().__init__()
        self._thread, self._on_done = thread, on_done

    @Slot(object, object)
    def deliver(self, result, error) -> None:
        self._thread.wait()  # it has quit already (done quits it directly): at most a moment
        self._on_done(result, error)


class BackgroundJob:
    """Runs `work()` in a thread of its own and hands (result, None), or (None, the exception it raised), to
    `on_done` in the thread that made the job (the GUI thread), once the job's thread has ended: for work
    that takes seconds, such as building an interpretable network on thousands of samples, while the window
    stays usable. Its owner may drop the job in on_done."""

    def __init__(self, work: Callable[[], object], on_done: Callable[[object, object], None]):
        self._thread = QThread()
        self._worker = _JobWorker(work)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._delivery = _Delivery(self._thread, on_done)  # lives in this (the GUI) thread: queued to it
        self._worker.done.connect(self._delivery.deliver)
        # Direct: the thread ends on its own, even while the GUI thread waits for it in wait().
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        started_threads.add(self._thread)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self) -> None:
        """Blocks until the work is done (the work cannot be interrupted)."""
        self._thread.wait()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)  # its result, delivered now
