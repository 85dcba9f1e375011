"""The session model: the one owner of the samples, settings, run (trainer, history), displayed epoch, live
mode, selected neuron and undo history. Views read it; its methods change it; its signals say what changed."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.core.dataset import SampleSet, test_mask
from app.core.geometry import Rect
from app.core.history import TrainingHistory
from app.core.network import NetworkSpec, loss_and_accuracy
from app.core.session import Session
from app.core.training import EpochChunk, TrainConfig, Trainer, train


@dataclass(frozen=True)
class Run:
    """A run as the session model holds it: the network, its trainer and history, and what is shown of it.
    An edit that changes the number of classes puts one aside, so that undo and redo bring it back."""

    spec: NetworkSpec
    trainer: Trainer
    history: TrainingHistory
    data_version: int
    figures_from: int
    displayed_epoch: int
    live: bool
    selected: tuple[int, int] | None
    switched_off: tuple = ()  # ((layer, neuron), its outgoing weights before) of each neuron switched off


class NetworkCommand(QUndoCommand):
    """One undoable edit of the network at the displayed epoch (a neuron switched off or on): the run
    branches there; undo brings back the run before, as it was left, and redo the edited one."""

    def __init__(self, model: SessionModel, edited: Run, description: str):
        super().__init__(description)
        self.model, self.runs = model, {"edited": edited, "before": None}

    def redo(self) -> None:
        self.runs["before"] = self.model.swap_run(self.runs["edited"])

    def undo(self) -> None:
        self.runs["edited"] = self.model.swap_run(self.runs["before"])


class SamplesCommand(QUndoCommand):
    """One undoable edit of the samples: the samples before and after (immutable values). An edit that changes
    the number of classes changes the network's outputs, so it starts a fresh run; undo brings back the run
    before it, and redo the run after it, as each was left."""

    def __init__(self, model: SessionModel, before: SampleSet, after: SampleSet, description: str):
        super().__init__(description)
        self.model, self.before, self.after = model, before, after
        self.runs: dict[str, Run | None] = {"before": None, "after": None}

    def redo(self) -> None:
        self.runs["before"] = self.model.set_samples(self.after, self.runs["after"])

    def undo(self) -> None:
        self.runs["after"] = self.model.set_samples(self.before, self.runs["before"])


class SessionModel(QObject):
    samplesChanged = Signal()  # new samples
    splitChanged = Signal()  # the same samples split anew into training and held-out ones
    runReset = Signal()  # a new run: new network, seed or weights, or an opened session; history from scratch
    historyGrew = Signal()  # epochs were appended to the history
    epochChanged = Signal(int, bool)  # the displayed epoch, live (following the newest epoch)
    selectionChanged = Signal(object)  # the selected hidden neuron (layer, neuron), or None
    modifiedChanged = Signal(bool)  # unsaved changes, or none
    classesChanged = Signal(int, int, bool)  # samples of k classes replaced those of k0: (k0, k, a new run)

    def __init__(self, samples: SampleSet, spec: NetworkSpec, config: TrainConfig, parent=None):
        super().__init__(parent)
        self.samples, self.spec, self.config = samples, spec, config
        self.undo_stack = QUndoStack(self)
        self.generation = 0  # counts runs: a late result of an earlier run is recognised and dropped
        self.displayed_epoch = 0
        self.live = True
        self.selected: tuple[int, int] | None = None
        self.switched_off: dict[tuple[int, int], np.ndarray] = {}  # neuron -> its outgoing weights before
        self.modified = False
        self.newest_version = samples.version  # every edit gets a newer version: training sees each change
        self.trainer, self.history, self.data_version = self._fresh_run()
        self.figures_from = 0  # the first epoch whose recorded loss and accuracy are on the samples now shown
        self._figures: tuple = ((), None)  # (key, figures) of the last epoch whose figures were computed
        # Whoever trains sets this: a context inside which training stands still (a run is swapped).
        self.training_paused = nullcontext

    # --- samples --------------------------------------------------------------------------------------
    def edit_samples(self, samples: SampleSet, description: str) -> None:
        """Every edit of the samples goes through here, so that each one can be undone. A preset or a file
        comes with a version of its own: it gets a newer one, so that training marks the change."""
        if samples.version <= self.newest_version:
            samples = dataclasses.replace(samples, version=self.newest_version + 1)
        self.newest_version = samples.version
        self.undo_stack.push(SamplesCommand(self, self.samples, samples, description))
        self.set_modified()

    def set_samples(self, samples: SampleSet, run: Run | None = None) -> Run | None:
        """New samples (undo and redo call this): training, if running, goes on with them. Samples of another
        number of classes need a network with as many outputs: `run` (one put aside before), or a fresh one;
        the run they replace is returned (None when the number of classes stays)."""
        if samples.classes == self.samples.classes:
            self.samples = samples
            self.samplesChanged.emit()
            return None
        before = self.samples.classes
        with self.training_paused():
            replaced = self._current_run()
            self.samples = samples
            if run is None:
                self.new_run(dataclasses.replace(self.spec, classes=samples.classes), selected=self.selected)
            else:
                self._restore_run(run)
        self.classesChanged.emit(before, samples.classes, run is None)
        return replaced

    def _current_run(self) -> Run:
        return Run(self.spec, self.trainer, self.history, self.data_version, self.figures_from,
                   self.displayed_epoch, self.live, self.selected,
                   tuple(self.switched_off.items()))  # fmt: skip

    def _restore_run(self, run: Run) -> None:
        self.spec, self.trainer, self.history = run.spec, run.trainer, run.history
        self.data_version, self.figures_from = run.data_version, run.figures_from
        self.switched_off = dict(run.switched_off)
        self.trainer.set_config(self.config)  # settings changed meanwhile apply to it too
        self._start_run(displayed=run.displayed_epoch, live=run.live, selected=run.selected)

    def split(self) -> tuple[SampleSet, SampleSet]:
        """(training samples, held-out samples) by the test fraction and seed."""
        return self.samples.split(self.config.test_fraction, self.config.seed)

    def held_out_mask(self) -> np.ndarray:
        return test_mask(self.samples.n, self.config.test_fraction, self.config.seed)

    def data_frame(self) -> Rect:
        """The data's extent with a 10% margin: what the influence maps and the region count look at."""
        return Rect.around(self.samples.extent())

    # --- settings and runs --------------------------------------------------------------------------------
    def new_run(
        self,
        spec: NetworkSpec | None = None,
        config: TrainConfig | None = None,
        selected: tuple[int, int] | None = None,
    ) -> None:
        """Fresh weights for the (new) network and seed; the history restarts at epoch 0, shown live, with
        `selected` the selected neuron. Training must be stopped first (TrainingControl does)."""
        self.spec, self.config = spec or self.spec, config or self.config
        self.trainer, self.history, self.data_version = self._fresh_run()
        self.figures_from = 0
        self._start_run(displayed=0, live=True, selected=selected)

    def set_config(self, config: TrainConfig) -> None:
        """Settings that apply from the next epoch (not the seed: that is a new run)."""
        split_changed = (config.test_fraction, config.seed) != (self.config.test_fraction, self.config.seed)
        self.config = config
        self.set_modified()
        if split_changed:
            self.figures_from = self.history.latest_epoch + 1  # recorded figures are on the old split
            self.splitChanged.emit()

    def append(self, generation: int, chunk: EpochChunk) -> None:
        """Epochs trained by the run `generation` (those of an earlier run are dropped)."""
        if generation != self.generation:
            return
        if chunk.data_version != self.data_version:
            self.history.mark_data_change(chunk.first_epoch)
            self.data_version = chunk.data_version
            self.figures_from = chunk.first_epoch
        self.history.append(chunk)
        self.set_modified()
        self.historyGrew.emit()

    def figures_at(self, epoch: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """(loss, accuracy) of `epoch`'s network on the training and held-out parts of the samples now
        shown (NaN where a part is empty): the recorded ones where that epoch trained on these samples, else
        computed now (and kept for the next call)."""
        if self.samples.version == self.data_version and epoch >= self.figures_from:
            return self.history.metrics_at(epoch), self.history.test_metrics_at(epoch)
        key = (epoch, self.generation, self.samples, self.config.test_fraction, self.config.seed)
        if self._figures[0] != key:
            self._figures = (key, self.metrics(self.history.params_at(epoch)))
        return self._figures[1]

    def metrics(self, params: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
        """(loss, accuracy) on the training part and on the held-out part (NaN where a part is empty)."""
        return tuple(loss_and_accuracy(self.spec, params, p.points, p.labels) for p in self.split())

    def _fresh_run(self) -> tuple[Trainer, TrainingHistory, int]:
        self.switched_off = {}
        trainer = Trainer(self.spec, self.config)
        (loss, accuracy), (test_loss, test_accuracy) = self.metrics(trainer.params)
        history = TrainingHistory(self.spec, trainer.params, loss, accuracy,
                                  initial_test_loss=test_loss, initial_test_acc=test_accuracy)  # fmt: skip
        return trainer, history, self.samples.version

    def _start_run(self, displayed: int, live: bool, selected: tuple[int, int] | None) -> None:
        self.generation += 1
        self.live, self.displayed_epoch = live, max(0, min(int(displayed), self.history.latest_epoch))
        self.runReset.emit()
        self.samplesChanged.emit()
        self.select_neuron(selected)
        self.show_epoch(self.displayed_epoch)

    # --- network edits ----------------------------------------------------------------------------------
    def edit_network(self, params: np.ndarray, description: str, switched_off: dict) -> None:
        """The displayed epoch's network replaced by `params` (an edit): the run branches there, the edit
        recorded as the next epoch and marked on the timeline as a data change is; training goes on from it.
        Undoable: the run before comes back as it was left."""
        epoch = self.displayed_epoch
        with self.training_paused():
            history = self.history.branch(epoch)
            (loss, accuracy), (test_loss, test_accuracy) = self.metrics(params)
            one = np.array
            history.append(EpochChunk(epoch + 1, params[None, :].copy(), one([loss]), one([accuracy]),
                                      self.samples.version, test_loss=one([test_loss]),
                                      test_accuracy=one([test_accuracy])))  # fmt: skip
            history.mark_restart(epoch + 1)
            trainer = Trainer(self.spec, self.config, params=params.copy(), epoch=epoch + 1)
        edited = Run(self.spec, trainer, history, self.samples.version, epoch + 1, epoch + 1, self.live,
                     self.selected, tuple(switched_off.items()))  # fmt: skip
        self.undo_stack.push(NetworkCommand(self, edited, description))
        self.set_modified()

    def swap_run(self, run: Run) -> Run:
        """Puts `run` in place (training standing still meanwhile) and returns the run it replaced."""
        with self.training_paused():
            replaced = self._current_run()
            self._restore_run(run)
        return replaced

    # --- the displayed epoch --------------------------------------------------------------------------
    def show_epoch(self, epoch: int) -> None:
        """Displays `epoch` (clipped to the recorded ones) without changing live mode."""
        self.displayed_epoch = max(0, min(int(epoch), self.history.latest_epoch))
        self.epochChanged.emit(self.displayed_epoch, self.live)

    def scrub_to(self, epoch: int) -> None:
        """The user picked an epoch (timeline, keys, loss plot, Play): leave live mode and show it."""
        self.live = False
        self.show_epoch(epoch)

    def step(self, delta: int) -> None:
        """Keyboard stepping: delta epochs from the displayed one (nothing at either end, not even leaving
        live mode)."""
        target = max(0, min(self.displayed_epoch + delta, self.history.latest_epoch))
        if target != self.displayed_epoch:
            self.scrub_to(target)

    def train_here(self, epochs: int) -> None:
        """Trains `epochs` more epochs in this thread and goes live (the command line, the tour, tests)."""
        for chunk in train(self.trainer, lambda: self.samples, lambda: False, max_epochs=epochs):
            self.append(self.generation, chunk)
        self.go_live()

    def go_live(self) -> None:
        self.live = True
        self.show_epoch(self.history.latest_epoch)

    def follow_history(self) -> None:
        """After new epochs: live shows the newest, otherwise the same epoch (its timeline grew)."""
        self.show_epoch(self.history.latest_epoch if self.live else self.displayed_epoch)

    def displayed_params(self) -> np.ndarray:
        return self.history.params_at(self.displayed_epoch)

    # --- selection and modified state ---------------------------------------------------------------------
    def select_neuron(self, selected: tuple[int, int] | None) -> None:
        """Selects a hidden neuron everywhere (None, or one the network does not have, clears it)."""
        if selected is not None:
            layer, neuron = selected
            if not (0 <= layer < len(self.spec.widths) and 0 <= neuron < self.spec.widths[layer]):
                selected = None
        if selected != self.selected:
            self.selected = selected
            self.selectionChanged.emit(selected)

    def toggle_neuron(self, layer: int, neuron: int) -> None:
        """A click on a neuron selects it; a click on the selected one clears the selection."""
        self.select_neuron(None if self.selected == (layer, neuron) else (layer, neuron))

    def set_modified(self, modified: bool = True) -> None:
        if modified != self.modified:
            self.modified = modified
            self.modifiedChanged.emit(modified)

    # --- sessions -----------------------------------------------------------------------------------------
    def to_session(self, view: dict) -> Session:
        """The whole session, with the views' options in `view` (training must be paused: the trainer is
        read here)."""
        view = {**view, "displayed_epoch": int(self.displayed_epoch), "live": bool(self.live),
                "selected": list(self.selected) if self.selected else None}  # fmt: skip
        return Session(self.samples, self.spec, self.config, self.history, self.trainer.state(), view)

    def apply(self, session: Session) -> None:
        """Everything of a loaded session at once: samples, settings, history (training goes on from its last
        epoch), displayed epoch, live mode, selection. Training must be stopped first."""
        latest = session.history.latest_epoch
        if session.trainer is not None and session.trainer.epoch == latest:
            trainer = Trainer.from_state(session.spec, session.config, session.trainer)
        else:  # no optimizer state, or one that does not match the history: go on from the last kept epoch
            params = session.history.params_at(latest).copy()
            trainer = Trainer(session.spec, session.config, params=params, epoch=latest)
        self.samples, self.spec, self.config = session.samples, session.spec, session.config
        self.trainer, self.history, self.data_version = trainer, session.history, session.samples.version
        self.newest_version = max(self.newest_version, session.samples.version)
        self.figures_from = max(session.history.data_changes, default=0)
        self.undo_stack.clear()
        view = session.view
        epoch = view.get("displayed_epoch", latest)
        selected = view.get("selected")
        try:
            selected = (int(selected[0]), int(selected[1])) if selected else None
        except (TypeError, ValueError, IndexError, KeyError):
            selected = None
        self._start_run(displayed=epoch if isinstance(epoch, int) else latest,
                        live=bool(view.get("live", True)), selected=selected)  # fmt: skip
