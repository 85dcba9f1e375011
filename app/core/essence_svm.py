"""The linear SVMs of the interpretable network, fitted as the Lin lab's enn/enn_svm.py (SVM.train) fits them:
scikit-learn's libsvm with balanced class weights, the perpendicular bisector for two points, nearly equal
weights made equal; and the balanced error of a split that their subconcept search measures."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# scikit-learn's warning that libsvm stopped at max_iter, silenced once for the process: a catch_warnings
# block around each fit would swap the process-wide filters under other threads' feet (builds run in a
# background thread), and filtering by message spares importing scikit-learn before its first use. With
# their tolerance of 1e-30 every full fit stops there: it is their way of asking for the exact optimum.
SVM_STOPPED_EARLY = r"Solver terminated early"
warnings.filterwarnings("ignore", message=SVM_STOPPED_EARLY)

EXACT = (1e-30, 50_000)  # (tol, max_iter) of their full SVMs (SVM(..., fast=False))
FAST = (1e-5, 10_000)  # and of their fast ones (fast=True), which only measure how well a pair separates
SPLIT_C = 10.0  # the C of the fast SVMs in their subconcept search (get_error_and_distance)


@dataclass(frozen=True)
class Svm:
    """w.x + b > 0 on the positive samples; `support`: the support vectors (rows of the fitted x), `coef`:
    their dual coefficients (libsvm's dual_coef_: positive for positive samples, |coef| <= C times the
    sample's class weight); for two points, their bisector and the two points with +1 and -1."""

    w: np.ndarray
    b: float
    support: np.ndarray
    coef: np.ndarray


def equalize_weights(w: np.ndarray) -> np.ndarray:
    """Weights whose magnitudes agree within 1e-4 of the largest take the largest of them (SVM's
    equalize_weights: "for more exact tasks we have weights with more exact values")."""
    w = np.array(w, dtype=np.float64)
    magnitude = np.abs(w)
    atol = 1e-4 * magnitude.max()
    done = np.zeros(len(w), dtype=bool)
    for i in range(len(w)):
        if done[i]:
            continue
        close = i + np.flatnonzero(np.isclose(magnitude[i:], magnitude[i], atol=atol))
        done[close] = True
        w[close] = np.abs(w[close]).max() * np.sign(w[close])
        magnitude = np.abs(w)
    return w


def fit_svm(x: np.ndarray, positive: np.ndarray, c: float, settings: tuple[float, int] = EXACT) -> Svm:
    """Their SVM(x[positive], x[~positive], c).train() for x whose positive rows come first (the order
    decides libsvm's path, so it is theirs)."""
    if len(x) == 2:  # their use_exact: the perpendicular bisector, "to avoid small errors in the SVM"
        first, second = (0, 1) if positive[0] else (1, 0)
        w = x[first] - x[second]
        return Svm(w, float(-w @ (x[0] + x[1]) / 2.0), np.arange(2), np.where(positive, 1.0, -1.0))
    from sklearn import config_context  # scikit-learn loads on first use: it took a third of the start-up
    from sklearn.svm import SVC

    tol, max_iter = settings
    svm = SVC(kernel="linear", C=c, class_weight="balanced", max_iter=max_iter, tol=tol)
    # The inputs are checked here, so scikit-learn's own validation (most of a small fit's time) is skipped.
    # config_context is thread-local (builds run in a background thread of the app).
    with config_context(assume_finite=True, skip_parameter_validation=True):
        svm.fit(x, positive.astype(np.int64))
    w = equalize_weights(svm.coef_[0])
    return Svm(w, float(svm.intercept_[0]), svm.support_.astype(np.int64), svm.dual_coef_[0].copy())


def split_error(x: np.ndarray, a: np.ndarray, b: np.ndarray, total: bool = False) -> float:
    """How badly the samples a and b (indices into x) separate, as their get_error_and_distance measures it:
    along the direction of a fast SVM (C = 10), the best threshold's balanced error (the mean of the two
    groups' shares on the wrong side), at most 0.5; with `total`, that threshold's count of samples on the
    wrong side."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    w = fit_svm(np.concatenate([x[a], x[b]]), np.arange(len(a) + len(b)) < len(a), SPLIT_C, FAST).w
    if (np.abs(w) < 1e-6).all():
        w = np.ones(x.shape[1])
    distance = np.concatenate([x[a] @ w, x[b] @ w])
    order = np.argsort(distance, kind="stable")
    distance, in_b = distance[order], order >= len(a)
    below_b = np.cumsum(in_b)[:-1]  # samples of b (and, below, of a) at or below each cut
    below_a = np.arange(1, len(distance)) - below_b
    error = (below_a / len(a) + (len(b) - below_b) / len(b)) / 2.0
    error = np.minimum(error, 1.0 - error)
    count = np.minimum(below_a + len(b) - below_b, below_b + len(a) - below_a)
    cuts = np.flatnonzero(distance[1:] != distance[:-1])  # thresholds between distinct distances only
    if len(cuts) == 0 or error[cuts].min() >= 0.5:
        return 0.0 if total else 0.5
    best = cuts[np.argmin(error[cuts])]  # the first of equal errors, as their strict "<" keeps it
    return float(count[best]) if total else float(error[best])
