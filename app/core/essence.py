"""Essence neural networks (ENNs): an interpretable network for the current samples, built without gradient
descent, after Blazek & Lin, "Explainable neural networks that simulate reasoning", Nature Computational
Science 1, 607-618 (2021).

The construction, in three layers:

1. **Subconcepts.** Each class's samples are clustered separately with Ward linkage. Starting from one
   subconcept per class, the class whose next dendrogram cut (its highest remaining merge distance) is
   highest is split once more, until the requested total is reached. With ``n_subconcepts=None`` the
   smallest total (from the number of classes up to ``EssenceSettings.max_subconcepts``) whose network
   classifies every training sample correctly is used, else the most accurate one (ties: fewer).
2. **Differentia neurons** (first layer, straight lines). For every pair of subconcepts of different classes a
   linear SVM (C = c1) separates the two subconcepts' samples: ``d = tanh(m1 * (w.x + b))``, positive on the
   side of the pair's first subconcept (the red one). Where some line separates the pair exactly but the
   soft margin gives up a sample, C is raised until none is lost. Pairs the SVM cannot split (it
   misclassifies more than ``overlap_skip`` of the pair's samples) are skipped, though at least one neuron
   is always kept.
3. **Subconcept neurons.** For each subconcept a linear SVM on the differentia outputs separates its samples
   from every sample of the other classes: ``s = tanh(m2 * (v.d + c))``; ``s > 0`` means "fires".
4. **Concept neurons** (output). Each class is the OR of its subconcepts, with fixed weights: the concept
   neuron reads each subconcept's firing strength ``a = (s + 1) / 2`` (0 silent, 1 firing) and computes
   ``concept_k = sum_j W[k, j] * a_j + b_k`` with ``W[k, j] = 10`` for the class's own subconcepts (0
   otherwise) and ``b_k = -5``, so it is positive as soon as one of its subconcepts fires. The prediction is
   the class with the largest concept value; the probability of blue is ``sigmoid(concept_blue -
   concept_red)``.

The SVMs are fitted on the samples shifted to their mean and divided by one common scale (so the
regularisation constants mean the same at any zoom); the stored lines ``w.x + b = 0`` are in the input plane.
Everything here is pure numpy/scipy/scikit-learn and deterministic (libsvm's ``SVC`` has no randomness).
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.dataset import CLASS_NAMES, SampleSet

# scikit-learn's warning that libsvm stopped at max_iter, silenced once for the process: a catch_warnings
# block around each fit would swap the process-wide filters under other threads' feet (builds run in a
# background thread), and filtering by message spares importing scikit-learn before its first use.
SVM_STOPPED_EARLY = r"Solver terminated early"
MAX_PER_CLASS = 8000  # Ward clustering of a class holds n^2/2 distances: 256 MB at 8,000 samples
warnings.filterwarnings("ignore", message=SVM_STOPPED_EARLY)

Predictor = Callable[[np.ndarray], np.ndarray]


class EssenceError(ValueError):
    """Samples the interpretable network cannot be built for; the message is meant for the user."""


@dataclass(frozen=True)
class EssenceSettings:
    """The constants of the construction (defaults as in the paper's examples)."""

    m1: float = 8.0  # steepness of the differentia neurons: d = tanh(m1 * (w.x + b))
    m2: float = 8.0  # steepness of the subconcept neurons: s = tanh(m2 * (v.d + c))
    c1: float = 15.0  # SVM regularisation C of the differentia (first) layer
    c2: float = 1000.0  # SVM regularisation C of the subconcept (second) layer
    concept_weight: float = 10.0  # weight from each of a class's subconcepts to its concept neuron
    concept_bias: float = -5.0  # bias of every concept neuron
    overlap_skip: float = 0.25  # skip a differentia whose SVM misclassifies more than this share of its pair
    max_subconcepts: int = 12  # the automatic search tries totals up to this many subconcepts
    svm_max_iter: int = 20_000  # libsvm iteration cap: only inseparable fits (high C) ever get near it


def _frozen(array: np.ndarray, dtype: type) -> np.ndarray:
    array = np.array(array, dtype=dtype)
    array.flags.writeable = False
    return array


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _as_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim == 1 and points.shape == (2,):
        points = points[None, :]
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), not {points.shape}")
    return points


@dataclass(frozen=True, eq=False)
class EssenceNetwork:
    """A built ENN: the weights of its three layers and what they mean (see the module docstring)."""

    subconcept_names: tuple[str, ...]
    subconcept_class: np.ndarray  # (n_sub,) class of each subconcept
    sample_subconcept: np.ndarray  # (n_samples,) subconcept of each training sample
    differentia_pairs: tuple[tuple[int, int], ...]  # (first, second) subconcept of each differentia neuron
    differentia_w: np.ndarray  # (n_diff, 2): the line w.x + b = 0, d > 0 on the first subconcept's side
    differentia_b: np.ndarray  # (n_diff,)
    subconcept_v: np.ndarray  # (n_sub, n_diff)
    subconcept_c: np.ndarray  # (n_sub,)
    concept_w: np.ndarray  # (n_classes, n_sub)
    concept_b: np.ndarray  # (n_classes,)
    settings: EssenceSettings = EssenceSettings()

    @property
    def n_subconcepts(self) -> int:
        return len(self.subconcept_names)

    @property
    def n_differentiae(self) -> int:
        return len(self.differentia_pairs)

    @property
    def n_classes(self) -> int:
        return len(self.concept_b)

    @property
    def n_neurons(self) -> int:
        """Differentia + subconcept + concept neurons."""
        return self.n_differentiae + self.n_subconcepts + self.n_classes

    def differentia(self, points: np.ndarray) -> np.ndarray:
        """First-layer outputs d in (-1, 1): (n, n_diff)."""
        points = _as_points(points)
        return np.tanh(self.settings.m1 * (points @ self.differentia_w.T + self.differentia_b))

    def _subconcepts_from(self, d: np.ndarray) -> np.ndarray:
        return np.tanh(self.settings.m2 * (d @ self.subconcept_v.T + self.subconcept_c))

    def subconcepts(self, points: np.ndarray) -> np.ndarray:
        """Second-layer outputs s in (-1, 1), positive where the subconcept fires: (n, n_sub)."""
        return self._subconcepts_from(self.differentia(points))

    def _concepts_from(self, s: np.ndarray) -> np.ndarray:
        return (0.5 * (s + 1.0)) @ self.concept_w.T + self.concept_b

    def concepts(self, points: np.ndarray) -> np.ndarray:
        """Concept (output) values, one per class, the largest wins: (n, n_classes)."""
        return self._concepts_from(self.subconcepts(points))

    def predict_proba(self, points: np.ndarray) -> np.ndarray:
        """Probability of blue (class 1): sigmoid(concept_blue - concept_red), (n,)."""
        concepts = self.concepts(points)
        return _sigmoid(concepts[:, 1] - concepts[:, 0])

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The class with the largest concept value (ties: the lower class), (n,) int64."""
        return np.argmax(self.concepts(points), axis=1).astype(np.int64)

    def differentia_label(self, k: int) -> str:
        """E.g. "red A | blue B": the two subconcepts differentia neuron k tells apart."""
        first, second = self.differentia_pairs[k]
        return f"{self.subconcept_names[first]} | {self.subconcept_names[second]}"

    def explain(self, point: np.ndarray, reasons: int = 3, most: int = 3) -> str:
        """Which subconcept neurons fire at this point (the `most` strongest) and the `reasons` differentiae
        that contribute most to each (largest v_jk * d_k > 0), then the prediction with the probability of the
        predicted colour, e.g. "Fires: blue B (because: red A | blue B → blue B side). Prediction: blue
        (0.97)"."""
        d = self.differentia(point)[0]
        s = self._subconcepts_from(d[None, :])[0]
        concepts = self._concepts_from(s[None, :])[0]
        predicted = int(np.argmax(concepts))
        p_blue = float(_sigmoid(concepts[1] - concepts[0])) if self.n_classes == 2 else float("nan")
        confidence = p_blue if predicted == 1 else 1.0 - p_blue
        prediction = f"Prediction: {CLASS_NAMES[predicted]} ({confidence:.2f})"
        firing = [int(j) for j in np.argsort(-s, kind="stable") if s[j] > 0.0]
        if not firing:
            return f"No subconcept fires here (the point resembles none of them). {prediction}"
        parts = []
        for j in firing[:most]:
            contributions = self.subconcept_v[j] * d
            order = [int(k) for k in np.argsort(-contributions, kind="stable") if contributions[k] > 0.0]
            because = []
            for k in order[:reasons]:
                first, second = self.differentia_pairs[k]
                side = self.subconcept_names[first] if d[k] > 0.0 else self.subconcept_names[second]
                because.append(f"{self.differentia_label(k)} \u2192 {side} side")
            why = f" (because: {', '.join(because)})" if because else ""
            parts.append(f"{self.subconcept_names[j]}{why}")
        more = f"; and {len(firing) - most} more" if len(firing) > most else ""
        return f"Fires: {'; '.join(parts)}{more}. {prediction}"

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every weight and label, keyed "essence/<name>", for an npz export (no pickled objects)."""
        s = self.settings
        return {
            "essence/subconcept_names": np.array(self.subconcept_names, dtype=str),
            "essence/subconcept_class": np.array(self.subconcept_class),
            "essence/sample_subconcept": np.array(self.sample_subconcept),
            "essence/differentia_pairs": np.array(self.differentia_pairs, dtype=np.int64).reshape(-1, 2),
            "essence/differentia_w": np.array(self.differentia_w),
            "essence/differentia_b": np.array(self.differentia_b),
            "essence/subconcept_v": np.array(self.subconcept_v),
            "essence/subconcept_c": np.array(self.subconcept_c),
            "essence/concept_w": np.array(self.concept_w),
            "essence/concept_b": np.array(self.concept_b),
            "essence/m1": np.array(s.m1),
            "essence/m2": np.array(s.m2),
        }


# ---------------------------------------------------------------------------------------------- building


def _check_samples(samples: SampleSet) -> None:
    counts = np.bincount(samples.labels, minlength=len(CLASS_NAMES))
    if samples.n == 0 or (counts == 0).any():
        raise EssenceError("The interpretable network needs samples of both classes.")
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


class _Hierarchy:
    """One class's Ward dendrogram, cut into any number of clusters."""

    def __init__(self, points: np.ndarray) -> None:
        from scipy.cluster.hierarchy import linkage  # scipy and scikit-learn load on first use: together
        # they took a third of the app's start-up time

        self.n = len(points)
        self.merges = linkage(points, method="ward") if self.n >= 2 else np.empty((0, 4))

    def next_split(self, clusters: int) -> float:
        """The merge distance undone by cutting one more cluster (-inf when every point is alone)."""
        return float(self.merges[self.n - 1 - clusters, 2]) if clusters < self.n else -np.inf

    def labels(self, clusters: int) -> np.ndarray:
        return _cut(self.merges, self.n, clusters) if self.n >= 2 else np.zeros(self.n, dtype=np.int64)


def _split_counts(hierarchies: list[_Hierarchy], total: int) -> list[int]:
    counts = [1] * len(hierarchies)
    while sum(counts) < total:
        gaps = [h.next_split(c) for h, c in zip(hierarchies, counts, strict=True)]
        k = int(np.argmax(gaps))  # ties: the lower class
        if gaps[k] == -np.inf:
            break
        counts[k] += 1
    return counts


def _subconcepts(
    labels: np.ndarray, hierarchies: list[_Hierarchy], counts: list[int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, class of each subconcept, and subconcept of each sample; within a class, A is the largest
    cluster (ties: the one holding the earliest sample)."""
    names: list[str] = []
    classes: list[int] = []
    sample_sub = np.empty(len(labels), dtype=np.int64)
    for k, (h, c) in enumerate(zip(hierarchies, counts, strict=True)):
        members = np.flatnonzero(labels == k)
        ids = h.labels(c)
        sizes = np.bincount(ids, minlength=c)
        first = np.array([members[ids == i].min() for i in range(c)])
        order = np.lexsort((first, -sizes))
        for letter, i in enumerate(order):
            sample_sub[members[ids == i]] = len(names)
            names.append(f"{CLASS_NAMES[k]} {_letters(letter)}")
            classes.append(k)
    return names, np.array(classes, dtype=np.int64), sample_sub


def _letters(i: int) -> str:
    letters = string.ascii_uppercase
    return letters[i] if i < len(letters) else _letters(i // len(letters) - 1) + letters[i % len(letters)]


def _linear_svm(
    x: np.ndarray, positive: np.ndarray, c: float, max_iter: int, seed: int
) -> tuple[np.ndarray, float, float]:
    """(w, b, error share) of a balanced linear SVM with w.x + b > 0 on the positive samples.

    libsvm is exact and deterministic but, with a high C on samples no line separates, can take millions of
    iterations; those fits are stopped at max_iter (their line is still a usable approximate separator, and
    such a network fails the all-correct test anyway); SVM_STOPPED_EARLY keeps its warning quiet."""
    from sklearn import config_context
    from sklearn.svm import SVC

    svm = SVC(kernel="linear", C=c, class_weight="balanced", max_iter=max_iter, random_state=seed)
    # The inputs are checked here, so scikit-learn's own validation (most of a small fit's time) is skipped.
    # config_context is thread-local (builds run in a background thread of the app).
    with config_context(assume_finite=True, skip_parameter_validation=True):
        svm.fit(x, positive.astype(np.int64))
    w, b = svm.coef_[0].astype(np.float64), float(svm.intercept_[0])
    error = float(np.mean(((x @ w + b) > 0.0) != positive))
    return w, b, error


@dataclass(frozen=True)
class _Line:
    w: np.ndarray
    b: float
    error: float


def _separating_line(x: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Some (w, b) with w.x + b >= 1 on the positive and <= -1 on the other samples, or None if no line
    separates them (a linear-programming feasibility problem)."""
    from scipy.optimize import linprog

    signs = np.where(positive, 1.0, -1.0)
    a_ub = -signs[:, None] * np.column_stack([x, np.ones(len(x))])
    result = linprog(np.zeros(3), A_ub=a_ub, b_ub=-np.ones(len(x)), bounds=[(None, None)] * 3, method="highs")
    return (result.x[:2].copy(), float(result.x[2])) if result.status == 0 else None


def _differentia_line(x: np.ndarray, positive: np.ndarray, settings: EssenceSettings, seed: int) -> _Line:
    """The SVM line between two subconcepts. The soft margin (C = c1) may give up a sample or two next to a
    narrow gap; where a line can separate the pair exactly, C is raised (x10, three times) until it does,
    falling back on the linear program's separating line, so separable subconcepts are always told apart."""
    w, b, error = _linear_svm(x, positive, settings.c1, settings.svm_max_iter, seed)
    if error == 0.0 or error > settings.overlap_skip:
        return _Line(w, b, error)
    exact = _separating_line(x, positive)
    if exact is None:
        return _Line(w, b, error)
    c = settings.c1
    for _ in range(3):
        c *= 10.0
        w, b, error = _linear_svm(x, positive, c, settings.svm_max_iter, seed)
        if error == 0.0:
            return _Line(w, b, error)
    return _Line(exact[0], exact[1], 0.0)


def _build(
    x: np.ndarray,
    labels: np.ndarray,
    hierarchies: list[_Hierarchy],
    total: int,
    settings: EssenceSettings,
    seed: int,
    line_cache: dict[tuple[bytes, bytes], _Line],
) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[int, int]], np.ndarray, np.ndarray, np.ndarray]:
    """One network on the normalised points x; returns its parts with the lines still normalised."""
    names, sub_class, sample_sub = _subconcepts(labels, hierarchies, _split_counts(hierarchies, total))
    members = [np.flatnonzero(sample_sub == j) for j in range(len(names))]
    candidates: list[tuple[tuple[int, int], _Line]] = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if sub_class[i] == sub_class[j]:
                continue
            first, second = (i, j) if sub_class[i] < sub_class[j] else (j, i)
            key = (members[first].tobytes(), members[second].tobytes())
            line = line_cache.get(key)
            if line is None:
                pair = np.concatenate([members[first], members[second]])
                positive = np.arange(len(pair)) < len(members[first])
                line = _differentia_line(x[pair], positive, settings, seed)
                line_cache[key] = line
            candidates.append(((first, second), line))
    kept = [c for c in candidates if c[1].error <= settings.overlap_skip]
    if not kept:  # never leave the network without a first layer: keep the cleanest split
        kept = [min(candidates, key=lambda c: c[1].error)]
    pairs = [p for p, _ in kept]
    w = np.array([line.w for _, line in kept]).reshape(-1, 2)
    b = np.array([line.b for _, line in kept])
    d = np.tanh(settings.m1 * (x @ w.T + b))
    v = np.empty((len(names), len(pairs)))
    c = np.empty(len(names))
    for j, k in enumerate(sub_class):
        rows = np.concatenate([members[j], np.flatnonzero(labels != k)])
        positive = np.arange(len(rows)) < len(members[j])
        v[j], c[j], _ = _linear_svm(d[rows], positive, settings.c2, settings.svm_max_iter, seed)
    return names, sub_class, sample_sub, pairs, w, b, np.column_stack([v, c])


def build_essence(
    samples: SampleSet,
    settings: EssenceSettings = EssenceSettings(),  # noqa: B008 - frozen, so sharing the default is safe
    n_subconcepts: int | None = None,
    seed: int = 0,
) -> EssenceNetwork:
    """Build the ENN for these samples (see the module docstring). ``n_subconcepts=None`` searches for the
    smallest total that classifies every sample correctly. Raises EssenceError for samples it cannot use."""
    _check_samples(samples)
    n_classes = len(CLASS_NAMES)
    if n_subconcepts is not None:
        if n_subconcepts < n_classes:
            raise EssenceError(
                f"The interpretable network needs at least {n_classes} subconcepts (one per class), "
                f"not {n_subconcepts}."
            )
        if n_subconcepts > samples.n:
            raise EssenceError(
                f"There are only {samples.n} samples: too few for {n_subconcepts} subconcepts "
                "(each subconcept needs at least one sample)."
            )
    points, labels = samples.points, samples.labels
    centre = points.mean(axis=0)
    spread = float(np.abs(points - centre).max())  # > 0: both classes, so at least two distinct points
    x = (points - centre) / spread
    scale = spread * float(np.sqrt((x**2).sum(axis=1).mean()))  # the root-mean-square distance to the centre
    x = (points - centre) / scale
    hierarchies = [_Hierarchy(x[labels == k]) for k in range(n_classes)]
    cache: dict[tuple[bytes, bytes], _Line] = {}

    def make(total: int) -> EssenceNetwork:
        names, sub_class, sample_sub, pairs, w, b, vc = _build(
            x, labels, hierarchies, total, settings, seed, cache
        )
        concept_w = np.where(
            np.arange(n_classes)[:, None] == sub_class[None, :], settings.concept_weight, 0.0
        )
        return EssenceNetwork(
            subconcept_names=tuple(names),
            subconcept_class=_frozen(sub_class, np.int64),
            sample_subconcept=_frozen(sample_sub, np.int64),
            differentia_pairs=tuple((int(i), int(j)) for i, j in pairs),
            differentia_w=_frozen(w / scale, np.float64),  # back to the input plane: w.(p - centre)/scale + b
            differentia_b=_frozen(b - (w @ centre) / scale, np.float64),
            subconcept_v=_frozen(vc[:, :-1], np.float64),
            subconcept_c=_frozen(vc[:, -1], np.float64),
            concept_w=_frozen(concept_w, np.float64),
            concept_b=_frozen(np.full(n_classes, settings.concept_bias), np.float64),
            settings=settings,
        )

    if n_subconcepts is not None:
        return make(n_subconcepts)
    best: tuple[float, EssenceNetwork] | None = None
    for total in range(n_classes, max(n_classes, min(settings.max_subconcepts, samples.n)) + 1):
        network = make(total)
        accuracy = float(np.mean(network.predict(points) == labels))
        if accuracy == 1.0:
            return network
        if best is None or accuracy > best[0]:
            best = (accuracy, network)
    assert best is not None
    return best[1]


# ----------------------------------------------------------------------------------------------- comparing


def nearest_sample_predictor(samples: SampleSet) -> Predictor:
    """A predictor (points (n, 2) -> classes (n,)) giving each point the class of its nearest sample."""
    if samples.n == 0:
        raise EssenceError("The nearest-sample reference needs at least one sample.")
    from scipy.spatial import cKDTree

    tree = cKDTree(samples.points)
    labels = samples.labels.copy()

    def predict(points: np.ndarray) -> np.ndarray:
        _, index = tree.query(_as_points(points), k=1)
        return labels[index]

    return predict


def far_agreement(
    predict_a: Predictor, predict_b: Predictor, centre: tuple[float, float], radius: float, n: int = 720
) -> float:
    """Share of n points evenly spaced on the circle (centre, radius) where the two predictors agree."""
    if n < 1:
        raise ValueError(f"the number of points must be at least 1, not {n}")
    if not (np.isfinite(radius) and radius > 0.0):
        raise ValueError(f"the radius must be a positive finite number, not {radius!r}")
    angles = 2.0 * np.pi * np.arange(n) / n
    points = np.asarray(centre, dtype=np.float64) + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    a = np.asarray(predict_a(points))
    b = np.asarray(predict_b(points))
    return float(np.mean(a == b))
