"""Injected faults: saves onto a full disk, a read-only or vanished folder (and autosaves likewise), the app
killed with SIGKILL while training and while saving, the compiled engine failing to compile or returning NaN.
Each fault must lose no work and say what happened; run(quick) counts the faults and those that did not."""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTOSAVE_SECONDS = 0.3  # the killed app's autosave interval (the app's default is a minute)
TEMP_PREFIX = ".unboxed-"  # app.core.session's temporary files
CHILD_START_SECONDS = 90  # a child app must be training (or saving) by then, on a loaded machine


class Tally:
    """The faults injected so far, and the ones that lost work or went unsaid, each with a readable line."""

    def __init__(self) -> None:
        self.injected = 0
        self.failures: list[str] = []

    def check(self, fault: str, problems: list[str]) -> None:
        self.injected += 1
        if problems:
            self.failures.append(f"{fault}: {'; '.join(problems)}")

    @contextlib.contextmanager
    def fault(self, name: str) -> Iterator[list[str]]:
        """Collects the problems of one fault; an exception escaping the app is a problem too."""
        problems: list[str] = []
        try:
            yield problems
        except Exception as error:  # noqa: BLE001 - an app crash is what this looks for
            problems.append(f"raised {type(error).__name__}: {error}")
        self.check(name, problems)


def run(quick: bool) -> dict:
    tally = Tally()
    with _sandbox() as sandbox:
        for round_ in range(1 if quick else 3):
            child = _Child(sandbox / f"killed{round_}", seed=round_)  # starts first: it takes seconds to load
            try:
                app = _application()
                with _dialogs_answered() as dialogs:
                    if round_ == 0:
                        _in_process_faults(tally, app, dialogs, sandbox, quick)
                    _killed_app(tally, app, dialogs, child)
            finally:
                child.kill()
    from app.worker import started_threads

    running = sum(1 for thread in list(started_threads) if thread.isRunning())
    leaks = [f"{running} training or warm-up thread(s) left running"] if running else []
    return {
        "faults_injected": tally.injected,
        "faults_with_loss": len(tally.failures),
        "failures": tally.failures + leaks,
    }


def _in_process_faults(tally: Tally, app, dialogs: list, sandbox: Path, quick: bool) -> None:
    """The engine, save and autosave faults, one after the other in one window (as a person meets them)."""
    from app.core import engine
    from app.core.training import default_backend

    with _patched(engine, "is_compiled", lambda: False), _patched(engine, "warm_up", _raising):
        window = _window(app)  # its start-up compile fails, then training's
        engine_faults = engine.AVAILABLE and default_backend() == "engine"
        if engine_faults:
            with tally.fault("the engine fails to compile (warm-up raises)") as problems:
                _engine_failure(app, window, None, problems)
    try:
        if engine_faults:
            _engine_faults(tally, app, window, quick)
        _save_faults(tally, app, window, dialogs, sandbox / "saves", quick)
        _autosave_faults(tally, app, window)
    finally:
        _close(app, window)


# --- the environment ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sandbox() -> Iterator[Path]:
    """Settings, recent files and autosaves go to a throw-away folder, never the user's. The folder outlives
    this section (removed at exit): Qt keeps the settings path it first saw."""
    root = Path(tempfile.mkdtemp(prefix="unboxed-soak-faults-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    saved = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    try:
        yield root
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _application():
    from app.ui.app import make_application

    return make_application()


@contextlib.contextmanager
def _patched(owner, name: str, value) -> Iterator[None]:
    """owner.name = value for the duration (the class's own descriptor is put back for a class)."""
    old = owner.__dict__[name] if isinstance(owner, type) and name in owner.__dict__ else getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


@contextlib.contextmanager
def _dialogs_answered() -> Iterator[list[tuple[str, str]]]:
    """Message boxes return at once: (kind, text) is recorded, questions are answered Yes/Open/Discard."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def answer(kind: str):
        def box(*args, **kwargs):
            shown.append((kind, str(args[2]) if len(args) > 2 else ""))
            if kind != "question":
                return QMessageBox.StandardButton.Ok
            buttons = args[3] if len(args) > 3 else QMessageBox.StandardButton.Yes
            for button in ("Yes", "Open", "Discard"):
                if buttons & getattr(QMessageBox.StandardButton, button):
                    return getattr(QMessageBox.StandardButton, button)
            return QMessageBox.StandardButton.Ok

        return box

    with contextlib.ExitStack() as stack:
        for kind in ("warning", "critical", "question", "information"):
            stack.enter_context(_patched(QMessageBox, kind, answer(kind)))
        yield shown


def _wait(app, condition: Callable[[], bool], seconds: float) -> bool:
    """Runs the event loop until condition() holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def _window(app, spec=None):
    from app.ui.main_window import MainWindow

    window = MainWindow(spec=spec)
    window.show()
    app.processEvents()
    return window


def _close(app, window) -> None:
    from app.ui.app import close_for_good

    window.training.stop()
    close_for_good(app, window)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(TEMP_PREFIX + "*")) if folder.is_dir() else []


# --- injected OS errors -------------------------------------------------------------------------------------


def _os_error(code: int, filename: str | None = None) -> OSError:
    return OSError(code, os.strerror(code), filename)


class _FullDisk:
    """A file that takes `room` bytes and then fails as a full disk does (the bytes before stay written)."""

    def __init__(self, file, room: int):
        self._file, self._room = file, room

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        if len(data) > self._room:
            self._file.write(data[: self._room])
            self._room = 0
            raise _os_error(errno.ENOSPC)
        self._room -= len(data)
        return self._file.write(data)

    def __getattr__(self, name: str):
        return getattr(self._file, name)


@contextlib.contextmanager
def _disk_full_on_write(room: int = 4096) -> Iterator[None]:
    """The session writer's temporary file fills the disk after `room` bytes."""
    real = tempfile.NamedTemporaryFile

    def full(*args, **kwargs):
        tmp = real(*args, **kwargs)
        tmp.file = _FullDisk(tmp.file, room)
        return tmp

    with _patched(tempfile, "NamedTemporaryFile", full):
        yield


@contextlib.contextmanager
def _failing(owner, name: str, code: int) -> Iterator[None]:
    """owner.name raises OSError(code) (the syscall the session writer makes)."""

    def fail(*args, **kwargs):
        raise _os_error(code, str(args[0]) if args and isinstance(args[0], str | Path) else None)

    with _patched(owner, name, fail):
        yield


@contextlib.contextmanager
def _read_only(folder: Path, code: int) -> Iterator[None]:
    """A folder no file can be created in: a real chmod 0o555 where that binds (not as root), else
    OSError(code) from creating the temporary file, as the kernel would raise."""
    if os.geteuid() != 0 and code == errno.EACCES:
        mode = folder.stat().st_mode & 0o7777
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)
        return

    def refuse(*args, dir=None, **kwargs):
        raise _os_error(code, str(dir))

    with _patched(tempfile, "NamedTemporaryFile", refuse):
        yield


# Faults of the disk under a save: (name, the injection as a context manager factory given the folder).
DISK_FAULTS: tuple[tuple[str, Callable[[Path], contextlib.AbstractContextManager]], ...] = (
    ("full disk while writing (ENOSPC)", lambda folder: _disk_full_on_write()),
    ("full disk at fsync (ENOSPC)", lambda folder: _failing(os, "fsync", errno.ENOSPC)),
    ("rename refused (EACCES from os.replace)", lambda folder: _failing(os, "replace", errno.EACCES)),
    ("read-only folder (EACCES)", lambda folder: _read_only(folder, errno.EACCES)),
    ("read-only file system (EROFS)", lambda folder: _read_only(folder, errno.EROFS)),
)


# --- 1. saving onto a failing disk --------------------------------------------------------------------------


def _save_faults(tally: Tally, app, window, dialogs: list, folder: Path, quick: bool) -> None:
    for training in (False,) if quick else (False, True):  # the second round saves while training runs
        suffix = " while training" if training else ""
        for name, injection in DISK_FAULTS:
            with tally.fault(f"save onto {name}{suffix}") as problems:
                _one_failed_save(app, window, dialogs, folder, injection, training, problems)
        with tally.fault(f"save into a vanished folder{suffix}") as problems:
            _save_into_vanished_folder(app, window, dialogs, folder / "vanishing", training, problems)


def _one_failed_save(app, window, dialogs, folder: Path, injection, training: bool, problems: list) -> None:
    from app.core.session import load_session
    from app.ui.app import train_synchronously

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "session.unboxed"
    if not window.files.save_session(str(path)):
        problems.append(f"the fault-free save before it failed: {dialogs[-1:]}")
        return
    previous = path.read_bytes()
    window.add_sample(random.uniform(-1, 1), random.uniform(-1, 1), random.randint(0, 1))
    train_synchronously(window, 3)
    if training:
        _train_a_little(app, window)
    shown = len(dialogs)
    samples, epoch = window.model.samples, window.model.history.latest_epoch
    with injection(folder):
        saved = window.files.save_session(str(path))
    _check_failed_save(window, dialogs[shown:], saved, path, previous, folder, problems)
    if window.model.samples is not samples or window.model.history.latest_epoch < epoch:
        problems.append("the window's samples or history changed")
    if training and not window.training.running:
        problems.append("training did not go on after the failed save")
    if training:
        window.training.pause()
    if not window.files.save_session(str(path)):  # the fault gone, the same work saves
        problems.append(f"saving failed after the fault was gone: {dialogs[-1:]}")
    elif load_session(path).history.latest_epoch != window.model.history.latest_epoch:
        problems.append("the save after the fault holds other epochs than the window")


def _train_a_little(app, window) -> None:
    window.training.start()
    started = window.model.history.latest_epoch
    _wait(app, lambda: window.model.history.latest_epoch > started + 5, 10)


def _check_failed_save(window, shown, saved, path: Path, previous, folder: Path, problems: list) -> None:
    if saved:
        problems.append("the save reported success")
    if not [text for kind, text in shown if kind in ("warning", "critical")]:
        problems.append("no message was shown")
    if previous is not None and (not path.is_file() or path.read_bytes() != previous):
        problems.append("the previous file was changed")
    if _temp_files(folder):
        problems.append(f"temporary files left behind: {_temp_files(folder)}")
    if not window.model.modified:
        problems.append("the window was marked saved")


def _save_into_vanished_folder(app, window, dialogs, folder: Path, training: bool, problems: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "session.unboxed"
    if not window.files.save_session(str(path)):
        problems.append("the fault-free save before it failed")
        return
    window.add_sample(0.5, -0.5, 1)
    if training:
        _train_a_little(app, window)
    shutil.rmtree(folder)
    shown = len(dialogs)
    samples = window.model.samples
    saved = window.files.save_session(str(path))
    _check_failed_save(window, dialogs[shown:], saved, path, None, folder, problems)
    if window.model.samples is not samples:
        problems.append("the window's samples changed")
    if training and not window.training.running:
        problems.append("training did not go on after the failed save")
    if training:
        window.training.pause()
    folder.mkdir()
    if not window.files.save_session(str(path)):
        problems.append("saving failed after the folder was back")


# --- 1b. autosaving onto a failing disk ---------------------------------------------------------------------


def _autosave_faults(tally: Tally, app, window) -> None:
    from app.core.session import load_session
    from app.ui.session_files import autosave_path

    path = autosave_path()
    folder = path.parent
    _train_a_little(app, window)
    for name, injection in DISK_FAULTS:
        with tally.fault(f"autosave onto {name} while training") as problems:
            window.files.autosave()
            if not path.is_file():
                problems.append(f"the fault-free autosave was not written: {window.message_label.text()}")
                continue
            previous = path.read_bytes()
            newer = load_session(path).history.latest_epoch + 1  # so that a new autosave would differ
            _wait(app, lambda e=newer: window.model.history.latest_epoch >= e, 5)
            window.show_message("Training…")  # no earlier fault's message may count for this one
            with injection(folder):
                window.files.autosave()
            _check_failed_autosave(window, path, previous, problems)
    with tally.fault("autosave into a vanished folder while training") as problems:
        shutil.rmtree(folder)
        window.show_message("Training…")
        window.files.autosave()
        if path.is_file():
            load_session(path)  # it must be whole
        elif not window.message_label.text().startswith("Autosave failed"):
            problems.append("no autosave was written and no message was shown")
        if not window.training.running:
            problems.append("training did not go on after the autosave")
    with tally.fault("autosave into a folder that cannot be created (a file in its way)") as problems:
        shutil.rmtree(folder.parent)
        folder.parent.write_text("in the way")
        try:
            window.show_message("Training…")
            window.files.autosave()
            if not window.message_label.text().startswith("Autosave failed"):
                problems.append(f"no message was shown (status line: {window.message_label.text()!r})")
            if not window.training.running:
                problems.append("training did not go on after the failed autosave")
        finally:
            folder.parent.unlink()
    window.training.pause()


def _check_failed_autosave(window, path: Path, previous: bytes, problems: list) -> None:
    if not window.message_label.text().startswith("Autosave failed"):
        problems.append(f"no message in the status line (it reads {window.message_label.text()!r})")
    if not path.is_file() or path.read_bytes() != previous:
        problems.append("the previous autosave was changed")
    if _temp_files(path.parent):
        problems.append(f"temporary files left behind: {_temp_files(path.parent)}")
    if not window.training.running:
        problems.append("training did not go on after the failed autosave")
    if not window.model.modified:
        problems.append("the window was marked saved")


# --- 3. the compiled engine failing -------------------------------------------------------------------------


def _raising(*args, **kwargs):
    raise RuntimeError("injected: numba could not compile the training loop")


def _non_finite(value: float, what: str):
    """An engine.train_epochs that works, then reports `value` for the loss or the parameters (and leaves
    its in-place parameters so) from the fourth epoch of a call on."""
    from app.core import engine

    real = engine.train_epochs

    def faulty(params, *args):
        result = real(params, *args)
        rows = result[1 if what == "loss" else 0]
        if len(rows) > 3:
            rows[3:] = value
            params[:] = value
        elif len(rows):
            rows[-1] = value
            params[:] = value
        return result

    return faulty


def _engine_faults(tally: Tally, app, window, quick: bool) -> None:
    """After the compile failure (see _in_process_faults): a failure mid-run, then non-finite numbers."""
    with tally.fault("the engine fails mid-run (train_epochs raises)") as problems:
        window.training.reset()
        _engine_failure(app, window, _raising, problems)
    variants = [(float("nan"), "loss")]
    if not quick:
        variants += [(float("nan"), "params"), (float("inf"), "loss")]
    for value, what in variants:
        with tally.fault(f"the engine returns {value} for the {what}") as problems:
            window.training.reset()
            _engine_nan(app, window, _non_finite(value, what), problems)


def _engine_failure(app, window, failing, problems: list) -> None:
    """Training on after the engine failed (raising from `failing` in place of train_epochs, after some
    epochs; or from the start): with torch and said so, or stopped and said so; the history kept."""
    from app.core import engine

    messages = _recorded_messages(window)
    window.training.set_max_rate(None)
    window.training.start()
    if failing is not None and not _wait(app, lambda: window.model.history.latest_epoch >= 30, 20):
        problems.append(f"the engine did not train 30 epochs first ({window.message_label.text()!r})")
        return
    with _patched(engine, "train_epochs", failing) if failing else contextlib.nullcontext():
        kept = window.model.history.latest_epoch
        _wait(app, lambda: not window.training.running or window.model.trainer.backend == "torch", 20)
        went_on = _wait(
            app, lambda: not (window.training.running and window.model.history.latest_epoch <= kept + 10), 20
        )
    if window.training.running and went_on:
        said = _wait(app, lambda: any("engine" in m and "torch" in m for m in messages), 5)
        if not said:
            problems.append(
                "training went on with torch, but the status line never said the engine failed "
                f"(last messages: {messages[-4:]})"
            )
    elif not window.training.running:
        said = window.message_label.text()
        if "numba could not compile" not in said and "engine" not in said:
            problems.append(f"training stopped without saying why (status line: {said!r})")
    else:
        problems.append("training neither went on nor stopped")
    if window.training.running:
        window.training.pause()
    _check_history(window, kept, problems)


def _engine_nan(app, window, faulty, problems: list) -> None:
    from app.core import engine
    from app.core.session import load_session

    window.training.set_max_rate(None)
    window.training.start()
    if not _wait(app, lambda: window.model.history.latest_epoch >= 30, 20):
        problems.append(f"the engine did not train 30 epochs first ({window.message_label.text()!r})")
        return
    with _patched(engine, "train_epochs", faulty):
        kept = window.model.history.latest_epoch
        stopped = _wait(app, lambda: not window.training.running, 20)
    if not stopped:
        problems.append("training went on after the engine returned non-finite numbers")
        window.training.pause()
    elif not window.message_label.text().startswith("Training diverged"):
        said = window.message_label.text()
        problems.append(f"training stopped without saying why (status line: {said!r})")
    _check_history(window, kept, problems)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "after.unboxed"
        if not window.files.save_session(str(path)):
            problems.append("the session could not be saved afterwards")
        elif load_session(path).history.latest_epoch != window.model.history.latest_epoch:
            problems.append("the saved session lacks epochs")


def _recorded_messages(window) -> list[str]:
    """Every text the status line shows from now on (a later one may replace a notice at once)."""
    messages: list[str] = []
    real = window.message_label.setText

    def record(text: str) -> None:
        messages.append(text)
        real(text)

    window.message_label.setText = record
    return messages


def _check_history(window, kept: int, problems: list) -> None:
    import numpy as np

    history = window.model.history
    if history.latest_epoch < kept:
        problems.append(f"the history lost epochs ({history.latest_epoch} of {kept})")
    if not (np.isfinite(history.loss).all() and np.isfinite(history.params).all()):
        problems.append("the history holds non-finite numbers")
    if history.epochs[0] != 0 or not (np.diff(history.epochs) > 0).all():
        problems.append("the history's epochs are out of order")


# --- 2. the app killed with SIGKILL -------------------------------------------------------------------------


class _Child:
    """The app in a process of its own, to be killed: it trains (autosaving every AUTOSAVE_SECONDS) while
    its GUI thread saves a large session to `target` again and again, one sample more each time. Its log
    says "epoch TIME EPOCH" every 50 ms and "saving N" / "saved N" (N samples) around each save."""

    def __init__(self, folder: Path, seed: int):
        self.folder = folder
        folder.mkdir(parents=True)
        self.log = folder / "log.txt"
        self.target = folder / "saves" / "large.unboxed"
        self.autosave = folder / "data" / "Unboxed" / "Unboxed" / "autosave.unboxed"
        self.extra_delay = random.Random(seed).uniform(0, 0.02)
        self.autosaved = None  # the autosave's session, once loaded after the kill
        self._stderr = (folder / "stderr.txt").open("wb")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "UNBOXED_AUTOSAVE_SECONDS": str(AUTOSAVE_SECONDS),
               "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "soak.faults", str(self.log), str(self.target)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._stderr,
        )  # fmt: skip
        self.killed_at = 0.0

    def log_lines(self) -> list[list[str]]:
        """The log's complete lines, split in words (a kill may cut the last one short)."""
        text = self.log.read_text() if self.log.is_file() else ""
        return [line.split() for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def kill(self) -> None:
        """SIGKILL, unless it has ended already (then this only reaps it)."""
        if self.process.poll() is None:
            self.killed_at = time.time()
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._stderr.close()

    def stderr_tail(self) -> str:
        text = (self.folder / "stderr.txt").read_text(errors="replace").strip().splitlines()
        return f"exit status {self.process.poll()}, stderr: {' | '.join(text[-3:]) or 'empty'}"


def _killed_app(tally: Tally, app, dialogs: list, child: _Child) -> None:
    """SIGKILL once three autosaves and two large saves are done, while the next large save is being written
    (its temporary file is there)."""
    stamps: set[int] = set()
    deadline = time.monotonic() + CHILD_START_SECONDS
    ready = False
    try:
        while not ready and time.monotonic() < deadline and child.process.poll() is None:
            with contextlib.suppress(OSError):
                stamps.add(child.autosave.stat().st_mtime_ns)
            saves = sum(1 for line in child.log_lines() if line[0] == "saved")
            ready = len(stamps) >= 3 and saves >= 2 and bool(_temp_files(child.target.parent))
            time.sleep(0.005)
        time.sleep(child.extra_delay)
    finally:
        child.kill()
    if not ready:
        why = f"the app wrote {len(stamps)} autosaves and did not save twice by then ({child.stderr_tail()})"
        tally.check("SIGKILL while training", [why])
        tally.check("SIGKILL while saving a large session", [why])
        return
    with tally.fault("SIGKILL while training") as problems:
        _check_autosave_after_kill(child, problems)
        if not problems:
            _offer_recovery(app, dialogs, child, problems)
    with tally.fault("SIGKILL while saving a large session") as problems:
        _check_save_after_kill(child, problems)


def _check_autosave_after_kill(child: _Child, problems: list) -> None:
    """The autosave loads and holds what was trained an autosave interval (and some slack) before."""
    from app.core.session import load_session

    try:
        session = load_session(child.autosave)
    except Exception as error:  # noqa: BLE001 - a torn autosave is the failure looked for
        problems.append(f"the autosave does not load: {error}")
        return
    slack = (
        2 * AUTOSAVE_SECONDS + 1.5
    )  # the autosave timer's period, a large save before it, a loaded machine
    logged = [(float(line[1]), int(line[2])) for line in child.log_lines() if line[0] == "epoch"]
    due = max((epoch for t, epoch in logged if t <= child.killed_at - slack), default=0)
    if session.history.latest_epoch <= 0:
        problems.append("the autosave holds no trained epoch")
    elif session.history.latest_epoch < due:
        problems.append(
            f"the autosave holds {session.history.latest_epoch} epochs, but {due} were trained {slack:g} s "
            "before the kill"
        )
    child.autosaved = session


def _offer_recovery(app, dialogs: list, child: _Child, problems: list) -> None:
    """The next start finds the killed app's autosave and offers it back; Yes brings the work back."""
    import numpy as np

    from app.ui.app import offer_recovery
    from app.ui.session_files import autosave_path

    path = autosave_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(child.autosave, path)
    session = child.autosaved
    window = _window(app)
    try:
        asked = len(dialogs)
        offer_recovery(window)
        if not [kind for kind, _ in dialogs[asked:] if kind == "question"]:
            problems.append("the next start did not offer recovery")
        if window.model.history.latest_epoch != session.history.latest_epoch:
            problems.append(
                f"recovered {window.model.history.latest_epoch} of {session.history.latest_epoch} epochs"
            )
        if not np.array_equal(window.model.samples.points, session.samples.points):
            problems.append("the recovered samples differ from the autosave's")
        if not window.model.modified or window.files.path is not None:
            problems.append("the recovered work is not marked unsaved")
    finally:
        _close(app, window)
    path.unlink(missing_ok=True)


def _check_save_after_kill(child: _Child, problems: list) -> None:
    """The file is the last complete save or the one the kill interrupted, never a torn one."""
    from app.core.session import load_session

    lines = child.log_lines()
    saved = [int(line[1]) for line in lines if line[0] == "saved"]
    started = [int(line[1]) for line in lines if line[0] == "saving"]
    try:
        n = load_session(child.target).samples.n
    except Exception as error:  # noqa: BLE001 - a torn file is the failure looked for
        problems.append(f"the file does not load after the kill: {error}")
        return
    if n not in (saved[-1], started[-1]):
        problems.append(f"the file holds {n} samples: neither the last save's ({saved[-1]}) nor the next's")


# --- the killed app -----------------------------------------------------------------------------------------


def _large_session():
    """A session of about 11 MB: a 16-16 network and 4000 epochs of history (random but finite)."""
    import numpy as np

    from app.core.dataset import DEFAULT_PRESET, make_preset
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec
    from app.core.session import Session
    from app.core.torch_model import init_params
    from app.core.training import EpochChunk, TrainConfig

    spec = NetworkSpec((16, 16))
    rng = np.random.default_rng(0)
    history = TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5)
    k = 4000
    history.append(
        EpochChunk(1, rng.normal(size=(k, spec.n_params)), rng.uniform(0, 1, k), rng.uniform(0, 1, k), 0)
    )
    return Session(make_preset(DEFAULT_PRESET), spec, TrainConfig(), history)


def _child(log: Path, target: Path) -> None:
    """The app as _Child describes it, until it is killed."""
    import dataclasses

    from PySide6.QtCore import QTimer

    from app.core.session import save_session

    app = _application()
    window = _window(app)
    session = _large_session()
    target.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", buffering=1) as out:

        def save() -> None:
            nonlocal session
            out.write(f"saving {session.samples.n}\n")
            save_session(target, session)
            out.write(f"saved {session.samples.n}\n")
            more = session.samples.with_sample(
                random.uniform(-1, 1), random.uniform(-1, 1), random.randint(0, 1)
            )
            session = dataclasses.replace(session, samples=more)

        reporter = QTimer()
        reporter.timeout.connect(
            lambda: out.write(f"epoch {time.time():.3f} {window.model.history.latest_epoch}\n")
        )
        reporter.start(50)
        saver = QTimer()
        saver.timeout.connect(save)
        saver.start(0)
        window.training.start()
        app.exec()


if __name__ == "__main__":  # python -m soak.faults LOG TARGET: the app to be killed (see _Child)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _child(Path(sys.argv[1]), Path(sys.argv[2]))
