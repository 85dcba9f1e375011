"""Seeds side by side in the window: trains the main run's samples and settings from several seeds in the
background (MultiTrainer, in chunks, up to the main run's latest epoch and following it), shows them in the
seeds view at the displayed epoch, restarts them when the samples or settings change, and hands a clicked
run over as the main run (undoable)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import replace

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QUndoCommand

from app.core.network import ACTIVATION_LABELS
from app.core.seed_runs import SeedRuns, seeds_from
from app.core.training import TrainConfig
from app.ui.seeds_view import QtSeedsView
from app.ui.session_model import Run
from app.worker import BackgroundJob

CHUNK_SECONDS = 0.15  # a chunk of epochs takes about this long: closing or clicking waits at most that
MAX_CHUNK = 2000


class SeedRunCommand(QUndoCommand):
    """A seed's run made the main run; undo brings back the run and settings before, as they were left."""

    def __init__(self, control: SeedsControl, run: Run, config: TrainConfig, description: str):
        super().__init__(description)
        self.control, self.runs = control, {"after": (run, config), "before": None}

    def redo(self) -> None:
        self.runs["before"] = self.control.put_main_run(*self.runs["after"])

    def undo(self) -> None:
        self.runs["after"] = self.control.put_main_run(*self.runs["before"])


class SeedsControl(QObject):
    message = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window, self.model = window, window.model
        self.view = QtSeedsView(window)
        self.runs: SeedRuns | None = None
        self.job: BackgroundJob | None = None
        self.count = self.view.count_box.value()
        self._held = False  # no new chunk starts (a run is being handed over)
        self._chunk = 20  # epochs per job, adapted to take about CHUNK_SECONDS
        self._key: tuple = ()
        self.view.countChanged.connect(self.set_count)
        self.view.runClicked.connect(self.make_main)
        self.view.exportRequested.connect(self.export)
        self.view.shown.connect(self.check)
        self.view.closed.connect(self.stop)
        self.message.connect(window.show_message)
        model = self.model
        for signal in (model.runReset, model.samplesChanged, model.splitChanged, model.historyGrew):
            signal.connect(self.check)
        # Settings that apply from the next epoch (learning rate...) change the model after this is told.
        window.controls.configEdited.connect(self.check, Qt.ConnectionType.QueuedConnection)

    @property
    def running(self) -> bool:
        return self.job is not None

    def open(self) -> None:
        """View > Seeds side by side."""
        self.view.show()
        self.view.raise_()
        self.view.activateWindow()

    def set_count(self, count: int) -> None:
        self.count = int(count)
        self.check()

    # --- following the main run ---------------------------------------------------------------------------
    def _wanted_key(self) -> tuple:
        """What the runs are of: samples, network and settings but the seed. Another key: other runs."""
        model = self.model
        return model.samples, model.spec, replace(model.config, seed=0), self.count

    def check(self, *_args) -> None:
        """Brings the runs in line with the main run: new runs for other samples, network, settings or number
        of seeds, or a main seed not among them; otherwise more epochs if the main run has more."""
        if not self.view.isVisible():
            return
        seed = self.model.config.seed
        if self.runs is None or self._key != self._wanted_key() or seed not in self.runs.seeds:
            self.restart()
            return
        if self.view.main_seed != seed:
            self.view.set_main_seed(seed)
        self._next_chunk()

    def restart(self) -> None:
        self._drop_job()
        model = self.model
        self._key = self._wanted_key()
        self.runs = SeedRuns(
            model.spec, model.config, model.samples, seeds_from(model.config.seed, self.count)
        )
        self.view.set_runs(self.runs, model.config.seed, self.caption())
        self.view.show_epoch(model.displayed_epoch)
        self._next_chunk()

    def caption(self) -> str:
        """Says what is the same in every canvas and what differs."""
        model, runs = self.model, self.runs
        spec, config = model.spec, model.config
        shape = "-".join(str(s) for s in spec.layer_sizes)
        held = f", {config.test_fraction:.0%} held out (hollow)" if config.test_fraction else ""
        return (f"<b>The same {model.samples.n} samples, the same {shape} network "
                f"({ACTIVATION_LABELS[spec.activation]}) and the same settings ({config.optimizer}, learning "
                f"rate {config.learning_rate:g}{held})</b>, trained from {len(runs.seeds)} random starts: "
                f"each seed ({runs.seeds[0]} to {runs.seeds[-1]}) draws other initial weights and sample "
                "orders. The key says what the colours, dots and lines are.")  # fmt: skip

    def _next_chunk(self) -> None:
        runs, target = self.runs, self.model.history.latest_epoch
        if runs is None or self.job is not None or self._held or not self.view.isVisible():
            return
        if runs.done or runs.epoch >= target:
            self._show_progress(target)
            return
        n = min(self._chunk, target - runs.epoch)

        def work() -> tuple:  # a failure comes back as a result too, with the runs it was of
            started = time.perf_counter()
            try:
                trained, failure = runs.train(n), None
            except Exception as error:  # noqa: BLE001 - said in the window by _on_done
                trained, failure = None, error
            return runs, n, time.perf_counter() - started, trained, failure

        self._show_progress(target)
        self.job = BackgroundJob(work, self._on_done)

    def _on_done(self, result, error) -> None:
        runs, n, seconds, trained, failure = result if error is None else (self.runs, 0, 0.0, None, error)
        if trained is not None:
            runs.record(trained)  # always: the job moved its runs' trainers on, their histories must follow
        if runs is not self.runs:
            return  # runs dropped since (restarted, closed): the job under way now, if any, is another
        self.job = None
        if failure is not None:
            self.view.set_progress("")
            self.message.emit(f"Seeds side by side stopped: {type(failure).__name__}: {failure}")
            return
        self._chunk = int(min(MAX_CHUNK, max(1, n * CHUNK_SECONDS / max(seconds, 1e-3))))
        self.view.show_epoch(self.model.displayed_epoch)
        self._next_chunk()

    def _show_progress(self, target: int) -> None:
        runs = self.runs
        if runs.done:
            text = "every run diverged"
        elif runs.epoch >= target:
            text = f"all at epoch {runs.epoch:,}"
        else:
            text = f"training: epoch {runs.epoch:,} of {target:,}…"
        self.view.set_progress(text)

    # --- stopping ------------------------------------------------------------------------------------------
    def _drop_job(self) -> None:
        """Waits for a job under way (one chunk), which records what it trained into its runs, and starts no
        other meanwhile: waiting delivers the calls queued meanwhile, such as a settings edit's check() (a
        job started then was once destroyed running, which ended the app)."""
        held, self._held = self._held, True
        try:
            while self.job is not None:
                job = self.job
                job.wait()  # delivers its _on_done
                if self.job is job:
                    self.job = None
        finally:
            self._held = held

    def stop(self) -> None:
        """The view closed: no more training, no thread left; the runs are dropped."""
        self._drop_job()
        self.runs = None
        self._key = ()

    def close(self) -> None:
        """The main window closes."""
        self.stop()
        self.view.close()

    @contextmanager
    def _holding(self):
        """Inside, no job runs: one under way is finished and recorded first."""
        self._held = True
        try:
            if self.job is not None:
                self.job.wait()  # delivers its result (recorded; no next chunk while held)
            yield
        finally:
            self._held = False

    # --- a run made the main run --------------------------------------------------------------------------
    def make_main(self, k: int) -> None:
        """The clicked run becomes the main run: its history (the network its canvas shows) and its trainer,
        which trains on from there; the settings take its seed. Undoable."""
        runs = self.runs
        if runs is None or not 0 <= k < len(runs.seeds):
            return
        with self._holding():
            trainer, history, config = runs.hand_over(k)
        model = self.model
        if config.seed == model.config.seed and history.latest_epoch == model.history.latest_epoch:
            self.message.emit(f"Seed {config.seed} is the main run already.")
            self._next_chunk()
            return
        run = Run(model.spec, trainer, history, runs.samples.version, 0, model.displayed_epoch, model.live,
                  model.selected)  # fmt: skip
        before = model.config.seed
        model.undo_stack.push(SeedRunCommand(self, run, config, f"Make seed {config.seed} the main run"))
        model.set_modified()
        self.message.emit(f"Seed {config.seed} is now the main run (trained to epoch {history.latest_epoch:,}"
                          f"); Undo brings back seed {before}.")  # fmt: skip

    def put_main_run(self, run: Run, config: TrainConfig) -> tuple[Run, TrainConfig]:
        """Puts `run` in place as the main run, trained with `config`; returns the run and settings it
        replaced."""
        model = self.model
        before = model.config
        model.config = config  # before the swap: the run's trainer and the views take these settings
        return model.swap_run(run), before

    # --- export --------------------------------------------------------------------------------------------
    def export(self, path: str | None = None) -> bool:
        """The caption and every canvas at the displayed epoch, as one PNG (the view opens first if closed:
        a run not trained that far yet shows its last epoch, and its title says so)."""
        if not self.view.isVisible():
            self.open()
        return self.window.files.export_picture(self.view.grid, "png", path)

    def train_now(self) -> None:
        """Trains the runs up to the main run's latest epoch in this thread (headless use, tests)."""
        self.check()
        with self._holding():
            runs, target = self.runs, self.model.history.latest_epoch
            if runs is not None and not runs.done and runs.epoch < target:
                runs.record(runs.train(target - runs.epoch))
        if runs is not None:
            self.view.show_epoch(self.model.displayed_epoch)
            self._show_progress(target)
