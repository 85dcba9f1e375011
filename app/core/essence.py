"""Essence neural networks (ENNs): an interpretable network for the current samples, after Blazek & Lin,
"Explainable neural networks that simulate reasoning", Nature Computational Science 1, 607-618 (2021), built
as the Lin lab's published code builds it (github.com/jre411/bdENN at be96e7c: enn/train_enn.py with
enn/enn_svm.py and enn/layer.py, with the parameters of enn/learnBoundaries.py and, for the keys those leave
out, the defaults of train_full_enn's check_parameters; tests/core/bdenn_reference.py ports it step by step).

1. **Subconcepts** (groups of one class's samples). Automatic (the default): their "alternative" subclasses
   (get_subclasses_alternative_old, alternative_subclasses = 1 in learnBoundaries.set_parameters): from one
   subconcept per class, while some pair of subconcepts separates worse than a balanced error of 2% (along
   a fast SVM's direction, C = 10, at the best threshold; pairs of the same class count too), the worst
   pair is cut along the line between their means at the threshold that best tells them apart, and the
   member whose halves stay better apart from the other is replaced by them. Or N per class: each class's
   Ward dendrogram cut into N clusters. Any number of classes (2 to 8) as theirs: parameters['classes'] is
   np.unique(y_train), one subconcept per class to start from.
2. **Differentia neurons** (first layer, straight lines): for every pair of subconcepts of different classes
   a linear SVM (libsvm, C = 15, balanced class weights, tolerance 1e-30 and 50,000 iterations as theirs;
   two single points: their perpendicular bisector; weights equal within 1e-4 made equal, as their
   equalize_weights): ``d = tanh(m1 * (w.x + b))``, m1 = 8, positive on the side of the pair's subconcept of
   the lower class (red for two classes). None is skipped (theirs skip only pairs sharing points, which a
   partition never does). With k classes still one line per pair of subconcepts (their get_all_differentiae
   loops over pairs of subclasses whose y_class differ): one-against-one between subconcepts.
3. **Subconcept neurons**: for each subconcept an SVM (C = 1000) on the differentia outputs separates its
   samples from every sample of the other classes (all k - 1 of them: their get_subclass_weights_test's
   interclass_points): ``s = tanh(m2 * (v.d + c))``, m2 = 8; s > 0: "fires".
4. **Concept neurons** (output), one per class: ``concept_k = W[k] . s + b[k]``, the class with the largest
   wins, its probability the softmax of the concepts (theirs; for two classes P(blue) is
   sigmoid(concept_blue - concept_red)). Theirs (tune_concepts, the default): for each class a one-vs-all
   SVM (C = 1000) on s, times 8, then gradient descent on this layer alone (get_concept_layer: softmax
   cross-entropy, their adaptive step and stopping rule; deterministic). Or, with no gradient descent
   anywhere, fixed weights: 10 from each of the class's subconcepts' firing strengths (s + 1) / 2,
   bias -5 (stored as W = 5, b = -5 + 5 * the class's subconcepts).

Their settings that decide this: svm_cost_1 15, svm_cost_2 1000, svm_multiplier_1 and _2 8, margin_ratio inf
(no pruning of differentiae), misclass_tolerance 0, concept_certainty 1; defaults: standardize_inputs False
(the SVMs see the data's own units), direct_subclasses False (SVM concept layer), softmax True, fast_svm
False, parallel False. Where we differ, and why:
- We fit on the samples centred on their mean, and move the lines back. The SVMs are the same
  mathematically (libsvm leaves the intercept unregularised, so the dual problem does not change), as are
  Ward's clusters and the split errors; but on raw coordinates their splitting depends on where the origin
  lies (libsvm's conditioning, and distances rounded to 6 decimals decide on which side a sample at the
  threshold falls): xor moved by (50000, -3000) came out half wrong. On each preset, their code given the
  centred samples builds exactly our network (tests/core/test_essence_reference.py).
- Automatic subconcepts start from one per class (their num_subclasses is the number of classes in every
  script that builds an ENN, e.g. scripts/Fig4.py's main_0(x, y, 0, 3) for three classes) and stop at
  `max_subconcepts` (30, the cap of their own Ward search, alternative_subclasses = 2) where theirs stop at 3
  times num_subclasses: 6 would leave the spirals preset a quarter wrong. Those scripts themselves ask for
  Ward subclasses, one per class (alternative_subclasses = 0), which no curved boundary survives.
- N per class cuts each class's dendrogram at N; theirs share a total out by the next merge heights.
- Where their splitting draws random numbers (a pair that no threshold cuts: random halves, for ever for
  single samples; coinciding means and a vanishing fallback SVM: random weights) ours cuts at the median
  projection or stops, and uses weights (1, 1); a two-sample concept SVM is oriented by its labels.
- `standardize_inputs` is theirs (each axis scaled to spread 1 as well) but off, as in theirs: C weighs
  margin against errors in the data's own units, so the same samples drawn 1000 times larger give another
  network; with it on, they give the same one.
The stored lines ``w.x + b = 0`` are in the input plane; the SVMs' support vectors (indices into the
training samples) and dual coefficients are kept per neuron (support_indices, support_coef, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.dataset import CLASS_NAMES, SampleSet
from app.core.essence_build import construct
from app.core.essence_concepts import softmax
from app.core.essence_settings import MAX_PER_CLASS, EssenceError, EssenceSettings

__all__ = ["MAX_PER_CLASS", "EssenceError", "EssenceNetwork", "EssenceSettings", "Predictor", "build_essence",
           "far_agreement", "nearest_sample_predictor"]  # fmt: skip

Predictor = Callable[[np.ndarray], np.ndarray]


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


def _flat(values: tuple[np.ndarray, ...], dtype: type) -> np.ndarray:
    """Count-prefixed in one flat array: for each entry its length, then its values."""
    parts = [np.concatenate([[len(v)], v]) for v in values]
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


@dataclass(frozen=True, eq=False)
class EssenceNetwork:
    """A built ENN: the weights of its three layers and what they mean (see the module docstring).

    Support vectors: for differentia neuron k, support_indices[k] are the training samples (indices as in
    sample_subconcept) that its SVM rests on and support_coef[k] their dual coefficients (libsvm's dual_coef_,
    positive for samples of the pair's first subconcept, |coef| at most C times the sample's class weight); a
    line drawn without an SVM (the bisector of two single samples) has those two samples with +1 and -1. The
    subconcept neurons' SVMs, fitted on the differentia outputs of the training samples, likewise (positive:
    the subconcept's own samples)."""

    subconcept_names: tuple[str, ...]
    subconcept_class: np.ndarray  # (n_sub,) class of each subconcept
    sample_subconcept: np.ndarray  # (n_samples,) subconcept of each training sample
    differentia_pairs: tuple[tuple[int, int], ...]  # (first, second) subconcept of each differentia neuron
    differentia_w: np.ndarray  # (n_diff, 2): the line w.x + b = 0, d > 0 on the first subconcept's side
    differentia_b: np.ndarray  # (n_diff,)
    subconcept_v: np.ndarray  # (n_sub, n_diff)
    subconcept_c: np.ndarray  # (n_sub,)
    concept_w: np.ndarray  # (n_classes, n_sub): concept = concept_w . s + concept_b
    concept_b: np.ndarray  # (n_classes,)
    class_names: tuple[str, ...] = CLASS_NAMES  # one per concept neuron (the samples' class_names)
    settings: EssenceSettings = EssenceSettings()
    support_indices: tuple[np.ndarray, ...] = ()  # per differentia neuron: training samples (see above)
    support_coef: tuple[np.ndarray, ...] = ()  # per differentia neuron: their signed dual coefficients
    subconcept_support_indices: tuple[np.ndarray, ...] = ()  # per subconcept neuron
    subconcept_support_coef: tuple[np.ndarray, ...] = ()
    concept_epochs: int = 0  # gradient-descent epochs of the concept layer (0: fixed weights)

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
        return s @ self.concept_w.T + self.concept_b

    def concepts(self, points: np.ndarray) -> np.ndarray:
        """Concept (output) values, one per class, the largest wins: (n, n_classes)."""
        return self._concepts_from(self.subconcepts(points))

    def predict_proba(self, points: np.ndarray) -> np.ndarray:
        """Two classes: the probability of blue (class 1), sigmoid(concept_blue - concept_red), (n,), the
        second column of probabilities(). More classes: see probabilities()."""
        if self.n_classes != 2:
            raise ValueError(f"P(blue) is for two classes; this network has {self.n_classes}")
        concepts = self.concepts(points)
        return _sigmoid(concepts[:, 1] - concepts[:, 0])

    def probabilities(self, points: np.ndarray) -> np.ndarray:
        """Each class's probability, the softmax of the concepts (their output layer): (n, n_classes)."""
        return softmax(self.concepts(points))

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The class with the largest concept value (ties: the lower class), (n,) int64."""
        return np.argmax(self.concepts(points), axis=1).astype(np.int64)

    def differentia_influence(self) -> np.ndarray:
        """(n_training_samples, n_differentiae): |dual coefficient| of each training sample in each
        differentia neuron's SVM, 0 where it is not one of its support vectors."""
        influence = np.zeros((len(self.sample_subconcept), self.n_differentiae))
        for k, (indices, coef) in enumerate(zip(self.support_indices, self.support_coef, strict=True)):
            influence[indices, k] = np.abs(coef)
        return influence

    def differentia_label(self, k: int) -> str:
        """E.g. "red A | blue B": the two subconcepts differentia neuron k tells apart."""
        first, second = self.differentia_pairs[k]
        return f"{self.subconcept_names[first]} | {self.subconcept_names[second]}"

    def explain(self, point: np.ndarray, reasons: int = 3, most: int = 3) -> str:
        """Which subconcept neurons fire at this point (the `most` strongest) and the `reasons` differentiae
        that contribute most to each (largest v_jk * d_k > 0), then the prediction with the probability of the
        predicted class, e.g. "Fires: blue B (because: red A | blue B → blue B side). Prediction: blue
        (0.97)"."""
        d = self.differentia(point)[0]
        s = self._subconcepts_from(d[None, :])[0]
        concepts = self._concepts_from(s[None, :])
        predicted = int(np.argmax(concepts[0]))
        confidence = float(softmax(concepts)[0, predicted])
        prediction = f"Prediction: {self.class_names[predicted]} ({confidence:.2f})"
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
        """Every weight and label, keyed "essence/<name>", for an npz export (no pickled objects); the support
        vectors count-prefixed (for each neuron its count, then that many values)."""
        s = self.settings
        return {
            "essence/class_names": np.array(self.class_names, dtype=str),
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
            "essence/support_indices": _flat(self.support_indices, np.int64),
            "essence/support_coef": _flat(self.support_coef, np.float64),
            "essence/subconcept_support_indices": _flat(self.subconcept_support_indices, np.int64),
            "essence/subconcept_support_coef": _flat(self.subconcept_support_coef, np.float64),
        }


def build_essence(
    samples: SampleSet,
    settings: EssenceSettings = EssenceSettings(),  # noqa: B008 - frozen, so sharing the default is safe
    per_class: int | None = None,
) -> EssenceNetwork:
    """Build the ENN for these samples (see the module docstring): `per_class` None finds the subconcepts by
    the authors' splitting, N cuts each class into N (fewer where a class has fewer samples). Deterministic.
    Raises EssenceError for samples it cannot use."""
    parts = construct(samples, settings, per_class)
    for name in ("subconcept_class", "sample_subconcept"):
        parts[name] = _frozen(parts[name], np.int64)
    for name in ("differentia_w", "differentia_b", "subconcept_v", "subconcept_c", "concept_w", "concept_b"):
        parts[name] = _frozen(parts[name], np.float64)
    for name, dtype in (
        ("support_indices", np.int64),
        ("support_coef", np.float64),
        ("subconcept_support_indices", np.int64),
        ("subconcept_support_coef", np.float64),
    ):
        parts[name] = tuple(_frozen(values, dtype) for values in parts[name])  # fmt: skip
    return EssenceNetwork(**parts, settings=settings)


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
