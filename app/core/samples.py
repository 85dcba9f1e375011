"""The training samples as an immutable, versioned value: points, labels 0..k-1 and the k class names.

Every edit returns a new ``SampleSet``, so the training thread can hold one safely while the user edits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.core.network import MAX_CLASSES, MIN_CLASSES

RED = 0
BLUE = 1
CLASS_NAMES = ("red", "blue")  # the two classes' names, and the first two of every set's default names
# The largest |x| or |y| of a sample: 1,000 times the soak's largest data (the clusters times 1e12), below
# 2**53 (9.0e15), so integers typed into a CSV stay exact, and a view zoomed out 1e4 times around it spans
# 1e20, whose squares (1e40) are far from overflow (1.8e308). Near 1e305-1e307 plotting failed ("Cannot set
# range [-inf, inf]") and geometry and influence overflowed to NaN; at 1e100 the window stopped answering.
MAX_COORDINATE = 1e15


def default_class_names(classes: int) -> tuple[str, ...]:
    """The names of a set of `classes` classes that has none of its own: red, blue, class 3, ..., class k
    (numbered as the keys 1 to 8 that choose them)."""
    return CLASS_NAMES + tuple(f"class {k}" for k in range(3, classes + 1))


GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 0.6180339887...: the most evenly spreading rotation of the circle
SEED_STEP = math.sqrt(2.0) - 1.0  # each seed shifts the dither sequence by this much (mod 1)


def test_mask(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Which of n samples are held out for testing (True) at this fraction, as a read-only bool array.

    Sample i's membership depends only on i, fraction and seed, never on n, so appending samples never moves
    an earlier sample between the parts. The held-out count of every prefix is within 1 of fraction * length:
    error diffusion with a dither threshold u_i = frac(seed * (sqrt 2 - 1) + (i + 1) * 0.618...) decides,
    so at fraction 0.5 each pair (2k, 2k+1) gives exactly one test sample, the first or the second.
    """
    if n < 0:
        raise ValueError(f"the number of samples must not be negative, not {n}")
    _check_test_fraction(fraction)
    return _test_mask(int(n), float(fraction), int(seed))


test_mask.__test__ = False  # its name starts with "test": keep pytest from collecting it where imported


def _check_test_fraction(fraction: float) -> None:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the test fraction must be at least 0 and below 1, not {fraction!r}")


@lru_cache(maxsize=8)
def _test_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if fraction > 0.0:
        thresholds = ((seed * SEED_STEP) % 1.0 + np.arange(1, n + 1) * GOLDEN) % 1.0
        held = 0
        for i, threshold in enumerate(thresholds.tolist()):
            if fraction * (i + 1) - held > threshold:  # the held-out deficit so far, dithered
                mask[i] = True
                held += 1
    mask.flags.writeable = False
    return mask


def _check_point(x: float, y: float) -> None:
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"sample coordinates must be finite numbers, not ({x}, {y})")


def _check_names(names: tuple[str, ...]) -> None:
    """Class names a CSV file gives back as they were: 2 to MAX_CLASSES distinct names, each text without
    spaces around it or line ends, none a number, red and blue (any case) only as classes 0 and 1."""
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise ValueError(f"a sample set has {MIN_CLASSES} to {MAX_CLASSES} classes, not {len(names)}")
    for k, name in enumerate(names):
        if not isinstance(name, str) or not name or name != name.strip() or "\n" in name or "\r" in name:
            raise ValueError(f"class names must be text without spaces around it or line ends, not {name!r}")
        if _is_number(name):
            raise ValueError(f"a class name must not be a number, not {name!r}")
        if name.lower() in CLASS_NAMES and CLASS_NAMES.index(name.lower()) != k:
            raise ValueError(f"{name!r} names class {CLASS_NAMES.index(name.lower())}, not class {k}")
    if len(set(names)) != len(names):
        raise ValueError(f"class names must differ from each other: {', '.join(names)}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Points (n, 2) float64 and labels (n,) int64, read-only; ``version`` counts edits; ``class_names`` has
    one name per class (k = ``classes``, 2 to MAX_CLASSES), each label is 0 to k - 1. Two classes are red (0,
    RED) and blue (1, BLUE). Every coordinate is finite and within ±MAX_COORDINATE, else the constructor (so
    every edit) raises ValueError. Edits keep the class names, except that a sample of a class beyond the last
    one adds the classes up to it (with default names), and ``with_classes`` sets their number."""

    points: np.ndarray
    labels: np.ndarray
    version: int = 0
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        points = np.array(self.points, dtype=np.float64)
        if points.size == 0:
            points = points.reshape(0, 2)
        raw_labels = np.asarray(self.labels)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must have shape (n, 2), not {points.shape}")
        if raw_labels.shape != (len(points),):
            raise ValueError(f"labels must have shape ({len(points)},), not {raw_labels.shape}")
        if not np.isfinite(points).all():
            raise ValueError("sample coordinates must be finite numbers (found NaN or infinity)")
        if points.size and max(-points.min(), points.max()) > MAX_COORDINATE:
            worst = points.flat[np.argmax(np.abs(points))]
            raise ValueError(f"sample coordinates must lie within ±{MAX_COORDINATE:g}, not {float(worst)!r}")
        if not isinstance(self.class_names, list | tuple):
            raise ValueError(f"class names must be a tuple of names, not {type(self.class_names).__name__}")
        names = tuple(self.class_names)
        _check_names(names)
        if not np.isin(raw_labels, np.arange(len(names))).all():
            raise ValueError(_label_rule(names))
        labels = raw_labels.astype(np.int64)
        points.flags.writeable = False
        labels.flags.writeable = False
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "class_names", names)

    @classmethod
    def empty(cls, class_names: tuple[str, ...] = CLASS_NAMES) -> SampleSet:
        return cls(np.empty((0, 2)), np.empty(0, dtype=np.int64), 0, class_names)

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> int:
        """k, the number of classes (some may have no sample)."""
        return len(self.class_names)

    @property
    def class_counts(self) -> tuple[int, ...]:
        """The samples of each class, k counts: (red, blue) for two classes."""
        return tuple(np.bincount(self.labels, minlength=self.classes).tolist())

    def _edited(self, points: np.ndarray, labels: np.ndarray) -> SampleSet:
        return SampleSet(points, labels, self.version + 1, self._names_for(labels))

    def _names_for(self, labels: np.ndarray) -> tuple[str, ...]:
        """The class names, with default names added for classes beyond the last one that `labels` hold
        (up to MAX_CLASSES; beyond, the constructor names the rule)."""
        top = int(labels.max()) + 1 if len(labels) else 0
        if top > MAX_CLASSES:
            raise ValueError(f"a sample's class must be 0 to {MAX_CLASSES - 1}, not {top - 1}")
        if self.classes < top:
            return self.class_names + default_class_names(top)[self.classes :]
        return self.class_names

    def with_classes(self, classes: int) -> SampleSet:
        """The set with `classes` classes: new ones get default names, and fewer drop the samples of the
        classes beyond."""
        if not MIN_CLASSES <= classes <= MAX_CLASSES:
            raise ValueError(f"a sample set has {MIN_CLASSES} to {MAX_CLASSES} classes, not {classes}")
        names = (self.class_names + default_class_names(classes)[self.classes :])[:classes]
        keep = self.labels < classes
        return SampleSet(self.points[keep], self.labels[keep], self.version + 1, names)

    def _index(self, index: int) -> int:
        if not -self.n <= index < self.n:
            raise IndexError(f"sample index {index} out of range for {self.n} samples")
        return index % self.n

    def with_sample(self, x: float, y: float, label: int) -> SampleSet:
        _check_point(x, y)
        if label not in range(MAX_CLASSES):
            raise ValueError(f"a sample's class must be 0 to {MAX_CLASSES - 1}, not {label!r}")
        return self._edited(np.vstack([self.points, [[x, y]]]), np.append(self.labels, label))

    def without_sample(self, index: int) -> SampleSet:
        i = self._index(index)
        return self._edited(np.delete(self.points, i, axis=0), np.delete(self.labels, i))

    def cleared(self) -> SampleSet:
        return self._edited(np.empty((0, 2)), np.empty(0, dtype=np.int64))

    def with_samples(self, points: np.ndarray, labels: np.ndarray) -> SampleSet:
        """Appends several samples at once (a brush stroke, an import)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self._edited(np.vstack([self.points, points]), np.append(self.labels, labels))

    def without_samples(self, indices) -> SampleSet:
        keep = np.ones(self.n, bool)
        keep[[self._index(i) for i in indices]] = False
        return self._edited(self.points[keep], self.labels[keep])

    def shifted_samples(self, indices, dx: float, dy: float) -> SampleSet:
        """Moves the given samples by (dx, dy)."""
        _check_point(dx, dy)
        points = self.points.copy()
        points[[self._index(i) for i in indices]] += (dx, dy)
        return self._edited(points, self.labels)

    def nearest(self, x: float, y: float) -> tuple[int, float]:
        """Index of the sample nearest to (x, y) and its distance; (-1, inf) when there is none."""
        if self.n == 0:
            return -1, float("inf")
        distances = np.hypot(self.points[:, 0] - x, self.points[:, 1] - y)
        i = int(np.argmin(distances))
        return i, float(distances[i])

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the points, never zero-width, so a view can always be fitted to it."""
        if self.n == 0:
            return -1.0, 1.0, -1.0, 1.0
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        flat = lo == hi
        lo, hi = np.where(flat, lo - 1.0, lo), np.where(flat, hi + 1.0, hi)
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    def split(self, test_fraction: float = 0.0, seed: int = 0) -> tuple[SampleSet, SampleSet]:
        """(training part, test part) by test_mask(n, test_fraction, seed); both keep this version."""
        mask = test_mask(self.n, test_fraction, seed)
        train = SampleSet(self.points[~mask], self.labels[~mask], self.version, self.class_names)
        test = SampleSet(self.points[mask], self.labels[mask], self.version, self.class_names)
        return train, test

    def training_problem(self, test_fraction: float = 0.0, seed: int = 0) -> str | None:
        """None when the samples can be trained on, else a reason to show the user. Two classes need both;
        more need at least two of them (a class without samples is learnt as never there). With a test
        fraction, the training part (see test_mask) must hold them too."""
        _check_test_fraction(test_fraction)
        if self.n == 0:
            return "Add some samples to train: the canvas is empty."
        if self.classes == 2:
            red, blue = self.class_counts
            if blue == 0:
                return "Training needs both classes: add a blue sample (right-click)."
            if red == 0:
                return "Training needs both classes: add a red sample (left-click)."
        elif np.count_nonzero(self.class_counts) < 2:
            only = self.class_names[int(self.labels[0])]
            return f"Training needs two classes or more: every sample is {only}; add another class's samples."
        if test_fraction == 0.0:
            return None
        training_labels = self.labels[~test_mask(self.n, test_fraction, seed)]
        missing = None
        if len(training_labels) == 0:
            missing = "is empty"
        elif self.classes > 2:
            missing = "has samples of one class only" if len(np.unique(training_labels)) < 2 else None
        elif not training_labels.any():
            missing = "has no blue sample"
        elif training_labels.all():
            missing = "has no red sample"
        if missing:
            return (
                f"With a test fraction of {test_fraction:g}, the training part {missing}: "
                "add samples or lower the test fraction."
            )
        return None


def _label_rule(names: tuple[str, ...]) -> str:
    if len(names) == 2:
        return f"a label must be {RED} ({names[0]}) or {BLUE} ({names[1]})"
    return f"a label must be 0 to {len(names) - 1} (one of {len(names)} classes)"
