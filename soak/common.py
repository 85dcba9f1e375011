"""What the soak sections share: running the event loop for a while, dialogs that answer at once, memory, a
deadline for a case that may hang."""

from __future__ import annotations

import contextlib
import signal
import time


@contextlib.contextmanager
def event_loop_exceptions():
    """Exceptions that reach the event loop (PySide6 hands them to sys.excepthook) are recorded instead of
    printed: yields the list of their one-line descriptions, which the caller may clear."""
    import sys
    import traceback

    caught: list[str] = []
    saved = sys.excepthook
    sys.excepthook = lambda kind, value, tb: caught.append(
        " | ".join(traceback.format_exception(kind, value, tb)[-3:]).replace("\n", " ")
    )
    try:
        yield caught
    finally:
        sys.excepthook = saved


def pump(milliseconds: float = 0.0) -> None:
    """Lets the event loop run (display timer, training signals, painting) for about this long."""
    from PySide6.QtWidgets import QApplication

    deadline = time.perf_counter() + milliseconds / 1000
    while True:
        QApplication.processEvents()
        if time.perf_counter() >= deadline:
            return
        time.sleep(0.002)


@contextlib.contextmanager
def dialogs_answer_at_once(answer=None):
    """Message boxes return at once (default: Discard, which also closes windows with unsaved changes) and
    are recorded: yields the list of (kind, text) shown."""
    from PySide6.QtWidgets import QMessageBox

    answer = QMessageBox.StandardButton.Discard if answer is None else answer
    shown: list[tuple[str, str]] = []
    saved = {name: getattr(QMessageBox, name) for name in ("warning", "critical", "information", "question")}

    def recorder(kind):
        def record(*args, **kwargs):
            shown.append((kind, str(args[2]) if len(args) > 2 else ""))
            return answer

        return staticmethod(record)

    for name in saved:
        setattr(QMessageBox, name, recorder(name))
    try:
        yield shown
    finally:
        for name, method in saved.items():
            setattr(QMessageBox, name, method)


def resident_megabytes() -> float:
    """This process's resident memory now (Linux /proc), in MiB."""
    import os

    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Hang(BaseException):
    """Raised by `deadline` once time is up (a BaseException: code under test does not catch it)."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raises Hang in the main thread once `seconds` have passed (SIGALRM; where there is none, no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum, frame):
        raise Hang(f"no answer after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
