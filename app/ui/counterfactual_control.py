"""Counterfactual retraining in the window: takes the samples selected on the canvas, retrains without them
in a background thread (progress, Cancel), then shows the result dashed on the canvas and in its panel, and
clears it when the samples or the run change."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QInputDialog

from app.core.counterfactual import (
    Counterfactual,
    RecordedRun,
    RetrainingCancelled,
    RetrainingRefused,
    retrain_without,
)
from app.ui.counterfactual_overlay import CounterfactualOverlay
from app.ui.counterfactual_panel import QtCounterfactualPanel, sample_list
from app.worker import BackgroundJob

PROGRESS_MS = 100


class CounterfactualControl(QObject):
    message = Signal(str)
    finished = Signal()  # a retraining ended: shown, refused, failed or cancelled

    def __init__(self, window):
        super().__init__(window)
        self.window, self.model = window, window.model
        self.overlay = CounterfactualOverlay(window.canvas)
        self.panel = QtCounterfactualPanel()
        self.dock = QDockWidget("Counterfactual", window)
        self.dock.setObjectName("counterfactual")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        window.tabifyDockWidget(window.docks["Influence"], self.dock)
        window.docks["Influence"].raise_()
        self.result: Counterfactual | None = None
        self.spec = None  # the network the result is of
        self.job: BackgroundJob | None = None
        self._request: tuple = ()  # (token, spec, samples) of the job under way; empty when none
        self._token = 0
        self._refusal = ""  # why the last request was refused
        self._stop = threading.Event()
        self._progress = (0, 1)  # written by the job's thread, read by the timer
        self.timer = QTimer(self)
        self.timer.setInterval(PROGRESS_MS)
        self.timer.timeout.connect(self._show_progress)
        self.panel.cancelRequested.connect(self.cancel)
        self.panel.clearRequested.connect(self.clear)
        self.message.connect(window.show_message)
        self.model.samplesChanged.connect(lambda: self._invalidate("the samples changed"))
        self.model.splitChanged.connect(lambda: self._invalidate("the held-out samples changed"))
        self.model.runReset.connect(lambda: self._invalidate("the run changed"))
        self.model.epochChanged.connect(self._follow_epoch)

    @property
    def running(self) -> bool:
        return bool(self._request)

    # --- starting -----------------------------------------------------------------------------------------
    def start(self, start_epoch: int = 0) -> bool:
        """Data > Retrain without the selected samples: in the background, from `start_epoch` to the epoch
        the canvas shows."""
        prepared = self._prepare(self.window.canvas.view_box.selection, start_epoch)
        if prepared is None:
            return False
        run, indices, start, end = prepared
        self._stop_job()
        if self.job is not None:
            self.job.wait()  # a cancelled one ends within a chunk of epochs; its result is dropped
        self._clear_result()
        self._token += 1
        self._stop = threading.Event()
        self._progress = (0, 1)
        model, stop = self.model, self._stop
        spec, config, samples, backend = model.spec, model.config, model.samples, model.trainer.backend

        def work() -> Counterfactual:
            return retrain_without(spec, config, run, samples, indices, start, end - start, backend=backend,
                                   should_stop=stop.is_set, progress=self._set_progress)  # fmt: skip

        self._request = (self._token, spec, samples)
        text = (f"Retraining without sample{'s' if len(indices) > 1 else ''} {sample_list(indices)}, epochs "
                f"{start:,} to {end:,}, in the background…")  # fmt: skip
        self.panel.show_running(text)
        self.dock.show()
        self.dock.raise_()
        self.message.emit(text)
        self.timer.start()
        self.job = BackgroundJob(work, self._on_done)
        return True

    def ask_start(self) -> bool:
        """Data > Retrain without the selected samples from epoch…: asks for the epoch to start from."""
        end = self.model.history.recorded_epoch(self.model.displayed_epoch)
        if end < 1:
            return self.start()  # says why nothing can be retrained
        epoch, ok = QInputDialog.getInt(self.window, "Retrain without the selected samples",
                                        f"Retrain from epoch (0 to {end - 1:,}; up to the displayed epoch, "
                                        f"{end:,}):", 0, 0, end - 1)  # fmt: skip
        return bool(ok) and self.start(epoch)

    def run_now(self, indices, start_epoch: int = 0) -> Counterfactual:
        """Retrains in this thread (the command line, tests) and shows the result; RetrainingRefused when it
        cannot (its message says why)."""
        prepared = self._prepare(indices, start_epoch, emit=False)
        if prepared is None:
            raise RetrainingRefused(self._refusal)
        run, indices, start, end = prepared
        self._stop_job()
        model = self.model
        result = retrain_without(model.spec, model.config, run, model.samples, indices, start, end - start,
                                 backend=model.trainer.backend)  # fmt: skip
        self._show(result, model.spec)
        return result

    def _prepare(self, indices, start_epoch: int, emit: bool = True):
        """(recorded run, indices, start, end), or None after saying why not."""
        model = self.model
        indices = [int(i) for i in indices]
        end = model.history.recorded_epoch(model.displayed_epoch)
        refusal = ""
        if not indices:
            refusal = "Select the samples to leave out first: Ctrl+drag a rectangle around them."
        elif end < 1:
            refusal = "Train first: retraining needs at least one trained epoch up to the displayed one."
        elif not 0 <= start_epoch < end:
            refusal = f"Retraining starts before the displayed epoch ({end:,}), not at {start_epoch:,}."
        elif model.data_version != model.samples.version:
            refusal = ("The samples were edited after the last epoch trained: train on (or undo the edit) "
                       "before retraining without some of them.")  # fmt: skip
        self._refusal = refusal
        if refusal:
            if emit:
                self.message.emit(refusal)
            return None
        return RecordedRun.of(model.history, end), indices, int(start_epoch), end

    # --- the job --------------------------------------------------------------------------------------------
    def _set_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)  # one tuple swap: atomic for the GUI thread reading it

    def _show_progress(self) -> None:
        self.panel.set_progress(*self._progress)

    def _on_done(self, result, error) -> None:
        request, self._request = self._request, ()
        self.timer.stop()
        if not request or request[0] != self._token:  # cleared, cancelled or closed meanwhile
            self.finished.emit()
            return
        if isinstance(error, RetrainingCancelled):
            self.panel.show_idle("Retraining cancelled.")
            self.message.emit("Retraining cancelled.")
        elif isinstance(error, RetrainingRefused):
            self.panel.show_idle(str(error))
            self.message.emit(str(error))
        elif error is not None:
            text = f"Retraining failed: {type(error).__name__}: {error}"
            self.panel.show_idle(text)
            self.message.emit(text)
        else:
            self._show(result, request[1])
        self.finished.emit()

    def _show(self, result: Counterfactual, spec) -> None:
        self.result, self.spec = result, spec
        self.panel.show_result(result, spec)
        self.dock.show()
        self.dock.raise_()
        self._follow_epoch(self.model.displayed_epoch)
        rho = result.rank_correlation
        said = f"rank correlation {rho:.2f}" if np.isfinite(rho) else "rank correlation undefined"
        plural = "s" if len(result.removed) > 1 else ""
        self.message.emit(f"Retrained without sample{plural} {sample_list(result.removed)}: dashed, the "
                          f"network without them; predicted against actual change per neuron: {said} "
                          "(Counterfactual panel).")  # fmt: skip

    # --- following, clearing and closing ----------------------------------------------------------------
    def _follow_epoch(self, epoch: int, *_live) -> None:
        """The dashed network at the epoch the canvas shows, where the retraining has it."""
        result = self.result
        if result is None:
            return
        shown = self.model.history.recorded_epoch(epoch)
        params = result.params_at(shown)
        points = self.model.samples.points[result.removed]
        label = f"without {sample_list(result.removed, 4)}"
        self.overlay.show(self.spec, params, points, label if params is not None else "")
        if params is None:
            note = (f"No dashed network at epoch {shown:,}: the retraining covers epochs "
                    f"{result.start_epoch:,} to {result.end_epoch:,}.")  # fmt: skip
        else:
            note = f"Dashed on the canvas: the network without them at epoch {shown:,}."
        self.panel.show_note(note)

    def cancel(self) -> None:
        """The panel's Cancel: stops a retraining under way, drops its result and says so."""
        if self.running:
            self._stop_job()
            self.panel.show_idle("Retraining cancelled.")
            self.message.emit("Retraining cancelled.")

    def _stop_job(self) -> None:
        """Asks a retraining under way to stop; its result, if one is on its way already, is not shown."""
        if self._request:
            self._stop.set()
            self._token += 1

    def clear(self) -> None:
        """Removes the dashed network and the comparison (and stops a retraining under way)."""
        had = self.result is not None or self.running
        self._stop_job()
        self._clear_result()
        self.panel.show_idle()
        if had:
            self.message.emit("Counterfactual cleared.")

    def _clear_result(self) -> None:
        self.result = self.spec = None
        self.overlay.clear()

    def _invalidate(self, why: str) -> None:
        if self.result is None and not self.running:
            return
        self._stop_job()
        self._clear_result()
        self.panel.show_idle(f"The counterfactual was cleared: {why}. Retrain to compare again.")

    def close(self) -> None:
        """Stops and waits for a retraining under way (the window closes)."""
        self._stop_job()
        self.timer.stop()
        if self.job is not None:
            self.job.wait()
