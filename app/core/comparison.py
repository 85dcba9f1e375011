"""The trained MLP and the interpretable network (ENN) side by side: accuracy on the training and held-out
samples, size, and how each extrapolates far from the data compared with the nearest-sample rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.dataset import SampleSet
from app.core.essence import EssenceError, Predictor, far_agreement, nearest_sample_predictor

NO_VALUE = "\u2014"  # an em dash: no held-out samples, so no held-out accuracy
# What each row measures, in full (the table's tooltips); the rows' names are short enough for a narrow view.
ROW_TIPS = {
    "Training accuracy": "Share of the training samples each network classifies right",
    "Held-out accuracy": "Share of the held-out (test) samples each network classifies right",
    "Neurons": "Hidden and output neurons of each network",
    "Nearest sample, 10× out": "Far field: the share of a circle 10 data extents out (720 points) where the "
    "network answers like the nearest training sample",
    "Nearest sample, 100× out": "Far field: the same on a circle 100 data extents out",
    "Focus": "The first layer's neurons' focus (mean): the share of each neuron's influence that comes from "
    "the two subconcepts of the interpretable network contributing most (1: all from two groups of samples)",
    "Distance to ENN lines": "Median over the trained network's first-layer lines of the distance to the "
    "nearest interpretable line inside the data's frame, as a share of its diagonal (0: the same line)",
    "Focus by chance": "The focus a neuron would have if every sample influenced it equally",
    "Gradient descent": "Which layers of each network learnt by gradient descent",
}
ENN_TRAINING = {True: "concept layer, as the authors", False: "none (fixed concept weights)"}


@dataclass(frozen=True)
class Comparison:
    """Shares are fractions in [0, 1]; far agreements are measured on a circle `radius_extents` data extents
    from the centre of the training samples' bounding box (see compare_models)."""

    training_accuracy_mlp: float
    training_accuracy_enn: float
    held_out_accuracy_mlp: float | None  # None: there are no held-out samples
    held_out_accuracy_enn: float | None
    n_neurons_mlp: int
    n_neurons_enn: int
    radius_extents: float
    far_agreement_models: float  # MLP against ENN
    far_agreement_mlp_nearest: float  # MLP against the nearest-sample rule
    far_agreement_enn_nearest: float  # ENN against the nearest-sample rule
    concepts_tuned: bool | None = None  # the ENN's concept layer tuned by gradient descent; None: not said
    # The article's claims (app.core.thesis), when measured: focus of the first layer's neurons (network
    # means) and its chance value, agreement with the nearest sample 10 extents out, the trained lines'
    # median distance to the nearest interpretable line (a share of the data frame's diagonal).
    focus_mlp: float | None = None
    focus_enn: float | None = None
    focus_chance: float | None = None
    far10_mlp_nearest: float | None = None
    far10_enn_nearest: float | None = None
    role_match_median: float | None = None
    epoch: int | None = None  # the trained network's epoch the figures are for

    def rows(self) -> list[tuple[str, str, str]]:
        """(measure, MLP, ENN) rows for a table, e.g. ("Training accuracy", "100.0%", "96.5%"); the last says
        which layers learnt by gradient descent (when concepts_tuned says it)."""
        far = f"Nearest sample, {self.radius_extents:g}× out"
        rows = [
            ("Training accuracy", _percent(self.training_accuracy_mlp), _percent(self.training_accuracy_enn)),
            ("Held-out accuracy", _percent(self.held_out_accuracy_mlp), _percent(self.held_out_accuracy_enn)),
            ("Neurons", str(self.n_neurons_mlp), str(self.n_neurons_enn)),
        ]
        if self.far10_mlp_nearest is not None:
            rows.append(("Nearest sample, 10× out", _percent(self.far10_mlp_nearest, 0),
                         _percent(self.far10_enn_nearest, 0)))  # fmt: skip
        far_mlp, far_enn = self.far_agreement_mlp_nearest, self.far_agreement_enn_nearest
        rows.append((far, _percent(far_mlp, 0), _percent(far_enn, 0)))
        if self.focus_mlp is not None:
            rows.append(("Focus", _percent(self.focus_mlp, 0), _percent(self.focus_enn, 0)))
            rows.append(("Focus by chance", _percent(self.focus_chance, 0), _percent(self.focus_chance, 0)))
            distance = NO_VALUE if self.role_match_median is None else f"{self.role_match_median:.2f}"
            rows.append(("Distance to ENN lines", distance, "0"))
        if self.concepts_tuned is not None:  # which of the ENN's constructions this is
            rows.append(("Gradient descent", "every layer", ENN_TRAINING[self.concepts_tuned]))
        return rows

    @property
    def models_agree_text(self) -> str:
        return (
            f"The two models agree on {_percent(self.far_agreement_models, 0)} of a circle "
            f"{self.radius_extents:g} data extents out."
        )


def _percent(share: float | None, decimals: int = 1) -> str:
    """E.g. "96.5%"; a share just short of 1 (or just above 0) never rounds to "100%" (or "0%")."""
    if share is None:
        return NO_VALUE
    step = 10.0**-decimals
    value = 100.0 * share
    if 0.0 < share < 1.0:
        value = min(max(value, step), 100.0 - step)
    return f"{value:.{decimals}f}%"


def _accuracy(predict: Predictor, samples: SampleSet) -> float | None:
    if samples.n == 0:
        return None
    return float(np.mean(np.asarray(predict(samples.points)) == samples.labels))


def compare_models(
    samples: SampleSet,
    test_samples: SampleSet,
    mlp_predict: Predictor,
    enn_predict: Predictor,
    n_neurons_mlp: int,
    n_neurons_enn: int,
    radius_extents: float = 100.0,
    concepts_tuned: bool | None = None,
    thesis: tuple | None = None,
    epoch: int | None = None,
) -> Comparison:
    """Compares two predictors (points (n, 2) -> classes (n,)) trained or built on `samples`, tested on
    `test_samples` (may be empty). The far circle has 720 points; the data extent is the longer side of the
    samples' bounding box, and the circle's centre is that box's centre. `concepts_tuned`: whether the ENN's
    concept layer was tuned by gradient descent (a row of the table says which construction it is). `thesis`:
    the two networks' app.core.thesis.Thesis (trained, interpretable) at `epoch`, for the claims' rows."""
    if samples.n == 0:
        raise EssenceError("Comparing the two models needs training samples.")
    xmin, xmax, ymin, ymax = samples.extent()
    centre = ((xmin + xmax) / 2.0, (ymin + ymax) / 2.0)
    radius = radius_extents * max(xmax - xmin, ymax - ymin)
    nearest = nearest_sample_predictor(samples)
    return Comparison(
        training_accuracy_mlp=_accuracy(mlp_predict, samples),
        training_accuracy_enn=_accuracy(enn_predict, samples),
        held_out_accuracy_mlp=_accuracy(mlp_predict, test_samples),
        held_out_accuracy_enn=_accuracy(enn_predict, test_samples),
        n_neurons_mlp=int(n_neurons_mlp),
        n_neurons_enn=int(n_neurons_enn),
        radius_extents=float(radius_extents),
        far_agreement_models=far_agreement(mlp_predict, enn_predict, centre, radius),
        far_agreement_mlp_nearest=far_agreement(mlp_predict, nearest, centre, radius),
        far_agreement_enn_nearest=far_agreement(enn_predict, nearest, centre, radius),
        concepts_tuned=concepts_tuned,
        **({} if thesis is None else _thesis_fields(*thesis)),
        epoch=epoch,
    )


def _thesis_fields(mlp, enn) -> dict[str, float | None]:
    def number(value) -> float | None:
        return float(value) if value is not None and np.isfinite(value) else None

    return {
        "focus_mlp": number(mlp.network_focus),
        "focus_enn": number(enn.network_focus),
        "focus_chance": number(mlp.chance_focus),
        "far10_mlp_nearest": number(mlp.far10),
        "far10_enn_nearest": number(enn.far10),
        "role_match_median": number(mlp.role_match.median_distance) if mlp.role_match is not None else None,
    }
