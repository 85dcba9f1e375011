"""The construction of the interpretable network, step by step as the Lin lab's train_full_enn takes them
(see app.core.essence): subconcepts, differentia SVMs between subconcepts of different classes, subconcept
SVMs on the differentiae's outputs, the concept layer; then named and ordered for the app. Any number of
classes (2 to 8), as theirs: one concept neuron a class."""

from __future__ import annotations

import string

import numpy as np

from app.core.dataset import SampleSet
from app.core.essence_concepts import fixed_concepts, tuned_concepts
from app.core.essence_settings import MAX_PER_CLASS, EssenceError, EssenceSettings
from app.core.essence_subconcepts import split_subconcepts, ward_subconcepts
from app.core.essence_svm import EXACT, fit_svm


def check_samples(samples: SampleSet) -> None:
    """Raises EssenceError for samples no network can be built for."""
    counts = np.bincount(samples.labels, minlength=samples.classes)
    if samples.n == 0 or (counts == 0).any():
        if samples.classes == 2:
            raise EssenceError("The interpretable network needs samples of both classes.")
        missing = ", ".join(samples.class_names[k] for k in np.flatnonzero(counts == 0))
        raise EssenceError(f"The interpretable network needs samples of every class (one concept neuron a "
                           f"class); none of: {missing}.")  # fmt: skip
    if counts.max() > MAX_PER_CLASS:  # refused before the clustering allocates what cannot be had
        raise EssenceError(f"The interpretable network takes {MAX_PER_CLASS:,} samples a class at most.")
    order = np.lexsort((samples.points[:, 1], samples.points[:, 0]))
    sorted_points = samples.points[order]
    same = (sorted_points[1:] == sorted_points[:-1]).all(axis=1)
    if not same.any():
        return
    group = np.concatenate([[0], np.cumsum(~same)])  # group id of each sorted point (equal points share one)
    best: tuple[int, int] | None = None
    for g in np.unique(group[1:][same]):
        members = np.sort(order[group == g])
        labels = samples.labels[members]
        other = members[labels != labels[0]]
        if len(other) and (best is None or (members[0], other[0]) < best):
            best = (int(members[0]), int(other[0]))
    if best is not None:
        raise EssenceError(
            f"Samples {best[0] + 1} and {best[1] + 1} lie at the same point with different colours: "
            "no network can separate them."
        )


def _letters(i: int) -> str:
    letters = string.ascii_uppercase
    return letters[i] if i < len(letters) else _letters(i // len(letters) - 1) + letters[i % len(letters)]


def _standardized(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Their standardize(): each axis shifted to mean 0 and divided by its standard deviation (1 where all
    samples share the coordinate, where theirs would divide by 0)."""
    mean, spread = points.mean(axis=0), points.std(axis=0)
    spread = np.where(spread > 0.0, spread, 1.0)
    return (points - mean) / spread, mean, spread


def construct(samples: SampleSet, settings: EssenceSettings, per_class: int | None) -> dict[str, object]:
    """The EssenceNetwork fields (but its settings) for these samples; see build_essence."""
    check_samples(samples)
    if per_class is not None and per_class < 1:
        raise EssenceError(f"Each class needs at least one subconcept, not {per_class}.")
    n_classes, labels = samples.classes, samples.labels
    if settings.standardize_inputs:
        x, mean, spread = _standardized(samples.points)
    else:  # centred only: the same SVMs, clusters and splits as on the raw coordinates, better conditioned
        mean, spread = samples.points.mean(axis=0), np.ones(2)
        x = samples.points - mean
    if per_class is None:
        most = max(settings.max_subconcepts, n_classes)
        groups, classes = split_subconcepts(x, labels, n_classes, settings.split_tolerance, most)
    else:
        groups, classes = ward_subconcepts(x, labels, n_classes, per_class)

    # Differentiae: every pair of subconcepts of different classes, the earlier one (theirs) on the + side.
    pairs = [
        (i, j) for i in range(len(groups)) for j in range(i + 1, len(groups)) if classes[i] != classes[j]
    ]
    lines = []
    for i, j in pairs:
        rows = np.concatenate([groups[i], groups[j]])
        svm = fit_svm(x[rows], np.arange(len(rows)) < len(groups[i]), settings.c1, EXACT)
        lines.append((svm, rows[svm.support]))
    w = np.array([svm.w for svm, _ in lines]).reshape(-1, x.shape[1])
    b = np.array([svm.b for svm, _ in lines])
    d = np.tanh(settings.m1 * (x @ w.T + b))

    # Subconcept neurons: each subconcept's samples against every sample of the other classes, on d.
    v, c, sub_support = np.empty((len(groups), len(pairs))), np.empty(len(groups)), []
    for j, members in enumerate(groups):
        rows = np.concatenate([members, np.flatnonzero(labels != classes[j])])
        svm = fit_svm(d[rows], np.arange(len(rows)) < len(members), settings.c2, EXACT)
        v[j], c[j] = svm.w, svm.b
        sub_support.append((rows[svm.support], svm.coef))
    s = np.tanh(settings.m2 * (d @ v.T + c))
    if settings.tune_concepts:
        concept_w, concept_b, epochs = tuned_concepts(s, labels, n_classes)
    else:
        concept_w, concept_b = fixed_concepts(np.array(classes), n_classes, settings.concept_weight,
                                              settings.concept_bias)  # fmt: skip
        epochs = 0

    # Named and ordered for the app: within a class, A is the largest subconcept (ties: the one holding the
    # earliest sample); each differentia positive on the side of its subconcept of the lower class, ordered by
    # (that subconcept, the other): for two classes (red, blue).
    order = sorted(range(len(groups)), key=lambda j: (classes[j], -len(groups[j]), groups[j][0]))
    new = np.empty(len(groups), dtype=np.int64)
    new[order] = np.arange(len(groups))
    names, seen = [], [0] * n_classes
    for j in order:
        names.append(f"{samples.class_names[classes[j]]} {_letters(seen[classes[j]])}")
        seen[classes[j]] += 1
    sample_sub = np.empty(samples.n, dtype=np.int64)
    for j, members in enumerate(groups):
        sample_sub[members] = new[j]
    oriented = [
        (new[i], new[j], 1.0) if classes[i] < classes[j] else (new[j], new[i], -1.0) for i, j in pairs
    ]
    diff_order = sorted(range(len(pairs)), key=lambda k: oriented[k][:2])
    sign = np.array([oriented[k][2] for k in diff_order])
    w, b = w[diff_order] * sign[:, None], b[diff_order] * sign
    w = w / spread  # back in the input plane (their destandardize())
    b = b - w @ mean
    return dict(
        class_names=samples.class_names,
        subconcept_names=tuple(names),
        subconcept_class=np.array(classes, dtype=np.int64)[order],
        sample_subconcept=sample_sub,
        differentia_pairs=tuple((int(oriented[k][0]), int(oriented[k][1])) for k in diff_order),
        differentia_w=w,
        differentia_b=b,
        subconcept_v=v[order][:, diff_order] * sign,
        subconcept_c=c[order],
        concept_w=concept_w[:, order],
        concept_b=concept_b,
        support_indices=tuple(lines[k][1] for k in diff_order),
        support_coef=tuple(lines[k][0].coef * sign[n] for n, k in enumerate(diff_order)),
        subconcept_support_indices=tuple(sub_support[j][0] for j in order),
        subconcept_support_coef=tuple(sub_support[j][1] for j in order),
        concept_epochs=epochs,
    )
