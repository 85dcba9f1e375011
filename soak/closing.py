"""Closing mid-work: open the main window, train, close it, many times in one process. No training thread may
be left running, Qt may print no warning, and memory may grow by at most MAX_GROWTH_MB over the cycles."""

from __future__ import annotations

import gc
import time

from soak.common import dialogs_answer_at_once, event_loop_exceptions, pump, resident_megabytes

CYCLES = {True: 10, False: 100}  # quick, full
TRAIN_MS = 40
MAX_GROWTH_MB = 50.0
WARM_UP_CYCLES = 2  # caches (fonts, numba, pyqtgraph) fill in the first windows: measured from after them


def one_cycle() -> int:
    """Opens, trains, closes one window (unsaved: "Discard"); returns the training threads still running."""
    from PySide6.QtCore import QCoreApplication, QEvent

    from app import worker
    from app.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    pump(0)
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())
    window.training.start()
    started = time.perf_counter()
    while window.model.history.latest_epoch == 0 and time.perf_counter() - started < 5.0:
        pump(10)
    pump(TRAIN_MS)
    window.close()
    if window.isVisible():
        raise AssertionError("the window did not close")
    window.deleteLater()  # what the app does once its window closed (close_for_good)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pump(0)
    return sum(1 for thread in list(worker.started_threads) if thread.isRunning())


def run(quick: bool) -> dict:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    from app.ui.app import make_application

    make_application()
    warnings: list[str] = []

    def on_message(kind, _context, text):
        if kind != QtMsgType.QtDebugMsg and "propagateSizeHints" not in text:  # offscreen platform noise
            warnings.append(text)

    previous = qInstallMessageHandler(on_message)
    leaked, failures, baseline = 0, [], None
    try:
        with dialogs_answer_at_once(), event_loop_exceptions() as caught:
            for cycle in range(WARM_UP_CYCLES + CYCLES[quick]):
                leaked += one_cycle()
                gc.collect()  # a window is a cycle of Python and Qt objects: collect it now, not later
                if cycle + 1 == WARM_UP_CYCLES:
                    baseline = resident_megabytes()
    finally:
        qInstallMessageHandler(previous)
    gc.collect()
    pump(0)
    growth = resident_megabytes() - baseline
    if leaked:
        failures.append(f"{leaked} training thread(s) still running after their window closed")
    if growth > MAX_GROWTH_MB:
        failures.append(f"memory grew {growth:.0f} MB over {CYCLES[quick]} windows (limit {MAX_GROWTH_MB:g})")
    failures += [f"Qt warning: {text}" for text in dict.fromkeys(warnings)]
    failures += [f"exception in the event loop: {text}" for text in dict.fromkeys(caught)]
    return {"close_cycles": CYCLES[quick], "leaked_threads": leaked, "close_mem_mb": round(growth, 1),
            "qt_warnings": len(warnings), "failures": failures}  # fmt: skip
