"""Extreme inputs: coordinates of 1e-12 and 1e12 magnitude, 50,000 samples, an 8x64 network, duplicated
points of both classes. Each case opens the main window and trains at full speed while a timer measures how
late the event loop answers (the latency a user feels on a click); each must train or say why (a failure
otherwise). The latency is a figure of the machine: cases over the 100 ms target are reported as slow."""

from __future__ import annotations

import time

import numpy as np

from soak.common import dialogs_answer_at_once, event_loop_exceptions, pump

SECONDS = {True: 0.5, False: 5.0}  # of training per case: quick, full
TICK_MS = 10  # the probe timer's period; its lateness is the event loop's latency
MAX_P95_MS = 100.0
ALONE = True  # measures the event loop: runs when no other section keeps the cores busy


def cases():
    """(name, samples, network spec) of every extreme case."""
    from sklearn.datasets import make_moons

    from app.core.dataset import SampleSet, make_preset
    from app.core.network import NetworkSpec

    clusters = make_preset("clusters")
    points, labels = make_moons(n_samples=50_000, noise=0.1, random_state=0)
    twice = np.vstack([clusters.points[:60], clusters.points[:60]])
    return [
        ("coordinates of 1e-12", SampleSet(clusters.points * 1e-12, clusters.labels), NetworkSpec()),
        ("coordinates of 1e12", SampleSet(clusters.points * 1e12, clusters.labels), NetworkSpec()),
        ("50,000 samples", SampleSet(points, labels), NetworkSpec()),
        ("an 8x64 network", clusters, NetworkSpec((64,) * 8)),
        ("duplicated points of both classes", SampleSet(twice, np.repeat([0, 1], 60)), NetworkSpec()),
    ]


def train_and_probe(samples, spec, seconds: float) -> tuple[np.ndarray, int, str]:
    """Opens a window on these samples, trains at full speed for `seconds` while probing the event loop:
    (latencies in ms, epochs trained, the window's message)."""
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QTimer

    from app.ui.main_window import MainWindow

    window = MainWindow(samples, spec)
    window.show()
    pump(0)
    window.controls.speed_slider.setValue(window.controls.speed_slider.maximum())
    clock, latencies = QElapsedTimer(), []
    probe = QTimer()
    probe.setInterval(TICK_MS)

    def on_tick():
        latencies.append(max(0.0, clock.restart() - TICK_MS))

    probe.timeout.connect(on_tick)
    window.training.start()
    clock.start()
    probe.start()
    pump(1000 * seconds)
    probe.stop()
    epochs, message = window.model.history.latest_epoch, window.message_label.text()
    window.training.stop()
    window.model.set_modified(False)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pump(0)
    return np.array(latencies[1:]), epochs, message


def run(quick: bool) -> dict:
    from app.ui.app import make_application

    make_application()
    failures, slow, latencies = [], [], []
    all_cases = cases()
    with dialogs_answer_at_once(), event_loop_exceptions() as caught:
        for name, samples, spec in all_cases:
            started = time.perf_counter()
            caught.clear()
            try:
                late, epochs, message = train_and_probe(samples, spec, SECONDS[quick])
            except Exception as error:  # noqa: BLE001 - a crash is this case's failure, the others go on
                failures.append(f"{name}: {type(error).__name__}: {error}")
                continue
            failures += [f"{name}: exception in the event loop: {text}" for text in dict.fromkeys(caught)]
            latencies.append(late)
            p95 = float(np.percentile(late, 95)) if len(late) else float("inf")
            if epochs == 0 and not message:
                failures.append(f"{name}: did not train and said nothing")
            if p95 > MAX_P95_MS:  # a figure of this machine, reported; the run's verdict does not rest on it
                slow.append(f"{name}: event-loop latency p95 {p95:.0f} ms (target {MAX_P95_MS:g})")
            took = time.perf_counter() - started
            said = f" · {message}" if message else ""
            print(f"   {name}: {epochs} epochs, p95 latency {p95:.0f} ms, {took:.1f} s{said}")
    every = np.concatenate(latencies) if latencies else np.array([np.inf])
    for line in slow:
        print(f"   SLOW {line}")
    return {"extreme_cases": len(all_cases), "extreme_failures": len(failures),
            "extreme_slow_cases": len(slow), "ui_latency_ms_p95": round(float(np.percentile(every, 95)), 1),
            "failures": failures}  # fmt: skip
