"""Hostile CSV files: coordinates at the limit (must load, exactly) and past it (refused, naming the line),
in the window's import too; lines at the length limit and past it, lines of megabytes to a gigabyte (from a
file or an endless pipe: refused early, in bounded memory), the sample-count limit; and text in every
encoding the reader takes (must give the same samples), invalid bytes and NUL bytes (refused, naming their
line), devices that never end."""

from __future__ import annotations

import codecs
import itertools
import json

import numpy as np

from soak import hostile_files as make
from soak.common import deadline, pump
from soak.hostile_checks import (
    HANG_SECONDS,
    MAX_COORDINATE,
    MAX_LINE_CHARS,
    MAX_SAMPLES,
    MIB,
    SECONDS,
    Case,
    Context,
    csv_loads,
    written,
)

GIB = 2**30
AT_LIMIT = [
    "1e15",
    "-1e15",
    "1000000000000000",
    "-1000000000000000.0",
    "999999999999999.9",
    "1E+15",
    repr(MAX_COORDINATE),
    "+1e15",
]
PAST_LIMIT = [
    "1000000000000000.1",
    "1000000000000001",
    "-1000000000000001",
    "1e16",
    "1e100",
    "1e305",
    "-1e307",
    "1.7976931348623157e308",
    "1e309",
    "-1e309",
    "inf",
    "-Infinity",
    "nan",
]


def _cases(ctx: Context, name: str):
    """(cases, add): add(label, data, expect, verify=None, line=None, **options) appends a case that writes
    `data()` (bytes or text) as a CSV file and reads it: a refusal must name `line` when given."""
    folder = ctx.folder / name
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(label: str, data, expect: str, verify=None, line: int | None = None, **options) -> None:
        def check() -> str | None:
            path = written(folder, "case.csv", data())
            return csv_loads(path, expect, verify, line, **options)

        cases.append(Case(label, check))

    return cases, add, folder


def _samples_are(points: np.ndarray, labels: np.ndarray):
    def verify(samples) -> str | None:
        if samples.n != len(points):
            return f"{samples.n} samples, not {len(points)}"
        if not np.array_equal(samples.points, points):
            row = int(np.flatnonzero((samples.points != points).any(axis=1))[0])
            return f"sample {row} read as {samples.points[row].tolist()}, not {points[row].tolist()}"
        if not np.array_equal(samples.labels, labels):
            return f"labels {samples.labels[:8].tolist()}..., not {labels[:8].tolist()}..."
        return None

    return verify


def _expected(rows: list[tuple[str, str, str]], separator: str = ",", red: str = "red"):
    points = np.array([[float(x.replace(",", ".")), float(y.replace(",", "."))] for x, y, _ in rows])
    labels = np.array([0 if label.strip() == red else 1 for _, _, label in rows])
    return points.reshape(-1, 2), labels


# --- coordinates ------------------------------------------------------------------------------------------


def coordinate_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    cases, add, folder = _cases(ctx, "coordinates")
    for text in AT_LIMIT + PAST_LIMIT:
        for separator in (",", ";"):
            rows = make.csv_rows(rng, int(rng.integers(3, 40)))
            k, column, header = (
                int(rng.integers(len(rows) + 1)),
                int(rng.integers(2)),
                bool(rng.random() < 0.5),
            )
            row = list(make.csv_rows(rng, 1)[0])
            row[column] = text if separator == "," else text.replace(".", ",")  # a decimal comma
            rows.insert(k, tuple(row))
            data = make.csv_text(rows, header, separator)
            where = f"in column {'xy'[column]} of line {k + 1 + header}, separated by {separator!r}"
            if text in AT_LIMIT:
                add(f"a coordinate {text} {where}", lambda d=data: d, "load", _samples_are(*_expected(rows)))
            else:
                add(f"a coordinate {text} {where}", lambda d=data: d, "refuse", line=k + 1 + header)
    for text, expect in (("1e15", "load"), ("1e307", "refuse"), ("1e309", "refuse")):
        rows = make.csv_rows(rng, 20)
        rows[7] = (text, *rows[7][1:])
        data = make.csv_text(rows)
        cases.append(
            Case(
                f"the window imports a CSV with a coordinate {text} on line 9",
                lambda d=data, e=expect: _window_imports(ctx, folder, d, e),
            )
        )
    return cases


def _window_imports(ctx: Context, folder, text: str, expect: str) -> str | None:
    """File > Import CSV: a refused file changes nothing (samples, undo stack) and says why; a file at the
    limit replaces the samples and the canvas shows them."""
    window = ctx.window()
    path = written(folder, "import.csv", text)
    model = window.model
    before, undo = model.samples.points.copy(), model.undo_stack.count()
    ctx.shown.clear()
    with deadline(HANG_SECONDS):
        imported = window.files.import_csv(str(path))
        window.frames.draw_now()
        pump(20)
    if expect == "refuse":
        if imported:
            return "imported, not refused"
        if not np.array_equal(model.samples.points, before) or model.undo_stack.count() != undo:
            return "refused, but the samples or the undo stack changed"
        return None if ctx.shown else "refused without a message"
    return None if imported else f"not imported: {ctx.shown[-1:]}"


# --- long lines and many rows -----------------------------------------------------------------------------


def _row_of(length: int, column: int) -> tuple[str, str, str]:
    """A row (0.5, 1.5, red) padded to `length` characters in `column` (zeros before a number, spaces after
    the label)."""
    cells = ["0.5", "1.5", "red"]
    pad = length - len(",".join(cells))
    cells[column] = "0" * pad + cells[column] if column < 2 else cells[column] + " " * pad
    return cells[0], cells[1], cells[2]


def long_line_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    cases, add, folder = _cases(ctx, "long_lines")
    for length, expect in ((MAX_LINE_CHARS, "load"), (MAX_LINE_CHARS + 1, "refuse")):
        for column, place in itertools.product(range(3), ("first", "middle", "last, with no line end")):
            rows = make.csv_rows(rng, 10)
            k = {"first": 0, "middle": 5, "last, with no line end": 10}[place]
            rows.insert(k, _row_of(length, column))
            text = make.csv_text(rows, header=False)
            text = text[:-1] if place.startswith("last") else text
            label = f"a line of {length:,} characters (column {column + 1}), {place}"
            if expect == "load":
                points, labels = _expected(rows)
                add(label, lambda t=text: t, "load", _samples_are(points, labels))
            else:
                add(label, lambda t=text: t, "refuse", line=k + 1)
    add(
        f"a header of {MAX_LINE_CHARS + 1:,} characters",
        lambda: "x" * (MAX_LINE_CHARS + 1) + "\n1,2,red\n",
        "refuse",
        line=1,
    )
    big = 16 * MIB if ctx.quick else 512 * MIB
    for ending in ("\n", "\r"):
        add(
            f"a line of {big:,} digits on line 3 (lines ending {ending!r})",
            lambda e=ending: e.join(["0,1,red", "1,0,blue", "1" * big, "2,2,red"]) + e,
            "refuse",
            line=3,
            size=0,
        )
    add(
        f"{big:,} bytes with no line end",
        lambda: b"7" * big,
        "refuse",
        line=1,
        size=0,
    )
    blank = 100_000 if ctx.quick else 2_000_000
    add(
        f"{blank:,} blank lines",
        lambda: "\n" * blank,
        "refuse",
        size=0,
    )
    add(
        "a quote opened on line 4 and never closed, 10,000 lines before the end",
        lambda: make.csv_text(make.csv_rows(rng, 3), header=False) + '"5,6,red\n' + "1,2,blue\n" * 10_000,
        "refuse",
        line=4,
    )
    if not ctx.quick:
        for n, expect in ((MAX_SAMPLES, "load"), (MAX_SAMPLES + 1, "refuse")):
            body = "x,y,label\n" + "0,0,red\n1,1,blue\n" * (n // 2) + ("0,1,red\n" if n % 2 else "")
            add(
                f"{n:,} rows (the sample limit{'' if expect == 'load' else ' + 1'})",
                lambda b=body: b,
                expect,
                line=None if expect == "load" else n + 1,
                size=0,
                allowance=4 * 24 * n,
            )
        cases.append(
            Case(
                f"{GIB:,} bytes of digits on one line, through a pipe",
                lambda: _pipe(folder, make.repeated(b"1", GIB), "line 1:"),
            )
        )
        cases.append(
            Case(
                "endless rows through a pipe",
                lambda: _pipe(
                    folder,
                    itertools.repeat(b"0,0,red\n1,1,blue\n" * 4096, 10**6),
                    f"more than {MAX_SAMPLES:,} samples",
                ),
            )
        )
    return cases


def _pipe(folder, chunks, message: str) -> str | None:
    """read_csv on a FIFO fed with `chunks`: refused with `message`, in bounded memory, reading only part."""
    with make.fifo(folder, chunks) as (path, fed):
        problem = csv_loads(path, "refuse", message=message, size=0, seconds=6 * SECONDS, traced_apart=False)
    if problem is None and not fed:
        return "the pipe's writer did not finish"
    return problem


# --- encodings --------------------------------------------------------------------------------------------

ENCODINGS = [
    ("UTF-8", "utf-8", b""),
    ("UTF-8 with a BOM", "utf-8", codecs.BOM_UTF8),
    ("UTF-16 LE with a BOM", "utf-16-le", codecs.BOM_UTF16_LE),
    ("UTF-16 BE with a BOM", "utf-16-be", codecs.BOM_UTF16_BE),
    ("UTF-16 LE without a BOM", "utf-16-le", b""),
    ("UTF-16 BE without a BOM", "utf-16-be", b""),
    ("UTF-32 LE with a BOM", "utf-32-le", codecs.BOM_UTF32_LE),
    ("UTF-32 BE with a BOM", "utf-32-be", codecs.BOM_UTF32_BE),
]
BAD_BYTES = {
    "0xFF": b"\xff",
    "a lone 0xC3": b"\xc3(",
    "a surrogate": b"\xed\xa0\x80",
    "an overlong /": b"\xc0\xaf",
    "a code point past U+10FFFF": b"\xf4\x90\x80\x80",
}


def encoding_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    cases, add, folder = _cases(ctx, "encodings")
    short, long = make.csv_rows(rng, 30), make.csv_rows(rng, 4000)  # 4,000 rows cross 64 KiB blocks
    symbols = [(x, y, {"red": "\U0001f534", "blue": "\U0001f535"}[label]) for x, y, label in long]  # 🔴 🔵
    accents = [(x, y, {"red": "hiver", "blue": "\u00e9t\u00e9"}[label]) for x, y, label in long]  # été
    sets = {
        "30 rows": (short, "red"),
        "4,000 rows": (long, "red"),
        "4,000 rows labelled by emoji": (symbols, "\U0001f534"),
        "4,000 rows labelled hiver and été": (accents, "hiver"),
    }
    for (what, (rows, red)), (name, codec, bom), end in itertools.product(
        sets.items(), ENCODINGS, ("\n", "\r\n", "\r")
    ):
        if what.startswith("4,000 rows labelled") and end != "\n":
            continue
        data = bom + make.csv_text(rows, end=end).encode(codec)
        add(
            f"{what} in {name}, lines ending {end!r}",
            lambda d=data: d,
            "load",
            _samples_are(*_expected(rows, red=red)),
        )
    for separator in (";", "\t"):
        rows = [(x.replace(".", ","), y.replace(".", ","), label) for x, y, label in short]
        add(
            f"30 rows separated by {separator!r}, with decimal commas",
            lambda r=rows, s=separator: make.csv_text(r, separator=s),
            "load",
            _samples_are(*_expected(short)),
        )
    add("30 rows in UTF-32 without a BOM", lambda: make.csv_text(short).encode("utf-32-le"), "either")
    text = make.csv_text(long)
    for k in range(6):
        p = int(rng.integers(len(text)))
        line = text[:p].count("\n") + 1
        add(
            f"a NUL byte at character {p:,} (line {line})",
            lambda p=p: (text[:p] + "\0" + text[p:]).encode(),
            "refuse",
            line=line,
        )
        bad = list(BAD_BYTES)[k % len(BAD_BYTES)]
        add(
            f"{bad} at character {p:,} (line {line})",
            lambda p=p, b=BAD_BYTES[bad]: text[:p].encode() + b + text[p:].encode(),
            "refuse",
            line=line,
        )
    add(
        "a U+0000 character on line 5 of UTF-16 text",
        lambda: codecs.BOM_UTF16_LE + "\n".join(text.split("\n")[:4] + ["1,\0,red"]).encode("utf-16-le"),
        "refuse",
        line=5,
    )
    add(
        "UTF-8 cut in the middle of a character at the end",
        lambda: make.csv_text(short).encode() + "1,2,\u00e9".encode()[:-1],
        "refuse",
        line=32,
    )
    add("UTF-16 with an odd byte at the end", lambda: make.csv_text(short).encode("utf-16") + b"\n", "refuse")
    add(
        "a header in Latin-1 (labél)",
        lambda: make.csv_text(short).replace("label", "lab\u00e9l").encode("latin-1"),
        "refuse",
        line=1,
    )
    add(
        "a header in cp1252 (label€)",
        lambda: make.csv_text(short).replace("label", "label\u20ac").encode("cp1252"),
        "refuse",
        line=1,
    )
    add(
        "a label in Latin-1 on line 8",
        lambda: (
            make.csv_text(short[:6] + [("1", "2", "rouge")] + short[6:])
            .replace("rouge", "roug\u00e9")
            .encode("latin-1")
        ),
        "refuse",
        line=8,
    )
    for codec, bom in (("UTF-8", codecs.BOM_UTF8), ("UTF-16", codecs.BOM_UTF16_LE)):
        add(f"a {codec} BOM alone", lambda b=bom: b, "refuse")
    for device in ("/dev/zero", "/dev/urandom"):
        cases.append(Case(f"the device {device}", lambda d=device: csv_loads(d, "refuse", size=0)))
    cases += _manifest_encodings(ctx, rng)
    return cases


def _manifest_encodings(ctx: Context, rng: np.random.Generator) -> list[Case]:
    """Session manifests re-encoded: UTF-16, a BOM, Latin-1 text, a raw NUL in a string; and a view holding
    text of every plane, which must come back as it was."""
    from app.core.session import MANIFEST
    from soak.hostile_checks import session_loads

    folder = ctx.folder / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    view = {"note": "\u00e9t\u00e9 \u4e2d\u6587 \U0001f534 \u200b\ufeff"}
    entries = make.entries_of(make.session_bytes(ctx.folder, make.session()))
    text = entries[MANIFEST].decode()
    manifest = json.loads(text)
    viewed = json.dumps({**manifest, "view": view}, ensure_ascii=False)  # raw UTF-8, not \u escapes
    variants = {
        "in UTF-16": (text.encode("utf-16"), "refuse"),
        "with a UTF-8 BOM": (codecs.BOM_UTF8 + text.encode(), "either"),
        "with a view in Latin-1 (été)": (
            json.dumps({**manifest, "view": {"n": "\u00e9t\u00e9"}}, ensure_ascii=False).encode("latin-1"),
            "refuse",
        ),
        "with a raw NUL inside a string": (text.replace('"Unboxed"', '"Unb\0xed"', 1).encode(), "refuse"),
        "with a view of text from every plane, in raw UTF-8": (viewed.encode(), "load"),
    }

    def same_view(loaded) -> str | None:
        return None if loaded.view == view else f"the view came back as {loaded.view!r}"

    cases = []
    for what, (raw, expect) in variants.items():
        data = make.zipped({**entries, MANIFEST: raw})
        verify = same_view if expect == "load" else None
        check = lambda d=data, e=expect, v=verify: session_loads(written(folder, "case.unboxed", d), e, v)  # noqa: E731
        cases.append(Case(f"a session manifest {what}", check))
    return cases
