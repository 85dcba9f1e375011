"""Hostile sessions: every bounded value at its bound (must load, and open in the window where it once
crashed) and one past it (must be refused), on the command line too; compression bombs of each method for the
manifest and for arrays, sizes that lie, and archives of many entries (refused in time and memory); and
data-change marks by the thousand to the million (loaded, drawn and appended to in time, at most one per
pixel column)."""

from __future__ import annotations

import math
import time

import numpy as np

from app.core.history import MIN_ROWS, default_max_rows
from app.core.network import MAX_LAYERS, MAX_WIDTH, NetworkSpec
from app.core.session import (
    CONFIG_TYPES,
    MANIFEST,
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_TOTAL_BYTES,
    MAX_WHOLE,
    SETTING_LIMITS,
)
from app.core.training import MAX_EPOCH
from soak import hostile_files as make
from soak.common import pump
from soak.hostile_checks import (
    MAX_COORDINATE,
    MAX_SAMPLES,
    MIB,
    SECONDS,
    Case,
    Context,
    session_loads,
    window_opens,
    written,
)

GIB = 2**30
MAX_SEED = 2**31 - 1
# Uncompressed sizes of the bombs by method. Stored bombs are as large as their files; bzip2 and LZMA are
# refused before anything is decompressed, so the quick run keeps them small (making them takes the time).
QUICK_BOMB_BYTES = {"stored": 32 * MIB, "deflated": 128 * MIB, "bzip2": 32 * MIB, "lzma": 32 * MIB}
FULL_BOMB_BYTES = {"stored": 32 * MIB, "deflated": GIB, "bzip2": GIB, "lzma": GIB}


def _cases(ctx: Context, folder):
    """(cases, add): add(label, data, expect, verify=None, window=False, **options) appends a case that
    writes `data()` as a session file and opens it (then, if `window`, in the main window too)."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(label: str, data, expect: str, verify=None, window: bool = False, **options) -> None:
        def check() -> str | None:
            path = written(folder, "case.unboxed", data())
            problem = session_loads(path, expect, verify, **options)
            if problem is None and window and expect == "load":
                problem = window_opens(ctx, path)
            return problem

        cases.append(Case(label, check))

    return cases, add


def _equal(what: str, get, value):
    def verify(session) -> str | None:
        found = get(session)
        return None if found == value else f"loaded with {what} {found!r}, not {value!r}"

    return verify


# --- values at and past their bounds -----------------------------------------------------------------------


def value_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    folder = ctx.folder / "values"
    cases, add = _cases(ctx, folder)
    base = make.session_bytes(ctx.folder, make.session())

    def edit(path: tuple, value):
        return lambda: make.with_manifest(base, path, value)

    def ends(epochs: int, **options):
        return lambda: make.session_bytes(ctx.folder, make.session(epochs=epochs, rows="ends", **options))

    for name, (low, high, decimals) in SETTING_LIMITS.items():
        whole = CONFIG_TYPES[name] is int
        below = low - 1 if whole else math.nextafter(low, -math.inf)
        above = high + 1 if whole else math.nextafter(high, math.inf)
        for value, where in ((low, "lowest"), (high, "highest")):
            verify = _equal(f"the {name}", lambda s, name=name: getattr(s.config, name), value)
            add(
                f"the {name} {value!r}, its {where}",
                edit(("config", name), value),
                "load",
                verify,
                window=True,
            )
        for value in (below, above):
            add(f"the {name} {value!r}, one past its bounds", edit(("config", name), value), "refuse")
        if decimals:
            value = round(min(high, low + 0.5), decimals) + 3 * 10.0 ** -(decimals + 1)
            add(
                f"the {name} {value!r}, with {decimals + 1} decimals", edit(("config", name), value), "refuse"
            )
    for end in (0, 1):
        config = {name: limits[end] for name, limits in SETTING_LIMITS.items()}
        add(
            f"every setting at its {('lowest', 'highest')[end]}",
            edit(("config",), {"optimizer": "adam", **config}),
            "load",
            window=True,
        )

    latest = _equal("the last epoch", lambda s: s.history.latest_epoch, MAX_EPOCH)
    add(
        f"a history reaching epoch {MAX_EPOCH:,} (the last the timeline holds)",
        ends(MAX_EPOCH),
        "load",
        latest,
        window=True,
    )
    add(f"a history reaching epoch {MAX_EPOCH + 1:,}", ends(MAX_EPOCH + 1), "refuse")
    add(
        f"a trainer at epoch {MAX_EPOCH + 1:,} after a history reaching {MAX_EPOCH:,}",
        lambda: make.with_manifest(ends(MAX_EPOCH)(), ("trainer", "epoch"), MAX_EPOCH + 1),
        "refuse",
    )
    add(
        f"a data change at epoch {MAX_EPOCH + 1:,}, the last + 1",
        ends(MAX_EPOCH, marks=(3, MAX_EPOCH + 1)),
        "load",
        latest,
        window=True,
    )
    add("a data change at the last epoch + 1", edit(("history", "data_changes"), [3, 6]), "load")
    add("a data change at the last epoch + 2", edit(("history", "data_changes"), [3, 7]), "refuse")
    add("a negative data change", edit(("history", "data_changes"), [-1, 3]), "refuse")
    whole_bounds = {
        ("trainer", "step"): 0,
        ("samples", "version"): 0,
        ("history", "thinnings"): 0,
        ("history", "max_rows"): MIN_ROWS,
    }
    budget = default_max_rows(make.SPEC)

    def budget_recomputed(session) -> str | None:  # max_rows is recomputed, not taken from the file
        rows = session.history.max_rows
        return None if rows <= budget else f"max_rows {rows:,} kept from the file (budget {budget:,})"

    for path, low in whole_bounds.items():
        where = ".".join(path)
        for value in (low, MAX_WHOLE):
            verify = budget_recomputed if path == ("history", "max_rows") else None
            add(
                f"{where} {value:,}", edit(path, value), "load", verify, window=path == ("samples", "version")
            )
        for value in (low - 1, MAX_WHOLE + 1):
            add(f"{where} {value:,}", edit(path, value), "refuse")
    for value, expect in ((2**62, "load"), (3, "refuse"), (0, "refuse"), (2**63, "refuse")):
        add(f"history.stride {value:,}", edit(("history", "stride"), value), expect)
    widest = NetworkSpec((MAX_WIDTH,) * MAX_LAYERS)
    add(
        f"a network of {MAX_LAYERS} layers of {MAX_WIDTH}",
        lambda: make.session_bytes(ctx.folder, make.session(spec=widest)),
        "load",
        window=True,
    )
    for widths in ([MAX_WIDTH + 1, 2], [3] * (MAX_LAYERS + 1), [0, 2], []):
        add(f"network widths {widths}", edit(("spec", "widths"), widths), "refuse")

    corners = np.array([[MAX_COORDINATE, -MAX_COORDINATE], [-MAX_COORDINATE, MAX_COORDINATE]])
    at_bound = np.vstack([corners, rng.normal(size=(10, 2))])
    add(
        f"samples at ±{MAX_COORDINATE:g} (the coordinate limit)",
        lambda: make.session_bytes(ctx.folder, make.session(points=at_bound)),
        "load",
        lambda s: None if np.array_equal(s.samples.points, at_bound) else "other coordinates",
        window=True,
    )
    beyond = math.nextafter(MAX_COORDINATE, math.inf)
    for value in (beyond, -beyond, 1e100, 1e307, -1.7976931348623157e308, math.inf, math.nan):
        points = at_bound.copy()
        points[int(rng.integers(len(points))), int(rng.integers(2))] = value
        add(
            f"a sample coordinate {value!r}",
            lambda points=points: make.with_arrays(base, {"samples/points.npy": points}),
            "refuse",
        )
    for n, expect, what in (
        (MAX_SAMPLES, "load", "MAX_SAMPLES"),
        (MAX_SAMPLES + 1, "refuse", "MAX_SAMPLES + 1"),
    ):
        grid = np.indices((1000, n // 1000 + 1)).reshape(2, -1).T[:n].astype(float)

        def many(grid=grid) -> bytes:
            return make.session_bytes(ctx.folder, make.session(points=grid))

        add(
            f"a session of {n:,} samples ({what}; MAX_SAMPLES is the CSV reader's limit)",
            many,
            expect,
            allowance=4 * 24 * n,
            seconds=2 * SECONDS,
        )
    return cases + _command_line_values()


def _command_line_values() -> list[Case]:
    """Arguments at their bounds (accepted with that value) and past them (UsageError, one line)."""
    from soak.hostile_outputs import usage_error

    def value_is(key: str, value):
        return lambda args, spec: None if getattr(args, key) == value else f"{key} {getattr(args, key)!r}"

    def widths_are(widths: tuple[int, ...]):
        return lambda args, spec: None if spec.widths == widths else f"widths {spec.widths}"

    accepted = {
        ("--seed", "0"): value_is("seed", 0),
        ("--seed", str(MAX_SEED)): value_is("seed", MAX_SEED),
        ("--epochs", str(MAX_EPOCH)): value_is("epochs", MAX_EPOCH),
        ("--epoch", "0"): value_is("epoch", 0),
        ("--zoom", "0.001"): value_is("zoom", 0.001),
        ("--zoom", "10000"): value_is("zoom", 1e4),
        ("--layers", ",".join([str(MAX_WIDTH)] * MAX_LAYERS)): widths_are((MAX_WIDTH,) * MAX_LAYERS),
        ("--layers", "4,,4"): widths_are((4, 4)),  # empty widths are skipped, as spaces are
    }
    refused = [
        ("--seed", "-1"),
        ("--seed", str(MAX_SEED + 1)),
        ("--seed", str(10**30)),
        ("--seed", "1e3"),
        ("--epochs", "-1"),
        ("--epochs", str(MAX_EPOCH + 1)),
        ("--epochs", "9" * 5000),
        ("--epoch", "-1"),
        ("--epochs", "3", "--epoch", "4"),
        ("--zoom", repr(math.nextafter(1e-3, 0))),
        ("--zoom", repr(math.nextafter(1e4, math.inf))),
        ("--zoom", "nan"),
        ("--zoom", "inf"),
        ("--zoom", "-1"),
        ("--layers", str(MAX_WIDTH + 1)),
        ("--layers", ",".join(["4"] * (MAX_LAYERS + 1))),
        ("--layers", "0"),
        ("--layers", "\uff14,\uff14"),
        ("--layers", ""),
    ]
    cases = [
        Case(f"command line {' '.join(argv)}", lambda argv=argv, ok=ok: usage_error(list(argv), ok))
        for argv, ok in accepted.items()
    ]
    cases += [
        Case(f"command line {' '.join(argv)[:60]}", lambda argv=argv: usage_error(list(argv)))
        for argv in refused
    ]
    # Full-width digits in a number: refused, or read as the number they are (Python's int() takes them)
    either = lambda args, spec: None if args.seed == 4 else f"seed {args.seed!r}"  # noqa: E731
    cases.append(
        Case(
            "command line --seed \uff14 (a full-width 4)",
            lambda: usage_error(["--seed", "\uff14"], either, refusal_ok=True),
        )
    )
    return cases


# --- compression bombs and archives of many entries ---------------------------------------------------------


def bomb_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    folder = ctx.folder / "bombs"
    cases, add = _cases(ctx, folder)
    entries = make.entries_of(make.session_bytes(ctx.folder, make.session()))
    manifest = entries[MANIFEST]
    params = make.SPEC.n_params

    def archive(**replaced: make.Entry) -> bytes:
        names = {"manifest": MANIFEST, "points": "samples/points.npy", "params": "history/params.npy"}
        swapped = {names[key]: item for key, item in replaced.items()}
        return make.assemble(
            [swapped.get(name) or make.entry(name, [data]) for name, data in entries.items()]
        )

    def spaces(prefix: bytes, size: int) -> list:
        return [prefix, *make.repeated(b" ", size - len(prefix))]

    over, real = MAX_MANIFEST_BYTES + 1, entries["samples/points.npy"]
    for method_name, method in make.METHODS.items():
        size = (QUICK_BOMB_BYTES if ctx.quick else FULL_BOMB_BYTES)[method_name]
        add(
            f"a {method_name} manifest of {over:,} bytes (valid JSON, then spaces)",
            lambda m=method: archive(manifest=make.entry(MANIFEST, spaces(manifest, over), m)),
            "refuse",
        )
        if method_name != "stored":
            add(
                f"a {method_name} manifest of {size:,} bytes (valid JSON, then spaces)",
                lambda m=method, n=size: archive(manifest=make.entry(MANIFEST, spaces(manifest, n), m)),
                "refuse",
            )
        add(
            f"a {method_name} manifest declaring its {len(manifest):,} bytes, holding {size:,}",
            lambda m=method, n=size: archive(
                manifest=make.entry(MANIFEST, spaces(manifest, n), m, len(manifest), crc_of_declared=True)
            ),
            "either",
        )
        for key, name, width in (
            ("points", "samples/points.npy", 2),
            ("params", "history/params.npy", params),
        ):
            rows = size // (8 * width)
            header = make.npy_header((rows, width))
            add(
                f"a {method_name} {name} of {rows:,} rows ({size:,} bytes; the other arrays as they were)",
                lambda m=method, n=name, h=header, r=rows, w=width, k=key: archive(
                    **{k: make.entry(n, [h, *make.repeated(b" ", r * w * 8)], m)}
                ),
                "refuse",
            )
        add(
            f"a {method_name} samples/points.npy declaring its {len(real):,} bytes, holding {size:,}",
            lambda m=method, n=size: archive(
                points=make.entry("samples/points.npy", spaces(real, n), m, len(real), crc_of_declared=True)
            ),
            "either",
        )
    add(
        f"a deflated manifest of exactly {MAX_MANIFEST_BYTES:,} bytes (valid JSON, then spaces)",
        lambda: archive(manifest=make.entry(MANIFEST, spaces(manifest, MAX_MANIFEST_BYTES))),
        "load",
        allowance=4 * MAX_MANIFEST_BYTES,
    )
    points = entries["samples/points.npy"]
    for declared in (MAX_ENTRY_BYTES + 1, 5 * GIB):
        add(
            f"samples/points.npy declaring {declared:,} bytes (zip64)",
            lambda d=declared: archive(
                points=make.entry("samples/points.npy", [points], declared=d, zip64=True)
            ),
            "refuse",
        )
    half = MAX_TOTAL_BYTES // 2 + 1
    add(
        f"two arrays declaring {half:,} bytes each (zip64)",
        lambda: archive(
            points=make.entry("samples/points.npy", [points], declared=half, zip64=True),
            params=make.entry(
                "history/params.npy", [entries["history/params.npy"]], declared=half, zip64=True
            ),
        ),
        "refuse",
    )
    many = 10_000 if ctx.quick else 1_000_000
    add(
        f"the session and {MAX_ENTRIES + 1 - len(entries)} more empty entries ({MAX_ENTRIES + 1} in all)",
        lambda: make.assemble(
            [make.entry(name, [data]) for name, data in entries.items()]
            + [make.entry(f"extra/{i}", [b""]) for i in range(MAX_ENTRIES + 1 - len(entries))]
        ),
        "refuse",
        seconds=2.0,
    )
    add(f"{many:,} empty entries", lambda: make.many_entries(many), "refuse", seconds=2.0)
    add(
        f"{many:,} empty entries, the end record saying 12",
        lambda: make.many_entries(many, count=12),
        "refuse",
        seconds=2.0,
    )
    add(
        "the session and 40 entries of 1,000-character names",
        lambda: make.assemble(
            [make.entry(name, [data]) for name, data in entries.items()]
            + [make.entry(f"extra/{i:02d}-" + "x" * 990, [b""]) for i in range(40)]
        ),
        "refuse",
        seconds=2.0,
    )
    return cases


# --- data-change marks --------------------------------------------------------------------------------------


def mark_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    folder = ctx.folder / "marks"
    cases, add = _cases(ctx, folder)
    counts = (1_000, 100_000) if ctx.quick else (1_000, 10_000, 100_000, 1_000_000)
    for n in counts:
        marks = _equal("marks", lambda s: len(s.history.data_changes), n)
        if n <= 100_000:
            add(
                f"a session of {n:,} epochs, each a data change",
                lambda n=n: make.session_bytes(ctx.folder, make.session(epochs=n, marks=range(1, n + 1))),
                "load",
                marks,
            )
        add(
            f"a session of {n:,} data-change marks over 2 recorded epochs",
            lambda n=n: make.session_bytes(
                ctx.folder, make.session(epochs=n, rows="ends", marks=range(1, n + 1))
            ),
            "load",
            marks,
            window=True,
        )
        cases.append(
            Case(
                f"the loss plot given {n:,} marks, then 100 more one at a time",
                lambda n=n: _loss_plot_marks(n),
            )
        )
        cases.append(Case(f"the timeline slider given {n:,} marks", lambda n=n: _slider_marks(n)))
    for _ in range(12 if ctx.quick else 60):
        n = int(rng.integers(0, 200_000))
        epochs = rng.integers(0, int(rng.integers(1, 10**7)), n).astype(float)
        x0 = float(rng.uniform(-100, epochs.max() if n else 10))
        x1 = x0 + float(rng.choice([0.0, rng.uniform(0, 10), rng.uniform(0, 1e7)], p=[0.1, 0.3, 0.6]))
        pixels = int(rng.choice([0, 1, 2, int(rng.integers(3, 5000))], p=[0.05, 0.1, 0.05, 0.8]))
        cases.append(
            Case(
                f"marks_in_pixels of {n:,} marks, epochs {x0:.1f} to {x1:.1f}, {pixels} pixels",
                lambda e=epochs, a=x0, b=x1, p=pixels: _marks_in_pixels(e, a, b, p),
            )
        )
    return cases


def _loss_plot_marks(n: int) -> str | None:
    from app.ui.loss_plot import QtLossPlot

    plot = QtLossPlot()
    plot.resize(900, 300)
    plot.show()
    pump(0)
    marks = list(range(1, n + 1))
    try:
        started = time.perf_counter()
        plot.set_history(
            np.array([0, n]), np.array([1.0, 0.5]), np.array([0.5, 0.6]), data_changes=tuple(marks)
        )
        pump(0)
        first = time.perf_counter() - started
        problem = _drawn_marks(plot)
        started = time.perf_counter()
        for k in range(100):
            marks.append(n + 1 + k)
            plot.set_history(
                np.array([0, n + 1 + k]),
                np.array([1.0, 0.5]),
                np.array([0.5, 0.6]),
                data_changes=tuple(marks),
            )
            pump(0)
        more = time.perf_counter() - started
        problem = problem or _drawn_marks(plot)
    finally:
        plot.close()
        plot.deleteLater()
    if first > 2.0 or more > SECONDS:
        problem = f"{problem + '; ' if problem else ''}took {first:.1f} s, then {more:.1f} s for 100 more"
    return problem


def _drawn_marks(plot) -> str | None:
    box = plot.accuracy_plot.getViewBox()
    (x0, x1), _ = box.viewRange()
    xs = plot.mark_curve.xData
    xs = np.empty(0) if xs is None else xs[::2]
    pixels = int(box.width())
    if len(xs) > pixels + 1:
        return f"{len(xs):,} marks drawn across {pixels} pixels"
    if len(xs) and (xs.min() < x0 or xs.max() > x1):
        return f"marks drawn outside the view {x0:g} to {x1:g}"
    return None if len(xs) else "no mark drawn"


def _slider_marks(n: int) -> str | None:
    from app.ui.timeline import QtEpochSlider

    slider = QtEpochSlider()
    slider.resize(700, 24)
    slider.setRange(0, n + 1)
    slider.show()
    try:
        started = time.perf_counter()
        slider.set_marks(list(range(1, n + 1)))
        columns = slider.mark_columns()
        slider.grab()
        took = time.perf_counter() - started
        width = slider.width()
    finally:
        slider.close()
        slider.deleteLater()
    if (
        not 0 < len(columns) <= width
        or (np.diff(columns) <= 0).any()
        or columns.min() < 0
        or columns.max() >= width
    ):
        return f"{len(columns):,} columns for a slider {width} pixels wide: {columns[:5]}..."
    return f"took {took:.1f} s" if took > 2.0 else None


def _marks_in_pixels(epochs: np.ndarray, x0: float, x1: float, pixels: int) -> str | None:
    from app.ui.loss_plot import marks_in_pixels

    started = time.perf_counter()
    shown = marks_in_pixels(epochs, x0, x1, pixels)
    took = time.perf_counter() - started
    inside = epochs[(epochs >= x0) & (epochs <= x1)]
    if pixels < 1 or x1 <= x0:
        return None if len(shown) == 0 else f"{len(shown)} marks shown in no room"
    column = lambda xs: set(((xs - x0) * (pixels / (x1 - x0))).astype(np.int64).tolist())  # noqa: E731
    if len(shown) > pixels + 1 or not set(shown.tolist()) <= set(inside.tolist()):
        return f"{len(shown):,} marks shown, not one per column of those in range"
    if column(shown) != column(inside) or len(column(shown)) != len(shown):
        return "the columns with marks are not each shown once"
    return f"took {took:.2f} s" if took > 1.0 else None
