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

import numpy as np
from sklearn.datasets import make_blobs, make_circles, make_moons

RED = 0
BLUE = 1
CLASS_NAMES = ("red", "blue")


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

    def moved_sample(self, index: int, x: float, y: float) -> SampleSet:
        i = self._index(index)
        _check_point(x, y)
        points = self.points.copy()
        points[i] = (x, y)
        return self._edited(points, self.labels)

    def cleared(self) -> SampleSet:
        return self._edited(np.empty((0, 2)), np.empty(0, dtype=np.int64))

    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the points, never zero-width, so a view can always be fitted to it."""
        if self.n == 0:
            return -1.0, 1.0, -1.0, 1.0
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        flat = lo == hi
        lo, hi = np.where(flat, lo - 1.0, lo), np.where(flat, hi + 1.0, hi)
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    def training_problem(self) -> str | None:
        """None when the samples can be trained on, else a reason to show the user."""
        if self.n == 0:
            return "Add some samples to train: the canvas is empty."
        red, blue = self.class_counts
        if blue == 0:
            return "Training needs both classes: add a blue sample (right-click)."
        if red == 0:
            return "Training needs both classes: add a red sample (left-click)."
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


def _circles(seed: int) -> SampleSet:
    points, labels = make_circles(n_samples=200, noise=0.08, factor=0.5, random_state=seed)
    return SampleSet(points * 2.5, labels)


def _moons(seed: int) -> SampleSet:
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
