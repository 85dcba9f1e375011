"""Runs the Study window's study in the background: the spec checked first (a bad one: its one-line message
in a dialog, nothing runs), then app.study.run_study on a local process pool in a thread of its own, its
progress (runs done of the total, ETA) shown as it goes. Cancel stops it (tasks not started are cancelled,
running ones get a few seconds, then their processes end; runs.csv keeps every finished run, so Run goes
on from there); closing the window or quitting the application cancels and waits, leaving no thread or
process behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.study_spec import Study, StudySpecError, read_spec
from app.core.study_table import RUNS, read_rows
from app.study import StudyStopped, process_pool, run_study, stoppable
from app.ui.study_window import StudyWindow
from app.worker import BackgroundJob

GRACE_SECONDS = 3.0  # after Cancel, running tasks get this long to finish and be recorded


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class StudyControl(QObject):
    progressed = Signal(int, int, int)  # runs finished, runs to run, failed: from the study's thread

    def __init__(self, parent: QObject | None = None, workers: int | None = None):
        super().__init__(parent)
        self.workers = workers  # None: every core
        self.window = StudyWindow()
        self.job: BackgroundJob | None = None  # the last study's (kept: its thread may still be ending)
        self._running = False  # until its result has arrived
        self.study: Study | None = None
        self.out: Path | None = None
        self._stop = threading.Event()
        self._started = 0.0
        self.window.runRequested.connect(self.run)
        self.window.cancelRequested.connect(self.cancel)
        self.window.closed.connect(self.shutdown)
        self.progressed.connect(self._show_progress)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    @property
    def running(self) -> bool:
        return self._running

    def open(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def run(self) -> bool:
        """Run: the spec (with the edits made in the window) checked, then the study started; False when it
        cannot start (said in a dialog)."""
        if self.running:
            return False
        window = self.window
        try:
            if window.spec_path is None:
                raise StudySpecError("choose a spec file first (or write a starter one with New…)")
            window.save_spec()
            study = read_spec(window.spec_path)
        except (StudySpecError, OSError) as e:
            QMessageBox.warning(window, "Study", f"This study cannot run: {e}")
            return False
        self.study, self.out = study, window.out_path
        self._stop = threading.Event()
        self._started = time.perf_counter()
        window.set_running(True)
        window.show_results(None)
        window.set_progress(0, study.n_runs, f"Starting {study.n_runs} runs of {len(study.configs)} "
                            "configurations…")  # fmt: skip
        stop, out, workers, emit = self._stop, self.out, self.workers, self.progressed.emit

        def work():
            executor = stoppable(process_pool(workers), stop, GRACE_SECONDS)
            try:
                return run_study(study, out, executor, progress=emit)
            finally:
                executor.close()

        if self.job is not None:
            self.job.wait()  # ended already: its result has arrived
        self._running = True
        self.job = BackgroundJob(work, self._done)
        return True

    def cancel(self) -> None:
        if self.running:
            self._stop.set()
            self.window.cancel_button.setEnabled(False)
            self.window.status.setText("Cancelling: the running tasks get a few seconds to finish…")

    def shutdown(self) -> None:
        """The window closes or the application quits: the study stops, and this waits for it."""
        self._stop.set()
        if self.job is not None:
            self.job.wait()

    def _show_progress(self, finished: int, to_run: int, failed: int) -> None:
        if self.study is None or not self.running:
            return
        total = self.study.n_runs
        before = total - to_run
        elapsed = time.perf_counter() - self._started
        eta = _duration(elapsed / finished * (to_run - finished)) if finished else "–"
        text = f"{before + finished} / {total} runs done"
        if before:
            text += f" ({before} before)"
        text += f", {failed} failed, {_duration(elapsed)}, ETA {eta}"
        self.window.set_progress(before + finished, total, text)

    def _done(self, _table, error) -> None:
        self._running = False
        window = self.window
        window.set_running(False)
        done = len(read_rows(self.out / RUNS)) if self.out is not None else 0
        if isinstance(error, StudyStopped):
            window.status.setText(f"Cancelled: {done} runs are in {self.out / RUNS}; Run again to go on.")
            window.open_button.setEnabled(True)
        elif error is not None:
            first = (str(error).strip().splitlines() or [""])[0]
            window.status.setText(f"The study stopped: {type(error).__name__}: {first}")
        else:
            n, took = self.study.n_runs, _duration(time.perf_counter() - self._started)
            window.set_progress(n, n, f"Done: {n} runs, {took}; written to {self.out}")
            window.show_results(self.out)


def open_study_window() -> StudyControl:
    """File > New study…: the application's Study window (one, made at the first call), shown."""
    app = QApplication.instance()
    control = app.findChild(StudyControl) if app is not None else None
    if control is None:
        control = StudyControl(app)
    control.open()
    return control
