"""Zoom redraw: the time from a zoom step (x1.1 in or out, as one wheel notch) to the end of the repaint of
the whole main window, at the default view and zoomed out 100x, measured in one run."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig

STEPS = 60


def zoom_step_ms(window, zoom_out: float, preview: bool) -> np.ndarray:
    window.canvas.zoom_about_data(zoom_out)
    window.frames.render_frame()
    timings = []
    for k in range(STEPS):
        started = time.perf_counter()
        window.canvas.zoom(1.1 if k % 2 else 1 / 1.1)
        window.frames.render_frame(preview=preview)
        window.repaint()
        timings.append(1000 * (time.perf_counter() - started))
    return np.array(timings)


def run() -> dict[str, float]:
    from app.ui.app import close_for_good, make_application, train_synchronously
    from app.ui.main_window import MainWindow

    engine.warm_up()
    app = make_application()
    window = MainWindow(make_preset(DEFAULT_PRESET), NetworkSpec(), TrainConfig())
    window.show()
    app.processEvents()
    train_synchronously(window, 500)
    window.frames.stop()
    figures = {}
    for preview, name in ((False, "sharp"), (True, "gesture")):
        default = zoom_step_ms(window, 1.0, preview)
        far = zoom_step_ms(window, 100.0, preview)
        figures[f"zoom_{name}_ms_default"] = float(np.median(default))
        figures[f"zoom_{name}_ms_100x"] = float(np.median(far))
        figures[f"zoom_{name}_ratio_100x"] = float(np.median(far) / np.median(default))
    close_for_good(app, window)
    app.processEvents()
    return figures
