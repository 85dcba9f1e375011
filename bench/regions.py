"""Activation regions: median time to compute the partition of the default view (the default network, and a
4x32 ReLU network trained on the default preset), the same 4x32 partition by regioncam directly (the
denominator of our ratio), and the median time to show a scrubbed epoch in the whole window with the overlay
on (preview raster, as while dragging the timeline)."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.geometry import Rect
from app.core.network import NetworkSpec, split_params
from app.core.regions import network_regions
from app.core.training import TrainConfig
from bench.common import median_ms

REPEATS = 30
SCRUBS = 100


def regioncam_partition(spec: NetworkSpec, params: np.ndarray, rect: Rect):
    """regioncam over the same rectangle: its square [-1, 1]^2 mapped onto rect by the first layer."""
    import regioncam

    layers = split_params(spec, params)
    centre = np.array([(rect.xmin + rect.xmax) / 2, (rect.ymin + rect.ymax) / 2])
    half = np.diag([rect.width / 2, rect.height / 2])
    partition = regioncam.Regioncam(size=1.0)
    for k, (w, b) in enumerate(layers[:-1]):
        if k == 0:
            w, b = w @ half, w @ centre + b
        partition.linear(w.T.astype(np.float32), b.astype(np.float32))
        partition.relu()
    return partition


def trained_window(spec: NetworkSpec, epochs: int):
    from app.ui.app import make_application, train_synchronously
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(make_preset(DEFAULT_PRESET), spec, TrainConfig())
    window.show()
    app.processEvents()
    train_synchronously(window, epochs)
    window.frames.stop()  # the benchmark drives the drawing itself
    window.canvas.fit_data()
    app.processEvents()
    return app, window


def run() -> dict[str, float]:
    from app.ui.app import close_for_good

    engine.warm_up()
    figures = {}
    for name, spec in (("default", NetworkSpec()), ("4x32", NetworkSpec((32, 32, 32, 32), "relu"))):
        app, window = trained_window(spec, 300)
        rect = window.canvas.view_rect()
        params = window.model.history.params_at(window.model.history.latest_epoch)
        figures[f"regions_ms_{name}"] = median_ms(
            lambda s=spec, p=params, r=rect: network_regions(s, p, r), REPEATS
        )
        if name == "4x32":
            figures["regions_count_4x32"] = float(network_regions(spec, params, rect).count)
            figures["regioncam_ms_4x32"] = median_ms(
                lambda s=spec, p=params, r=rect: regioncam_partition(s, p, r), REPEATS
            )
            figures["regioncam_count_4x32"] = float(regioncam_partition(spec, params, rect).num_faces)
            figures["regions_vs_regioncam"] = figures["regions_ms_4x32"] / figures["regioncam_ms_4x32"]
            window.menu_actions.regions_action.setChecked(True)
            rng = np.random.default_rng(0)
            times = []
            for epoch in rng.integers(0, window.model.history.latest_epoch + 1, SCRUBS):
                started = time.perf_counter()
                window.model.scrub_to(int(epoch))
                window.frames.render_frame(preview=True)
                window.repaint()
                times.append(1000 * (time.perf_counter() - started))
            figures["regions_redraw_ms_4x32"] = float(np.median(times))
        close_for_good(app, window)
        app.processEvents()
    return figures
