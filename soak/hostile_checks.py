"""What the hostile section's cases share: a case (what is given, and a check that says what happened when
it is not what must), the run's context (folder, one main window, the dialogs it showed), and the checks of a
loader's answer: a load (with the values given) or a refusal with the documented error (naming the line,
for a CSV), in time and, traced, in memory within BASE_BYTES + FILE_FACTOR times the file's size."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core import dataset
from app.core.dataset import CsvError, read_csv
from app.core.session import SessionError, load_session
from soak.common import Hang, deadline, pump
from soak.fuzz import csv_problem, session_problem

MIB = 2**20
BASE_BYTES = 64 * MIB  # traced memory a loader may use beside FILE_FACTOR times the file's size
FILE_FACTOR = 4
SECONDS = 10.0  # the most a case may take, unless it says otherwise
HANG_SECONDS = 120.0  # then the case is stopped
MAX_MESSAGE = 600  # characters of an error message
# dataset.py's limits (read at run time: a name not there yet has its documented value)
MAX_COORDINATE = getattr(dataset, "MAX_COORDINATE", 1e15)
MAX_SAMPLES = getattr(dataset, "MAX_SAMPLES", 1_000_000)
MAX_LINE_CHARS = getattr(dataset, "MAX_LINE_CHARS", 65_536)


@dataclass
class Case:
    label: str  # what is given
    check: Callable[[], str | None]  # what happened, when it is not what must: None when it is


class Context:
    """What the cases of a run share: a folder, whether the run is quick, and one main window (made when first
    needed) with the dialogs it showed (`shown`, recorded by dialogs_answer_at_once)."""

    def __init__(self, folder: Path, quick: bool, shown: list):
        self.folder, self.quick, self.shown = folder, quick, shown
        self._window = None

    def window(self):
        if self._window is None:
            from app.ui.main_window import MainWindow

            self._window = MainWindow()
            self._window.show()
            pump(0)
        return self._window

    def close(self) -> None:
        if self._window is not None:
            from PySide6.QtCore import QCoreApplication, QEvent

            self._window.training.stop()
            self._window.model.set_modified(False)
            self._window.close()
            self._window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            pump(0)


# --- checking what a loader did ----------------------------------------------------------------------------


def measured(
    action: Callable[[], object], traced: bool = True
) -> tuple[object, BaseException | None, float, int]:
    """(value, exception, seconds, peak traced bytes or 0) of `action()`, stopped after HANG_SECONDS."""
    value, error = None, None
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        with deadline(HANG_SECONDS):
            value = action()
    except (Exception, Hang) as e:  # noqa: BLE001 - what it raised is judged by the caller
        error = e
    finally:
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
    return value, error, seconds, peak


def loads(
    load,
    path,
    error_type: type[Exception],
    expect: str,
    verify=None,
    message: str | None = None,
    allowance: int = 0,
    seconds: float = SECONDS,
    size: int | None = None,
    traced_apart: bool = False,
) -> str | None:
    """Opens `path` with `load`: `expect` "load" (then `verify(value)` finds no problem), "refuse" (raises
    `error_type`, its message short and containing `message`) or "either"; in time and memory. With
    `traced_apart` the memory is measured in a second run: tracing every allocation slows a loader that
    makes many small objects (the CSV reader) tenfold, and the first run's time would mean nothing."""
    if size is None:
        size = os.stat(path).st_size if Path(path).is_file() else 0
    value, error, took, peak = measured(lambda: load(path), traced=not traced_apart)
    if traced_apart and not isinstance(error, Hang):
        peak = measured(lambda: load(path))[3]
    if isinstance(error, Hang):
        return str(error)
    if error is not None and not isinstance(error, error_type):
        return f"raised {type(error).__name__}: {str(error)[:200]}"
    problems = []
    if error is None and expect == "refuse":
        problems.append("loaded, not refused")
    elif error is not None and expect == "load":
        problems.append(f"refused: {str(error)[:200]}")
    elif error is not None and message is not None and message not in str(error):
        problems.append(f"refused without {message!r}: {str(error)[:200]}")
    if error is not None and len(str(error)) > MAX_MESSAGE:
        problems.append(f"a message of {len(str(error)):,} characters")
    if error is None and verify is not None:
        problems.append(verify(value))
    limit = BASE_BYTES + FILE_FACTOR * size + allowance
    if peak > limit:
        problems.append(
            f"peak memory {peak / MIB:,.0f} MiB for {size / MIB:,.2f} MiB of file (limit "
            f"{limit / MIB:,.0f} MiB)"
        )
    if took > seconds:
        problems.append(f"took {took:.1f} s (limit {seconds:g} s)")
    return "; ".join(problem for problem in problems if problem) or None


def session_loads(path, expect: str, verify=None, **options) -> str | None:
    def check(session) -> str | None:
        return session_problem(session) or (verify(session) if verify else None)

    return loads(load_session, path, SessionError, expect, check, **options)


def csv_loads(path, expect: str, verify=None, line: int | None = None, **options) -> str | None:
    """read_csv on `path`; a refusal must name `line` when given."""

    def check(samples) -> str | None:
        return csv_problem(samples) or (verify(samples) if verify else None)

    message = options.pop("message", None) if line is None else f"line {line}:"
    return loads(read_csv, path, CsvError, expect, check, message, **{"traced_apart": True, **options})


def window_opens(ctx: Context, path: Path, seconds: float = SECONDS) -> str | None:
    """The session opens in the main window within `seconds`, and the window then holds exactly its
    settings, network and history, and draws it (an exception in the event loop is reported by the run)."""
    window = ctx.window()
    loaded = load_session(path)
    ctx.shown.clear()
    started = time.perf_counter()
    try:
        with deadline(HANG_SECONDS):
            opened = window.files.open_session(str(path))
            window.frames.draw_now()
            pump(20)
    except Hang as e:
        return f"the window: {e}"
    took = time.perf_counter() - started
    if took > seconds:
        return f"the window took {took:.1f} s to open it (limit {seconds:g} s)"
    if not opened:
        return f"the window refused it: {ctx.shown[-1:] or 'without a message'}"
    model = window.model
    shown = window.controls.config()
    if model.spec != loaded.spec or model.config != loaded.config or shown != loaded.config:
        return f"the window holds {model.spec}, {model.config}, controls {shown}"
    if model.history.latest_epoch != loaded.history.latest_epoch:
        return f"the window's history ends at {model.history.latest_epoch}"
    if window.timeline.slider.maximum() != min(loaded.history.latest_epoch, 2**31 - 1):
        return f"the timeline ends at {window.timeline.slider.maximum()}"
    return None


def written(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path
