"""The trained MLP and the interpretable network (ENN) side by side: accuracy on the training and held-out
samples, size, and how each extrapolates far from the data compared with the nearest-sample rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.dataset import SampleSet
from app.core.essence import EssenceError, Predictor, far_agreement, nearest_sample_predictor

NO_VALUE = "\u2014"  # an em dash: no held-out samples, so no held-out accuracy


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

    def rows(self) -> list[tuple[str, str, str]]:
        """(measure, MLP, ENN) rows for a table, e.g. ("Training accuracy", "100.0%", "96.5%")."""
        far = f"Agrees with nearest sample, {self.radius_extents:g} extents out"
        return [
            ("Training accuracy", _percent(self.training_accuracy_mlp), _percent(self.training_accuracy_enn)),
            ("Held-out accuracy", _percent(self.held_out_accuracy_mlp), _percent(self.held_out_accuracy_enn)),
            ("Neurons", str(self.n_neurons_mlp), str(self.n_neurons_enn)),
            (far, _percent(self.far_agreement_mlp_nearest, 0), _percent(self.far_agreement_enn_nearest, 0)),
        ]

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
) -> Comparison:
    """Compares two predictors (points (n, 2) -> classes (n,)) trained or built on `samples`, tested on
    `test_samples` (may be empty). The far circle has 720 points; the data extent is the longer side of the
    samples' bounding box, and the circle's centre is that box's centre."""
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
    )
