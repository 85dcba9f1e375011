"""The red/blue training samples as an immutable, versioned value, with the built-in presets and CSV files.

Every edit returns a new ``SampleSet``, so the training thread can hold one safely while the user edits.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

RED = 0
BLUE = 1
CLASS_NAMES = ("red", "blue")


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


def _check_label(label: int) -> None:
    if label not in (RED, BLUE):
        raise ValueError(f"a label must be {RED} (red) or {BLUE} (blue), not {label!r}")


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Points (n, 2) float64 and labels (n,) int64 (0 red, 1 blue), read-only; ``version`` counts edits."""

    points: np.ndarray
    labels: np.ndarray
    version: int = 0

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
        if not np.isin(raw_labels, (RED, BLUE)).all():
            raise ValueError(f"labels must be {RED} (red) or {BLUE} (blue)")
        labels = raw_labels.astype(np.int64)
        points.flags.writeable = False
        labels.flags.writeable = False
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def empty(cls) -> SampleSet:
        return cls(np.empty((0, 2)), np.empty(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def class_counts(self) -> tuple[int, int]:
        blue = int(self.labels.sum())
        return self.n - blue, blue

    def _edited(self, points: np.ndarray, labels: np.ndarray) -> SampleSet:
        return SampleSet(points, labels, self.version + 1)

    def _index(self, index: int) -> int:
        if not -self.n <= index < self.n:
            raise IndexError(f"sample index {index} out of range for {self.n} samples")
        return index % self.n

    def with_sample(self, x: float, y: float, label: int) -> SampleSet:
        _check_point(x, y)
        _check_label(label)
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
        train = SampleSet(self.points[~mask], self.labels[~mask], self.version)
        test = SampleSet(self.points[mask], self.labels[mask], self.version)
        return train, test

    def training_problem(self, test_fraction: float = 0.0, seed: int = 0) -> str | None:
        """None when the samples can be trained on, else a reason to show the user. With a test fraction,
        the training part (see test_mask) must hold both classes too."""
        _check_test_fraction(test_fraction)
        if self.n == 0:
            return "Add some samples to train: the canvas is empty."
        red, blue = self.class_counts
        if blue == 0:
            return "Training needs both classes: add a blue sample (right-click)."
        if red == 0:
            return "Training needs both classes: add a red sample (left-click)."
        if test_fraction == 0.0:
            return None
        training_labels = self.labels[~test_mask(self.n, test_fraction, seed)]
        missing = None
        if len(training_labels) == 0:
            missing = "is empty"
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


def _gaussian_clusters(
    seed: int, centres: list[tuple[float, float]], labels: list[int], std: float, per_cluster: int
) -> SampleSet:
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(c, std, size=(per_cluster, 2)) for c in centres])
    return SampleSet(points, np.repeat(labels, per_cluster))


def _clusters(seed: int) -> SampleSet:
    # A zig-zag of alternating columns: no straight line separates it, a 2-4-4-1 network can.
    centres = [(-2.0, -1.0), (0.0, 1.5), (2.0, -1.0), (-2.0, 1.5), (0.0, -1.0), (2.0, 1.5)]
    return _gaussian_clusters(seed, centres, [RED] * 3 + [BLUE] * 3, std=0.28, per_cluster=25)


def _xor(seed: int) -> SampleSet:
    centres = [(sx * 1.5, sy * 1.5) for sx in (-1, 1) for sy in (-1, 1)]
    labels = [BLUE if cx * cy > 0 else RED for cx, cy in centres]
    return _gaussian_clusters(seed, centres, labels, std=0.4, per_cluster=40)


# scikit-learn is imported where a preset needs it: it takes a second, which every start would pay.
def _circles(seed: int) -> SampleSet:
    from sklearn.datasets import make_circles

    points, labels = make_circles(n_samples=200, noise=0.08, factor=0.5, random_state=seed)
    return SampleSet(points * 2.5, labels)


def _moons(seed: int) -> SampleSet:
    from sklearn.datasets import make_moons

    points, labels = make_moons(n_samples=200, noise=0.1, random_state=seed)
    return SampleSet((points - (0.5, 0.25)) * 1.5, labels)


def _spirals(seed: int) -> SampleSet:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, 100)
    radius, angle = 0.3 + 2.5 * t, 3.0 * np.pi * t
    arm = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    points = np.concatenate([arm, -arm]) + rng.normal(0.0, 0.08, size=(200, 2))  # -arm: turned by 180 degrees
    return SampleSet(points, np.repeat([RED, BLUE], 100))


def _blobs(seed: int) -> SampleSet:
    from sklearn.datasets import make_blobs

    points, labels = make_blobs(
        n_samples=200, centers=[(-1.0, -1.0), (1.0, 1.0)], cluster_std=0.8, random_state=seed
    )
    return SampleSet(points, labels)


PRESETS: dict[str, Callable[[int], SampleSet]] = {
    "clusters": _clusters,
    "xor": _xor,
    "circles": _circles,
    "moons": _moons,
    "spirals": _spirals,
    "blobs": _blobs,
}
PRESET_LABELS = {
    "clusters": "Clusters",
    "xor": "XOR",
    "circles": "Circles",
    "moons": "Moons",
    "spirals": "Spirals",
    "blobs": "Gaussian blobs",
}
DEFAULT_PRESET = "clusters"


def make_preset(name: str, seed: int = 0) -> SampleSet:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name](seed)


class CsvError(ValueError):
    """A sample file that cannot be read; the message names the line (1-based) and the reason."""


def _label_codes(names: set[str]) -> dict[str, int]:
    if names <= {"0", "1"}:
        return {name: int(name) for name in names}
    if {name.lower() for name in names} <= set(CLASS_NAMES):
        return {name: CLASS_NAMES.index(name.lower()) for name in names}
    return {name: code for code, name in enumerate(sorted(names))}


def read_csv(path: str | os.PathLike[str]) -> SampleSet:
    """Columns x, y, label with an optional header row; labels 0/1, red/blue, or any two distinct strings."""
    with open(path, "rb") as f:
        data = f.read()
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise CsvError(f"line {line}: not text (a NUL byte; is this a binary file?)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CsvError(f"line {line}: not UTF-8 text (is this a binary file?)") from None
    points: list[tuple[float, float]] = []
    names: list[str] = []
    first_line: dict[str, int] = {}
    seen_row = False
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != 3:
                raise CsvError(f"line {line}: expected 3 columns (x, y, label), found {len(row)}")
            is_first, seen_row = not seen_row, True
            try:
                x, y = float(row[0]), float(row[1])
            except ValueError:
                if is_first:
                    continue  # the header row
                raise CsvError(f"line {line}: x and y must be numbers, not {row[0]!r}, {row[1]!r}") from None
            if not (math.isfinite(x) and math.isfinite(y)):
                raise CsvError(f"line {line}: coordinates must be finite, found {row[0]!r}, {row[1]!r}")
            name = row[2].strip()
            if not name:
                raise CsvError(f"line {line}: the label is empty")
            first_line.setdefault(name, line)
            if len(first_line) > 2:
                raise CsvError(f"line {line}: a third label {name!r}; only two classes are allowed")
            points.append((x, y))
            names.append(name)
    except csv.Error as e:
        raise CsvError(f"line {reader.line_num}: {e}") from None
    if not points:
        raise CsvError("the file holds no samples (it is empty or has only a header)")
    codes = _label_codes(set(names))
    return SampleSet(np.array(points), np.array([codes[name] for name in names]))


def write_csv(samples: SampleSet, path: str | os.PathLike[str]) -> None:
    """Write a header and one ``x,y,label`` row per sample; floats in repr precision round-trip exactly."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "label"])
        for (x, y), label in zip(samples.points.tolist(), samples.labels.tolist(), strict=True):
            writer.writerow([repr(x), repr(y), label])
