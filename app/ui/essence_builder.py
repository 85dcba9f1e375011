"""The interpretable network: builds it for the model's training samples (now, or in a background thread
while the window stays usable), shows it beside the trained network and compares the two."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.core.comparison import Comparison, compare_models
from app.core.dataset import SampleSet
from app.core.essence import EssenceError, EssenceNetwork, build_essence
from app.core.thesis import enn_thesis, focus_over_epochs, mlp_predictor, mlp_thesis, plot_epochs
from app.ui.essence_settings import QtEssenceSettings
from app.ui.essence_view import QtEssenceView
from app.ui.session_model import SessionModel
from app.worker import BackgroundJob

FOLLOW_MS = 200  # the comparison and the focus plot follow the displayed epoch at most this often...
FOLLOW_SHARE = 0.2  # ...and take at most this share of the time (many samples: less often)
FOCUS_SAMPLE_EPOCHS = 3_000_000  # focus over epochs: at most this many sample-epochs of influence per update


class EssenceBuilder(QObject):
    message = Signal(str)
    built = Signal()  # a network was built and is shown
    # The focus plot's data: (epochs, per-neuron focus (E, n), the interpretable network's focus, chance), or
    # None when there is nothing to show (no network, or the samples changed since it was built).
    focusChanged = Signal(object)

    def __init__(self, model: SessionModel, view: QtEssenceView, settings: QtEssenceSettings, parent=None):
        super().__init__(parent)
        self.model, self.view, self.settings = model, view, settings
        self.essence: EssenceNetwork | None = None
        self.comparison: Comparison | None = None
        self.job: BackgroundJob | None = None  # a network being built
        self._request: tuple = ()  # what the pending build was asked for; empty when none is
        self._built_for: tuple = ()  # (samples, test fraction, seed) the shown network was built for
        self._enn_thesis = None  # the shown network's measures (they do not change with the epoch)
        self._focus_for: tuple = ()  # what the focus plot was last computed for
        self.follow_timer = QTimer(self)
        self.follow_timer.setSingleShot(True)
        self.follow_timer.setInterval(FOLLOW_MS)
        self.follow_timer.timeout.connect(self.follow)
        model.epochChanged.connect(self._epoch_changed)
        model.samplesChanged.connect(self._epoch_changed)
        model.splitChanged.connect(self._epoch_changed)

    def build(self) -> bool:
        """Builds the interpretable network in this thread (the command line, tests)."""
        training, held_out = self.model.split()
        settings, per_class = self.settings.settings()
        try:
            enn = build_essence(training, settings, per_class)
        except EssenceError as error:
            self.message.emit(f"Could not build the interpretable network: {error}")
            return False
        self._show(enn, training, held_out)
        return True

    def build_in_background(self) -> None:
        """Model > Build: builds in a thread (seconds for thousands of samples); the network is shown when it
        arrives unless the samples or its settings changed meanwhile."""
        if self._request:  # until its result has arrived, not only until its thread has ended
            self.message.emit("Still building the interpretable network…")
            return
        training, held_out = self.model.split()
        settings, per_class = self.settings.settings()
        self._request = (self.model.samples, self.model.config, settings, per_class, training, held_out)
        self.message.emit(f"Building the interpretable network for {training.n:,} samples…")
        self.job = BackgroundJob(lambda: build_essence(training, settings, per_class), self._on_built)

    def close(self) -> None:
        """Waits for a build under way; its result is not shown any more."""
        self._request = ()
        if self.job is not None:
            self.job.wait()

    def _on_built(self, enn: EssenceNetwork | None, error: Exception | None) -> None:
        request, self._request = self._request, ()
        if not request:  # the window closed while it was being built
            return
        samples, config, settings, per_class, training, held_out = request
        now = self.model.config
        if isinstance(error, EssenceError):
            self.message.emit(f"Could not build the interpretable network: {error}")
        elif error is not None:
            self.message.emit(f"Building the interpretable network failed: {type(error).__name__}: {error}")
        elif (
            samples is not self.model.samples
            or (config.test_fraction, config.seed) != (now.test_fraction, now.seed)
            or (settings, per_class) != self.settings.settings()
        ):
            self.message.emit("The samples or settings changed while the interpretable network was being "
                              "built: build it again (Ctrl+B) for the new ones.")  # fmt: skip
        else:
            self._show(enn, training, held_out)

    def _show(self, enn: EssenceNetwork, training: SampleSet, held_out: SampleSet) -> None:
        self.essence = enn
        config = self.model.config
        self._built_for = (self.model.samples, config.test_fraction, config.seed)
        self._enn_thesis = enn_thesis(enn, training)
        self._focus_for = ()
        self.view.show_essence(enn, training)
        self.follow_focus(training)
        self.comparison = self.compare(training, held_out)
        self.view.show_comparison(self.comparison)
        self.built.emit()
        self.message.emit(f"Built an interpretable network: {enn.n_subconcepts} subconcepts, "
                          f"{enn.n_neurons} neurons.")  # fmt: skip

    def compare(self, training: SampleSet, held_out: SampleSet) -> Comparison:
        """The two networks compared, the trained one at the displayed epoch (with the article's claims)."""
        spec, params = self.model.spec, self.model.displayed_params()
        thesis = (mlp_thesis(spec, params, training, self.essence), self._enn_thesis)
        return compare_models(training, held_out, mlp_predictor(spec, params), self.essence.predict,
                              sum(spec.widths) + spec.output_units, self.essence.n_neurons,
                              concepts_tuned=self.essence.settings.tune_concepts, thesis=thesis,
                              epoch=self.model.displayed_epoch)  # fmt: skip

    def is_current(self) -> bool:
        """A network is shown, built for the samples and split the model has now."""
        if self.essence is None or not self._built_for:
            return False
        samples, fraction, seed = self._built_for
        config = self.model.config
        return samples is self.model.samples and (fraction, seed) == (config.test_fraction, config.seed)

    def _epoch_changed(self, *_args) -> None:
        if self.essence is not None and not self.follow_timer.isActive():
            self.follow_timer.start()

    def follow(self) -> None:
        """The comparison table and the focus plot at the displayed epoch, a few times a second at most; after
        a slow update (many samples) the next waits longer, so that they never take the window's time."""
        if not self.is_current():
            if self._focus_for != ("none",):
                self._focus_for = ("none",)
                self.focusChanged.emit(None)
            return
        started = time.perf_counter()
        training, held_out = self.model.split()
        self.follow_focus(training)
        self.comparison = self.compare(training, held_out)
        self.view.show_comparison(self.comparison)
        took = time.perf_counter() - started
        self.follow_timer.setInterval(max(FOLLOW_MS, round(1000 * took / FOLLOW_SHARE)))

    def follow_focus(self, training: SampleSet) -> None:
        """The focus of the trained network's first layer over its recorded epochs (app.core.thesis), for the
        plot under the loss curves; recomputed when the history grew or changed."""
        history, spec = self.model.history, self.model.spec
        key = (history, history.latest_epoch, spec, self.essence)
        if key == self._focus_for:
            return
        self._focus_for = key
        count = int(np.clip(FOCUS_SAMPLE_EPOCHS // max(training.n, 1), 10, 300))
        epochs = plot_epochs(history, history.latest_epoch, count)
        groups = np.asarray(self.essence.sample_subconcept)
        per_neuron = focus_over_epochs(spec, history, training, groups, epochs)
        enn = self._enn_thesis
        self.focusChanged.emit((epochs, per_neuron, enn.network_focus, enn.chance_focus))
