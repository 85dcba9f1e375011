"""The interpretable network's concept (output) layer on the subconcept neurons' outputs s in (-1, 1): the Lin
lab's (train_enn.py, get_concept_layer: one-vs-all SVMs, then gradient descent on this layer alone, softmax
output) or fixed weights that make each class the OR of its subconcepts (no gradient descent anywhere)."""

from __future__ import annotations

import numpy as np

from app.core.essence_svm import EXACT, fit_svm

CONCEPT_C = 1000.0  # their concept SVMs' C (a constant of get_concept_layer, not svm_cost_2)
CONCEPT_STEEPNESS = 8.0  # concept_layer.set_mult_factor(8)
MAX_EPOCHS = 30_000  # their num_epochs
CHECK_EVERY = 200  # epochs between their checks for progress ...
MIN_PROGRESS = 0.995  # ... which must lower the error by half a percent
PATIENCE = 20  # epochs without a new best error before they stop (after the first 1,000)
LEARN_FACTOR = 1e-3  # their starting (and smallest shrinking) step factor


def fixed_concepts(
    subconcept_class: np.ndarray, n_classes: int, weight: float, bias: float
) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) with concept_k = W[k] . s + b[k] equal to `weight` times the sum of the firing strengths
    (s + 1) / 2 of class k's subconcepts, plus `bias`: positive as soon as one of them fires."""
    own = np.arange(n_classes)[:, None] == subconcept_class[None, :]
    w = np.where(own, weight / 2.0, 0.0)
    return w, bias + w.sum(axis=1)


def softmax(z: np.ndarray) -> np.ndarray:
    """Each row's softmax (their Layer's 'softmax' activation), shifted by its largest value first."""
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def tuned_concepts(
    s: np.ndarray, labels: np.ndarray, n_classes: int, max_epochs: int = MAX_EPOCHS
) -> tuple[np.ndarray, np.ndarray, int]:
    """Their concept layer for the training samples' subconcept outputs s (n, n_sub): for each class a linear
    SVM (C = 1000) tells its samples from the others on s, its weights times 8 start the layer; then
    gradient descent on the softmax outputs' cross-entropy (full batch, their adaptive step: the step
    factor grows 5% an epoch while the error falls by less than 1%, shrinks 5% when it rises) until the
    error stops falling (after at least 1,000 epochs) or nearly vanishes; the weights of the lowest error
    are kept. Deterministic. Returns (W (n_classes, n_sub), b, epochs run)."""
    starts = [fit_svm(s, labels == k, CONCEPT_C, EXACT) for k in range(n_classes)]
    w = np.array([svm.w for svm in starts]).T * CONCEPT_STEEPNESS  # (n_sub, n_classes), as in their Layer
    b = np.array([svm.b for svm in starts]) * CONCEPT_STEEPNESS
    target = np.eye(n_classes)[labels]
    best_w, best_b = w, b
    previous = last_check = np.inf
    stagnation, factor = 0.0, LEARN_FACTOR
    epoch = 0
    for epoch in range(max_epochs):  # noqa: B007 - the epochs it took are returned
        output = softmax(s @ w + b)
        error = float(np.sqrt(np.sum((output - target) ** 2)))
        if error < previous:
            stagnation = 0.0
            if error / previous > 0.99:
                factor *= 1.05
            previous, best_w, best_b = error, w, b
        else:
            stagnation += 1
            if factor > LEARN_FACTOR:
                factor *= 0.95
        if epoch % CHECK_EVERY == 0:
            if error > last_check * MIN_PROGRESS:
                stagnation = np.inf
            last_check = error
        if (stagnation > PATIENCE and epoch > 1000) or error < len(s) * 1e-7:
            break
        gradient = output - target  # of the cross-entropy with respect to the softmax's inputs
        grad_w = s.T @ gradient
        steepest = np.abs(grad_w).max()
        if steepest == 0.0:
            break
        step = factor * np.abs(w).max() / steepest
        w, b = w - step * grad_w, b - step * gradient.sum(axis=0)
    return best_w.T.copy(), best_b.copy(), epoch + 1
