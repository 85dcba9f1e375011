"""The interpretable network: builds it for the model's training samples (now, or in a background thread
while the window stays usable), shows it beside the trained network and compares the two."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.core.comparison import Comparison, compare_models
from app.core.dataset import SampleSet
from app.core.essence import EssenceError, EssenceNetwork, build_essence
from app.core.network import logits
from app.ui.essence_settings import QtEssenceSettings
from app.ui.essence_view import QtEssenceView
from app.ui.session_model import SessionModel
from app.worker import BackgroundJob


class EssenceBuilder(QObject):
    message = Signal(str)
    built = Signal()  # a network was built and is shown

    def __init__(self, model: SessionModel, view: QtEssenceView, settings: QtEssenceSettings, parent=None):
        super().__init__(parent)
        self.model, self.view, self.settings = model, view, settings
        self.essence: EssenceNetwork | None = None
        self.comparison: Comparison | None = None
        self.job: BackgroundJob | None = None  # a network being built
        self._request: tuple = ()  # what the pending build was asked for; empty when none is

    def build(self) -> bool:
        """Builds the interpretable network in this thread (the command line, tests)."""
        training, held_out = self.model.split()
        settings, n_subconcepts = self.settings.settings()
        try:
            enn = build_essence(training, settings, n_subconcepts)
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
        settings, n_subconcepts = self.settings.settings()
        self._request = (self.model.samples, self.model.config, settings, n_subconcepts, training, held_out)
        self.message.emit(f"Building the interpretable network for {training.n:,} samples…")
        self.job = BackgroundJob(lambda: build_essence(training, settings, n_subconcepts), self._on_built)

    def close(self) -> None:
        """Waits for a build under way; its result is not shown any more."""
        self._request = ()
        if self.job is not None:
            self.job.wait()

    def _on_built(self, enn: EssenceNetwork | None, error: Exception | None) -> None:
        request, self._request = self._request, ()
        if not request:  # the window closed while it was being built
            return
        samples, config, settings, n_subconcepts, training, held_out = request
        now = self.model.config
        if isinstance(error, EssenceError):
            self.message.emit(f"Could not build the interpretable network: {error}")
        elif error is not None:
            self.message.emit(f"Building the interpretable network failed: {type(error).__name__}: {error}")
        elif (
            samples is not self.model.samples
            or (config.test_fraction, config.seed) != (now.test_fraction, now.seed)
            or (settings, n_subconcepts) != self.settings.settings()
        ):
            self.message.emit("The samples or settings changed while the interpretable network was being "
                              "built: build it again (Ctrl+B) for the new ones.")  # fmt: skip
        else:
            self._show(enn, training, held_out)

    def _show(self, enn: EssenceNetwork, training: SampleSet, held_out: SampleSet) -> None:
        self.essence = enn
        self.view.show_essence(enn, training)
        self.comparison = self.compare(training, held_out)
        self.view.show_comparison(self.comparison)
        self.built.emit()
        self.message.emit(f"Built an interpretable network: {enn.n_subconcepts} subconcepts, "
                          f"{enn.n_neurons} neurons.")  # fmt: skip

    def compare(self, training: SampleSet, held_out: SampleSet) -> Comparison:
        spec, params = self.model.spec, self.model.displayed_params()

        def mlp_predict(points):
            return (logits(spec, params, points) > 0).astype(int)

        return compare_models(training, held_out, mlp_predict, self.essence.predict,
                              sum(spec.widths) + 1, self.essence.n_neurons)  # fmt: skip
