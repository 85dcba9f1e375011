"""The interpretable network's subconcepts: groups of one class's samples. Automatic: the Lin lab's splitting
(train_enn.py, get_subclasses_alternative_old); or a given number per class: Ward clustering of each class."""

from __future__ import annotations

import numpy as np

from app.core.essence_svm import FAST, fit_svm, split_error

FALLBACK_C = 0.01  # their SVM for a pair whose means coincide


def split_subconcepts(
    x: np.ndarray, labels: np.ndarray, n_classes: int, tolerance: float, most: int
) -> tuple[list[np.ndarray], list[int]]:
    """Their alternative subconcepts, from one per class: while some pair of subconcepts (of any classes)
    separates worse than `tolerance` (split_error), the worst pair (the first in their order) is cut along
    the line between their means, at the threshold that best tells the two apart, and the one of the two
    whose halves stay better apart from the other is replaced by its halves (appended last); at most `most`
    subconcepts (theirs: 3 times the number they ask for). Returns the samples (indices into x, ascending)
    and the class of each subconcept, in their order."""
    groups = [np.flatnonzero(labels == k) for k in range(n_classes)]
    classes = list(range(n_classes))
    ids = list(range(n_classes))  # a name for each group, so that errors survive the renumbering
    errors: dict[tuple[int, int], float] = {}
    while len(groups) < most:
        worst, pair = -1.0, (0, 1)
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                key = (ids[i], ids[j])
                if key not in errors:
                    errors[key] = split_error(x, groups[i], groups[j])
                if errors[key] > worst:  # the first of equal errors: their argmax over the matrix
                    worst, pair = errors[key], (i, j)
        if len(groups) >= n_classes and worst <= tolerance:
            break
        halves = _split_pair(x, groups[pair[0]], groups[pair[1]])
        if halves is None:  # nothing left to cut (where they would draw random halves for ever)
            break
        which, (p, n) = halves
        parent = pair[which]
        groups += [groups[parent][p], groups[parent][n]]
        classes += [classes[parent]] * 2
        ids += [max(ids) + 1, max(ids) + 2]
        del groups[parent], classes[parent], ids[parent]
    return groups, classes


def _split_pair(
    x: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[int, tuple[np.ndarray, np.ndarray]] | None:
    """Which of the pair (0: a, 1: b) to cut and its two halves (masks), as their loop body decides."""
    w = x[a].mean(axis=0) - x[b].mean(axis=0)  # the bisector of the two means (SVM with use_exact)
    if not w.any():  # coinciding means: their fallback SVM on the samples
        w = fit_svm(np.concatenate([x[a], x[b]]), np.arange(len(a) + len(b)) < len(a), FALLBACK_C, FAST).w
        if (np.abs(w) < 1e-6).all():  # where they draw random weights
            w = np.ones(x.shape[1])
    da, db = x[a] @ w, x[b] @ w
    distance = np.round(np.concatenate([da, db]), 6)
    values, inverse = np.unique(distance, return_inverse=True)
    in_b = np.arange(len(distance)) >= len(a)
    per_a = np.bincount(inverse[~in_b], minlength=len(values))
    per_b = np.bincount(inverse[in_b], minlength=len(values))
    below_a = np.cumsum(per_a) - per_a  # a strictly below each value, b strictly above it
    above_b = len(b) - np.cumsum(per_b)
    error = (below_a / len(a) + above_b / len(b)) / 2.0
    score = np.minimum(error, 1.0 - error)
    best = len(score) - 1 - int(np.argmin(score[::-1]))  # the last of equal scores: their "<=" moves on
    bias = -values[best]
    halves = [((da + bias) >= 0.0, (da + bias) < 0.0), ((db + bias) <= 0.0, (db + bias) > 0.0)]
    found = [bool(p.any() and n.any()) for p, n in halves]
    if not any(found):  # their second pass: the threshold between values, counted on from the first (sic)
        cum_a, cum_b = np.cumsum(per_a)[:-1], np.cumsum(per_b)[:-1]
        error = ((len(a) + cum_a) / len(a) + (-cum_b) / len(b)) / 2.0
        score = np.minimum(error, 1.0 - error)
        if len(score):
            best = len(score) - 1 - int(np.argmin(score[::-1]))
            bias = -(values[best] + values[best + 1]) / 2.0
        else:
            bias = 0.0
        halves = [((d + bias) > 0.0, (d + bias) <= 0.0) for d in (da, db)]
        found = [bool(p.any() and n.any()) for p, n in halves]
    if not any(found):  # where they split at random: each at its median projection instead
        halves = [_median_halves(d) for d in (da, db)]
        found = [bool(p.any() and n.any()) for p, n in halves]
        if not any(found):
            return None
    if not all(found):
        which = 0 if found[0] else 1
        return which, halves[which]
    a_halves = [a[mask] for mask in halves[0]]
    b_halves = [b[mask] for mask in halves[1]]
    cost_a = sum(split_error(x, half, b, total=True) for half in a_halves)
    cost_b = sum(split_error(x, half, a, total=True) for half in b_halves)
    which = 1 if cost_a > cost_b else 0  # "splitting the first subclass is worse"
    return which, halves[which]


def _median_halves(distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.unique(distance)
    if len(values) < 2:
        return distance > np.inf, distance <= np.inf
    cut = (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2.0
    return distance > cut, distance <= cut


def _cut(merges: np.ndarray, n: int, clusters: int) -> np.ndarray:
    """Cluster id (0..clusters-1) of each of n leaves after the first n - clusters merges of a linkage."""
    parent = np.arange(2 * n - 1)
    for i in range(n - clusters):
        parent[int(merges[i, 0])] = parent[int(merges[i, 1])] = n + i
    root = parent[:n].copy()
    while True:
        up = parent[root]
        if (up == root).all():
            break
        root = up
    _, ids = np.unique(root, return_inverse=True)
    return ids


def ward_subconcepts(
    x: np.ndarray, labels: np.ndarray, n_classes: int, per_class: int
) -> tuple[list[np.ndarray], list[int]]:
    """Each class's Ward dendrogram cut into `per_class` clusters (or one per sample of a smaller class):
    their hierarchical subclasses (get_subclasses), except that they share a total out among the classes by
    their next merge heights. Returns the samples (ascending indices into x) and class of each subconcept."""
    from scipy.cluster.hierarchy import linkage  # scipy loads on first use: it slowed the app's start-up

    groups: list[np.ndarray] = []
    classes: list[int] = []
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        clusters = min(per_class, len(members))
        if clusters < 2:
            ids = np.zeros(len(members), dtype=np.int64)
        else:
            ids = _cut(linkage(x[members], method="ward"), len(members), clusters)
        groups += [members[ids == i] for i in range(clusters)]
        classes += [k] * clusters
    return groups, classes
