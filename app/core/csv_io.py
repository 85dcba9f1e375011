"""CSV files of samples: the block reader (any text encoding, progress, cancel, limits) and the writer.

Labels name classes as read_csv says; a set of two classes reads exactly as it did before more were allowed.
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

import numpy as np

from app.core.network import MAX_CLASSES
from app.core.output_file import Paths, write_atomically
from app.core.samples import CLASS_NAMES, MAX_COORDINATE, SampleSet, default_class_names


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
    (or numbers equal to them), red and blue (any case) are classes 0 (red) and 1 (blue), mixed as they come
    ({red, 1}: red, blue). With three labels or more (at most MAX_CLASSES) that are all such names or whole
    numbers 0 to 7, each number is its class ({0, 1, 2}; {0, 1, 5} has 6 classes, three of them empty). Else
    the other labels take the free classes from 0 up in sorted order, as numbers if all of them are, else as
    text: beside red or blue, another name is the other class ({red, dog}: dog is blue; {1, 2}: 2 is red); two
    other names: the first is red ({dog, cat}: cat); {blue, dog, cat}: cat red, dog class 2. A class whose
    label is a name (not a number) is called by it ({dog, cat}: class names cat, dog), the others by
    default_class_names ({0, 1, 2}: red, blue, class 3).

    CsvError names the line of: what is not text, a wrong column count, coordinates not numbers, not finite
    or beyond ±MAX_COORDINATE, an empty label or a label of a class past MAX_CLASSES, an unclosed quote, more
    than MAX_SAMPLES samples, a line over MAX_LINE_CHARS characters. The file is read BLOCK_BYTES at a time
    into arrays of the most rows it can hold, so memory stays near the samples' 24 bytes each.
    `progress(fraction of the file read, 0.0 where the size is unknown)`, if given, is called after each
    block; False stops with CsvCancelled.
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
        self.keys: dict[int | str, int] = {}  # 0 or 1 for a label that means red or blue, else the label
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
        if key not in self.keys and len(self.keys) == MAX_CLASSES:
            raise CsvError(f"{_short(name)} would be a {len(self.keys) + 1}th class; at most {MAX_CLASSES} "
                           "classes are allowed")
        self.indices[cell] = self.keys.setdefault(key, len(self.keys))
        return self.indices[cell]

    def samples(self) -> SampleSet:
        if self.n == 0:
            raise CsvError("the file holds no samples (it is empty or has only a header)")
        keys = list(self.keys)
        classes = _classes(keys)
        names = list(default_class_names(max(2, max(classes) + 1)))
        for key, k in zip(keys, classes, strict=True):
            if isinstance(key, str) and _number(key) is None:
                names[k] = key
        return SampleSet(self.points[: self.n], np.array(classes)[self.labels[: self.n]], 0, tuple(names))


def _number(text: str, separator: str = ",") -> float | None:
    """The number in `text`, or None; with a separator other than a comma, a decimal comma is allowed."""
    try:
        return float(text if separator == "," else text.replace(",", "."))
    except ValueError:
        return None


def _meaning(name: str) -> int | None:
    """0 or 1 for a label that means red or blue: red or blue in any case, a number equal to 0 or 1."""
    value = CLASS_NAMES.index(name.lower()) if name.lower() in CLASS_NAMES else _number(name)
    return int(value) if value in (0.0, 1.0) else None


def _classes(keys: list[int | str]) -> list[int]:
    """The class of each label key (0 or 1 for a label meaning red or blue, else the label) by read_csv's
    rule."""
    numbers = [key if isinstance(key, int) else _number(key) for key in keys]
    if len(keys) >= 3 and all(value in range(MAX_CLASSES) for value in numbers):
        return [int(value) for value in numbers]
    others = [key for key in keys if not isinstance(key, int)]
    values = [_number(key) for key in others]
    order = values if all(value is not None and math.isfinite(value) for value in values) else others
    free = [k for k in range(len(keys)) if k not in keys]  # the fixed classes are among 0 and 1
    distinct = sorted(set(order))  # equal numbers ("2", "2.0") are one class
    slot = {key: free[distinct.index(value)] for key, value in zip(others, order, strict=True)}
    return [key if isinstance(key, int) else slot[key] for key in keys]


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
    """Writes a header and one ``x,y,label`` row per sample (floats in repr precision read back exactly;
    the label a number 0 to k - 1, or the class's name where the set's names are not default_class_names)
    through write_atomically: the previous file stays until the new one is complete, and a path that is a
    folder or one of `inputs` is refused with OutputRefused (an OSError) before anything is written."""

    def write(file) -> None:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["x", "y", "label"])
        named = samples.class_names != default_class_names(samples.classes)
        cells = samples.class_names if named else range(samples.classes)
        for (x, y), label in zip(samples.points.tolist(), samples.labels.tolist(), strict=True):
            writer.writerow([repr(x), repr(y), cells[label]])
        text.detach()  # flushes, and leaves `file` open for write_atomically to sync

    write_atomically(path, write, inputs=inputs)
