"""Hostile outputs: command lines, writers and the window's File menu aimed at an input (by its name, through
./ or dir/.., a symbolic or hard link), a folder, a device, an empty name, a wrong suffix or a missing folder;
writes that fail half way or are interrupted; a read-only folder; temporary files left by a killed write.
Each must be refused (UsageError, OSError, a message in the window) with every file as it was."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.core import dataset
from soak import hostile_files as make
from soak.common import deadline, pump
from soak.hostile_checks import HANG_SECONDS, MAX_MESSAGE, Case, Context, written

# --- outputs that would destroy an input -------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, object]:
    """Every entry under `folder`: a link's target, a file's bytes, or "folder"."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_dir():
            found[name] = "folder"
        else:
            found[name] = path.read_bytes()
    return found


def _outputs_folder(
    ctx: Context, rng: np.random.Generator
) -> tuple[Path, Callable[[Callable[[], str | None]], str | None]]:
    """The folder of inputs the output cases aim at, and `kept(action)`: runs the action, then checks that
    every file there is as it was and nothing was added (a left temporary file, say); restores it if not."""
    folder = ctx.folder / "outputs"
    session = make.session()
    data = make.session_bytes(ctx.folder, session)
    files = {
        "s.unboxed": data,
        "w.unboxed": data,
        "x.csv": make.csv_text(make.csv_rows(rng, 9)),
        "csv.unboxed": make.csv_text(make.csv_rows(rng, 7)),
        "notes.txt": "my notes\n",
        "old.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    }

    def build() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "dir").mkdir(parents=True)
        (folder / "pics.gif").mkdir()
        for name, data in files.items():
            written(folder, name, data)
        os.symlink("s.unboxed", folder / "link.unboxed")
        os.symlink("x.csv", folder / "link.csv")
        os.symlink("csv.unboxed", folder / "csvlink.unboxed")
        os.link(folder / "s.unboxed", folder / "hard.unboxed")

    build()
    before = _snapshot(folder)

    def kept(action: Callable[[], str | None]) -> str | None:
        problem = action()
        after = _snapshot(folder)
        if after == before:
            return problem
        changed = sorted(name for name in before.keys() & after.keys() if before[name] != after[name])
        added, lost = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
        build()
        return "; ".join(
            filter(
                None,
                [
                    problem,
                    changed and f"changed {changed}",
                    added and f"left {added}",
                    lost and f"removed {lost}",
                ],
            )
        )

    return folder, kept


def usage_error(argv: list[str], accept: Callable | None = None, refusal_ok: bool = False) -> str | None:
    """app.cli.parse(argv) must raise UsageError with one line or, with `accept`, return arguments that
    `accept(args, spec)` finds right (it returns a problem, or None); with `refusal_ok`, either will do."""
    from app.cli import parse
    from app.errors import UsageError

    try:
        args, spec, _ = parse(argv)
    except UsageError as error:
        lines = str(error).count("\n") + 1
        if lines > 1:
            return f"a usage message of {lines} lines: {str(error)[:MAX_MESSAGE]!r}"
        return None if accept is None or refusal_ok else f"refused: {str(error)[:200]}"
    except (Exception, SystemExit) as error:  # noqa: BLE001 - anything but UsageError is the failure
        return f"raised {type(error).__name__}: {str(error)[:200]}"
    return "accepted, not refused" if accept is None else accept(args, spec)


def output_cases(ctx: Context, rng: np.random.Generator) -> list[Case]:
    from app.core.export_npz import export_data
    from app.core.output_file import write_bytes_atomically
    from app.core.session import save_session

    folder, kept = _outputs_folder(ctx, rng)
    f, s, c = str(folder), str(folder / "s.unboxed"), str(folder / "x.csv")
    cases = []
    cli = {
        "the session as --save": [s, "--save", s],
        "the session as --save, through ./": [s, "--save", f"{f}/./s.unboxed"],
        "the session as --save, through dir/..": [s, "--save", f"{f}/dir/../s.unboxed"],
        "a symbolic link to the session as --save": [s, "--save", f"{f}/link.unboxed"],
        "a hard link to the session as --save": [s, "--save", f"{f}/hard.unboxed"],
        "the session opened through a link, saved to itself": [f"{f}/link.unboxed", "--save", s],
        "the session as --export": [s, "--export", s],
        "the session as --export-data": [s, "--export-data", s],
        "a text file as --export": ["--export", f"{f}/notes.txt"],
        "a session as --export-data": ["--export-data", s],
        "the CSV as --save": ["--data", c, "--save", c],
        "the CSV as --export": ["--data", c, "--export", c],
        "the CSV as --export-data": ["--data", c, "--export-data", c],
        "a CSV named .unboxed as --save": ["--data", f"{f}/csv.unboxed", "--save", f"{f}/csv.unboxed"],
        "a link to a CSV named .unboxed as --save": [
            "--data",
            f"{f}/csv.unboxed",
            "--save",
            f"{f}/csvlink.unboxed",
        ],
        "an empty --export": ["--export", ""],
        "a blank --save": ["--save", "   "],
        "a folder as --save": ["--save", f"{f}/dir"],
        "a folder with a slash as --export": ["--export", f"{f}/dir/"],
        "a folder named .gif as --export": ["--export", f"{f}/pics.gif"],
        "/dev/null as --export": ["--export", "/dev/null"],
        "/dev/null as --save": ["--save", "/dev/null"],
        "a file in a missing folder as --export": ["--export", f"{f}/missing/a.png"],
        "one name for --export and --save": ["--export", f"{f}/a.png", "--save", f"{f}/a.png"],
    }
    for label, argv in cli.items():
        cases.append(
            Case(
                f"command line {label} ({' '.join(argv)[-80:]})",
                lambda argv=argv: kept(lambda: usage_error(argv)),
            )
        )

    session = make.session()
    writers = {
        "write_bytes_atomically(.png)": (
            (".png",),
            lambda p, i: write_bytes_atomically(p, b"new", (".png",), i),
        ),
        "save_session": ((".unboxed",), lambda p, i: save_session(p, session)),
        "write_csv": ((".csv",), lambda p, i: dataset.write_csv(session.samples, p, inputs=i)),
        "export_data": ((".npz",), lambda p, i: export_data(p, session.samples, session.history, 0)),
    }
    for writer, (suffixes, write) in writers.items():
        targets = {
            "an empty name": ("", ()),
            "a blank name": ("  ", ()),
            "a folder": (f"{f}/dir", ()),
            "a folder with a slash": (f"{f}/dir/", ()),
            "/dev/null": ("/dev/null", ()),
            "a file in a missing folder": (f"{f}/missing/out{suffixes[0]}", ()),
        }
        if writer in ("write_bytes_atomically(.png)", "export_data"):
            targets["a wrong suffix"] = (f"{f}/notes.txt", ())
        else:
            targets["a folder named .gif"] = (f"{f}/pics.gif", ())
        if writer in ("write_bytes_atomically(.png)", "write_csv"):
            name = "old.png" if writer != "write_csv" else "x.csv"
            targets |= {
                "an input": (f"{f}/{name}", (f"{f}/{name}",)),
                "an input named through ./": (f"{f}/./{name}", (f"{f}/{name}",)),
            }
        if writer == "write_csv":
            targets["an input through a symbolic link"] = (f"{f}/link.csv", (c,))
        for what, (path, inputs) in targets.items():
            check = lambda w=write, p=path, i=inputs: kept(lambda: _refused_write(w, p, i))  # noqa: E731
            cases.append(Case(f"{writer} onto {what} ({path!r})", check))
    cases += _failing_writes(ctx, folder, kept, session)
    cases += _window_outputs(ctx, folder, kept)
    return cases


def _refused_write(write, path: str, inputs: tuple) -> str | None:
    try:
        write(path, inputs)
    except OSError:
        return None
    except Exception as error:  # noqa: BLE001 - anything but OSError (OutputRefused is one) is the failure
        return f"raised {type(error).__name__}: {str(error)[:200]}"
    return "written, not refused"


def _failing_writes(ctx: Context, folder: Path, kept, session) -> list[Case]:
    """Writes that fail half way (an error, Ctrl+C, a view that is not JSON, a read-only folder) leave the
    previous file and no temporary one; a temporary file an hour old is removed at the next write there."""
    from app.core.output_file import STALE_SECONDS, TEMP_PREFIX, TEMP_SUFFIX, write_atomically
    from app.core.session import Session, save_session

    target = folder / "s.unboxed"

    def fails_with(kind: type[BaseException]) -> str | None:
        def write(file) -> None:
            file.write(b"half a file")
            raise kind("stopped half way")

        try:
            write_atomically(target, write, (".unboxed",))
        except kind:
            return None
        return "the failure did not come through"

    def bad_view() -> str | None:
        odd = Session(session.samples, session.spec, session.config, session.history, None, {"x": object()})
        try:
            save_session(target, odd)
        except (TypeError, ValueError):
            return None
        return "a view that is not JSON was saved"

    def read_only() -> str | None:
        locked = ctx.folder / "locked"
        locked.mkdir(exist_ok=True)
        written(locked, "s.unboxed", b"previous")
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            save_session(locked / "s.unboxed", session)
            problem = "written into a read-only folder"
        except OSError:
            problem = None
        finally:
            locked.chmod(stat.S_IRWXU)
        if (locked / "s.unboxed").read_bytes() != b"previous" or len(list(locked.iterdir())) != 1:
            problem = f"the folder holds {sorted(p.name for p in locked.iterdir())}, the file changed"
        return problem

    def stale() -> str | None:
        place = ctx.folder / "stale"
        place.mkdir(exist_ok=True)
        old, young = place / f"{TEMP_PREFIX}old{TEMP_SUFFIX}", place / f"{TEMP_PREFIX}young{TEMP_SUFFIX}"
        written(place, old.name, b"x" * 1000)
        written(place, young.name, b"y")
        os.utime(old, (time.time() - 2 * STALE_SECONDS,) * 2)
        dataset.write_csv(session.samples, place / "new.csv")
        left = sorted(p.name for p in place.iterdir())
        shutil.rmtree(place)
        return None if left == sorted([young.name, "new.csv"]) else f"the folder then held {left}"

    cases = [
        Case("a write that raises half way over the session", lambda: kept(lambda: fails_with(ValueError))),
        Case(
            "Ctrl+C half way through a write over the session",
            lambda: kept(lambda: fails_with(KeyboardInterrupt)),
        ),
        Case("save_session of a view that is not JSON over the session", lambda: kept(bad_view)),
        Case("a write beside temporary files of ours an hour old and new", stale),
    ]
    if os.geteuid() != 0:  # root writes into a read-only folder: nothing to check there
        cases.append(Case("save_session into a read-only folder", read_only))
    return cases


def _window_outputs(ctx: Context, folder: Path, kept) -> list[Case]:
    """The window's File menu exports and saves, with the open session (w.unboxed) or a folder as the path:
    each refused with a message, the files as they were."""
    session = folder / "w.unboxed"

    def refused(action: Callable[[object], bool]) -> str | None:
        window = ctx.window()
        if not window.files.open_session(str(session)):
            return f"the window could not open {session.name}"
        ctx.shown.clear()
        with deadline(HANG_SECONDS):
            done = action(window)
            pump(0)
        if done:
            return "done, not refused"
        return None if ctx.shown else "refused without a message"

    s, notes, gif, place = (
        str(session),
        str(folder / "notes.txt"),
        str(folder / "pics.gif"),
        str(folder / "dir"),
    )
    actions = {
        "Export CSV onto the open session": lambda w: w.files.export_csv(s),
        "Export CSV onto a folder": lambda w: w.files.export_csv(place),
        "Export picture (PNG) onto the open session": lambda w: w.files.export_picture(w.canvas, "png", s),
        "Export picture (SVG) onto a text file": lambda w: w.files.export_picture(w, "svg", notes),
        "Export animation onto a folder named .gif": lambda w: w.files.export_animation(gif),
        "Save session onto a folder": lambda w: w.files.save_session(place),
    }
    return [
        Case(f"window: {label}", lambda a=action: kept(lambda: refused(a)))
        for label, action in actions.items()
    ]
