"""The red/blue training samples as an immutable, versioned value, with the built-in presets and CSV files.

Every edit returns a new ``SampleSet``, so the training thread can hold one safely while the user edits.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.core.output_file import Paths, write_atomically

RED = 0
BLUE = 1
CLASS_NAMES = ("red", "blue")
# The largest |x| or |y| of a sample: 1,000 times the soak's largest data (the clusters times 1e12), below
# 2**53 (9.0e15), so integers typed into a CSV stay exact, and a view zoomed out 1e4 times around it spans
# 1e20, whose squares (1e40) are far from overflow (1.8e308). Near 1e305-1e307 plotting failed ("Cannot set
# range [-inf, inf]") and geometry and influence overflowed to NaN; at 1e100 the window stopped answering.
MAX_COORDINATE = 1e15


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
    """Points (n, 2) float64 and labels (n,) int64 (0 red, 1 blue), read-only; ``version`` counts edits.
    Every coordinate is finite and within ±MAX_COORDINATE, else the constructor (so every edit) raises
    ValueError."""

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
        if points.size and max(-points.min(), points.max()) > MAX_COORDINATE:
            worst = points.flat[np.argmax(np.abs(points))]
            raise ValueError(f"sample coordinates must lie within ±{MAX_COORDINATE:g}, not {float(worst)!r}")
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


PRESETS = dict(clusters=_clusters, xor=_xor, circles=_circles, moons=_moons, spirals=_spirals, blobs=_blobs)
PRESET_LABELS = dict(clusters="Clusters", xor="XOR", circles="Circles", moons="Moons", spirals="Spirals",
                     blobs="Gaussian blobs")  # fmt: skip
DEFAULT_PRESET = "clusters"


def make_preset(name: str, seed: int = 0) -> SampleSet:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name](seed)


class CsvError(ValueError):
    """A sample file that cannot be read; the message names the line (1-based) and the reason."""


class CsvCancelled(CsvError):
    """read_csv stopped because its progress callback returned False."""


MAX_SAMPLES = 1_000_000  # 20 times the soak's largest set (50,000): 24 MB; epochs and redraws grow with it
MAX_LINE_CHARS = 65_536  # a row needs < 100; below the csv module's field limit (131,072), so named first
BLOCK_BYTES = 64 * 1024  # read and parsed at a time: beside the samples' arrays, memory stays under 2 MB
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs"}
UNCLOSED = "a quote opened on this line is not closed on it"
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")]  # fmt: skip


def read_csv(path: str | os.PathLike[str], progress: Callable[[float], bool] | None = None) -> SampleSet:
    """The samples of a CSV file: columns x, y, label, one sample a line, an optional header row first.

    Text: UTF-8 (a BOM allowed), UTF-16 or UTF-32 with a BOM, or UTF-16 without one where every other byte
    is NUL. Separator: a comma, or a semicolon or tab (then decimal commas are allowed) when that and not a
    comma splits the first lines (up to 20) into three columns. A quoted field ends on its line. Labels: 0, 1
    (or numbers equal to them), red and blue (any case) mean red and blue, mixed as they come ({red, 1}: red,
    blue); any other name beside one of those is the other class ({red, dog}: dog is blue; {1, 2}: 2 is red);
    two other names are sorted, as numbers if both are, else as text, and the first is red ({dog, cat}: cat).

    CsvError names the line of: what is not text, a wrong column count, coordinates not numbers, not finite
    or beyond ±MAX_COORDINATE, an empty or third label, an unclosed quote, more than MAX_SAMPLES samples, a
    line over MAX_LINE_CHARS characters. The file is read BLOCK_BYTES at a time into arrays of the most rows
    it can hold, so memory stays near the samples' 24 bytes each. `progress(fraction of the file read, 0.0
    where the size is unknown)`, if given, is called after each block; False stops with CsvCancelled.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size  # 0 for a pipe or a device
        rows = _Rows(min(MAX_SAMPLES, size // 6 + 1) if size else MAX_SAMPLES)  # a row takes 6 bytes or more
        for first, lines in _blocks(f, size, progress):
            rows.feed(first, lines)
    return rows.samples()


def _encoding(head: bytes) -> tuple[str, int]:
    """(codec, BOM length) of a file starting with `head`: its BOM's; UTF-16 if every other byte is NUL; UTF-8
    otherwise."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    even, odd = head[0 : len(head) // 2 * 2 : 2], head[1::2]
    for codec, text, zeros in (("utf-16-le", even, odd), ("utf-16-be", odd, even)):
        if len(zeros) >= 2 and 0 not in text and zeros.count(0) >= 0.9 * len(zeros):
            return codec, 0
    return "utf-8", 0


def _blocks(f, size: int, progress: Callable[[float], bool] | None) -> Iterator[tuple[int, list[str]]]:
    r"""(number of the first line, the complete lines) of each block of the binary file `f` in turn, decoded
    and split at line ends (\n, \r\n, or \r in a file whose first line ends with a lone \r)."""
    data = f.read(BLOCK_BYTES)
    codec, bom = _encoding(data[:4096])
    data, name = data[bom:], codec[:6].upper()
    decoder = codecs.getincrementaldecoder(codec)()
    first, rest, end = 1, "", None  # the first line's number, the unfinished line, the line end
    while True:
        nul = data.find(b"\x00") if codec == "utf-8" else -1  # before decoding: a NUL says "binary" best
        try:
            text = rest + decoder.decode(data[: nul if nul >= 0 else len(data)], final=not data)
        except UnicodeDecodeError as e:
            line = first + rest.count(end or "\n") + data[: e.start].count((end or "\n").encode(codec))
            raise CsvError(f"line {line}: not {name} text (is this a binary file?)") from None
        nul = text.find("\x00") if nul < 0 else len(text)
        if nul >= 0:
            line = first + text[:nul].count(end or "\n")
            raise CsvError(f"line {line}: not text (a NUL byte; is this a binary file?)")
        end = end or ("\n" if "\n" in text else "\r" if "\r" in text[:-1] else None)  # \r\n may be split
        lines = text.split(end or "\n")
        rest = lines.pop() if data else ""
        if len(rest) > MAX_LINE_CHARS or (lines and max(map(len, lines)) > MAX_LINE_CHARS):
            long = next((i for i, line in enumerate(lines) if len(line) > MAX_LINE_CHARS), len(lines))
            raise CsvError(f"line {first + long}: longer than {MAX_LINE_CHARS:,} characters")
        yield first, lines
        first += len(lines)
        if progress is not None and not progress(min(1.0, f.tell() / size) if size else 0.0):
            raise CsvCancelled("the import was cancelled")
        if not data:
            return
        data = f.read(BLOCK_BYTES)


class _Rows:
    """The samples of a CSV file as its blocks come (see read_csv), in arrays of the most rows it can hold."""

    def __init__(self, capacity: int) -> None:
        self.separator, self.header_done = None, False  # header_done: a first row (header or sample) is read
        self.keys: dict[int | str, int] = {}  # RED or BLUE for a class name, else the label: its index
        self.indices: dict[str, int] = {}  # a label cell as written: its key's index
        self.points, self.labels, self.n = np.empty((capacity, 2)), np.empty(capacity, np.int8), 0

    def feed(self, first: int, lines: list[str]) -> None:
        self.separator = self.separator or _separator(lines)
        separator, header_done, indices = self.separator or ",", self.header_done, self.indices
        values, room = [], MAX_SAMPLES - self.n  # (x, y, label index) of each sample of the block
        reader, start = csv.reader(lines, delimiter=separator, strict=True), 0  # lines read before this row
        try:
            for row in reader:
                line, start, quote_ends = first + start, reader.line_num, reader.line_num == start + 1
                if not quote_ends:
                    raise CsvError(UNCLOSED)
                if len(row) != 3:
                    if not any(cell.strip() for cell in row):
                        continue
                    found = f"separated by {SEPARATORS[separator]}, found {len(row)}" + _hint(row, separator)
                    raise CsvError(f"expected 3 columns (x, y, label) {found}")
                try:
                    x, y = float(row[0]), float(row[1])
                except ValueError:
                    x, y = _number(row[0], separator), _number(row[1], separator)  # decimal commas
                    if x is None or y is None:
                        if header_done:
                            found = f"{_short(row[0])}, {_short(row[1])}" + _hint(row[:2], separator)
                            raise CsvError(f"x and y must be numbers, not {found}") from None
                        header_done = True  # the header row
                        continue
                header_done = True
                if not (abs(x) <= MAX_COORDINATE and abs(y) <= MAX_COORDINATE):
                    limit = f"lie within ±{MAX_COORDINATE:g}" if np.isfinite((x, y)).all() else "be finite"
                    raise CsvError(f"coordinates must {limit}, found {_short(row[0])}, {_short(row[1])}")
                index = indices[row[2]] if row[2] in indices else self._new_label(row[2])
                if len(values) == room:
                    raise CsvError(f"more than {MAX_SAMPLES:,} samples, the most the program takes")
                values.append((x, y, index))
        except csv.Error as e:
            reason = UNCLOSED if "unexpected end of data" in str(e) else str(e)
            raise CsvError(f"line {first + start}: {reason}") from None
        except CsvError as e:
            raise CsvError(f"line {line}: {e}") from None
        self.header_done, n, block = header_done, self.n, np.array(values).reshape(-1, 3)
        if n + len(block) > len(self.labels):  # only when the file grew while it was read
            self.points = np.concatenate([self.points[:n], block[:, :2]])
            self.labels = np.concatenate([self.labels[:n], np.empty(len(block), np.int8)])
        self.points[n : n + len(block)], self.labels[n : n + len(block)] = block[:, :2], block[:, 2]
        self.n += len(block)

    def _new_label(self, cell: str) -> int:
        name = cell.strip()
        if not name:
            raise CsvError("the label is empty")
        key = name if _meaning(name) is None else _meaning(name)
        if key not in self.keys and len(self.keys) == 2:
            raise CsvError(f"a third label {_short(name)}; only two classes are allowed")
        self.indices[cell] = self.keys.setdefault(key, len(self.keys))
        return self.indices[cell]

    def samples(self) -> SampleSet:
        if self.n == 0:
            raise CsvError("the file holds no samples (it is empty or has only a header)")
        return SampleSet(self.points[: self.n], np.array(_classes(list(self.keys)))[self.labels[: self.n]])


def _number(text: str, separator: str = ",") -> float | None:
    """The number in `text`, or None; with a separator other than a comma, a decimal comma is allowed."""
    try:
        return float(text if separator == "," else text.replace(",", "."))
    except ValueError:
        return None


def _meaning(name: str) -> int | None:
    """RED or BLUE for a label that names a class: red or blue in any case, a number equal to 0 or 1."""
    value = CLASS_NAMES.index(name.lower()) if name.lower() in CLASS_NAMES else _number(name)
    return int(value) if value in (0.0, 1.0) else None


def _classes(keys: list[int | str]) -> list[int]:
    """The class of each label key (RED or BLUE for a class name, else the label) by read_csv's rule."""
    named = [key for key in keys if isinstance(key, int)]
    if named:
        return [key if isinstance(key, int) else 1 - named[0] for key in keys]
    values = [_number(key) for key in keys]
    order = values if all(value is not None and math.isfinite(value) for value in values) else keys
    return [sorted(order).index(value) for value in order]


def _separator(lines: list[str]) -> str | None:
    """Of comma, semicolon and tab, the first that splits each of the first non-blank lines (up to 20) into
    three columns, numbers in the first two after the first line; a comma if none does; None if no line."""
    sample = list(itertools.islice((line for line in lines if line.strip()), 20))
    for separator in SEPARATORS if sample else ():
        with contextlib.suppress(csv.Error):
            rows = list(csv.reader(sample, delimiter=separator, strict=True))
            numbers = [_number(cell, separator) for row in rows[1:] for cell in row[:2]]
            if all(len(row) == 3 for row in rows) and None not in numbers:
                return separator
    return "," if sample else None


def _hint(cells: list[str], separator: str) -> str:
    others = [other for other in SEPARATORS if other != separator and any(other in cell for cell in cells)]
    return f": is the file separated by {others[0]!r}?" if others else ""


def _short(cell: str) -> str:
    return repr(cell if len(cell) <= 40 else cell[:40] + "...")


def write_csv(samples: SampleSet, path: str | os.PathLike[str], inputs: Paths = ()) -> None:
    """Writes a header and one ``x,y,label`` row per sample (floats in repr precision read back exactly)
    through write_atomically: the previous file stays until the new one is complete, and a path that is a
    folder or one of `inputs` is refused with OutputRefused (an OSError) before anything is written."""

    def write(file) -> None:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["x", "y", "label"])
        for (x, y), label in zip(samples.points.tolist(), samples.labels.tolist(), strict=True):
            writer.writerow([repr(x), repr(y), label])
        text.detach()  # flushes, and leaves `file` open for write_atomically to sync

    write_atomically(path, write, inputs=inputs)
