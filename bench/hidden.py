"""Hidden-space redraw: the time from a new displayed epoch to the end of the hidden-space view's repaint,
against the canvas's own sharp redraw and repaint at the same epochs, in one run; at the default set-up and at
4x32 neurons with 2,000 samples. The view shows the last hidden layer, its costliest (the deepest forward
pass, and the output's picture over the plane); the first layer's time is given too."""

from __future__ import annotations

import time

import numpy as np

from app.core import engine
from app.core.dataset import DEFAULT_PRESET, make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig
from bench.engine import moons

STEPS = 60


def redraw_ms(samples, spec: NetworkSpec, config: TrainConfig, epochs: int) -> dict[str, float]:
    """Median milliseconds per redraw at STEPS random epochs: the canvas, the hidden space at its last and
    its first hidden layer (principal components, the default axes)."""
    from app.ui.app import close_for_good, make_application, train_synchronously
    from app.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(samples, spec, config)
    window.show()
    app.processEvents()
    train_synchronously(window, epochs)
    window.frames.stop()  # the benchmark drives the drawing itself
    window.docks["Hidden space"].raise_()
    app.processEvents()
    model, canvas, view = window.model, window.canvas, window.hidden_space
    epochs_drawn = np.random.default_rng(0).integers(0, model.history.latest_epoch + 1, STEPS)

    def canvas_redraw(epoch: int) -> None:
        canvas.show_network(model.spec, model.history.params_at(epoch))
        canvas.refresh(preview=False)
        canvas.repaint()
        app.processEvents()  # the scene's own queued update, for both views alike

    def hidden_redraw(epoch: int) -> None:
        view.show_state(model.spec, model.history, epoch)
        view.refresh()
        view.repaint()
        app.processEvents()

    def median(redraw) -> float:
        redraw(0)  # fills caches, fits the axes
        times = []
        for epoch in epochs_drawn:
            started = time.perf_counter()
            redraw(int(epoch))
            times.append(1000 * (time.perf_counter() - started))
        return float(np.median(times))

    figures = {"canvas": median(canvas_redraw)}
    view.set_layer(len(spec.widths) - 1)
    figures["hidden_last"] = median(hidden_redraw)
    view.set_layer(0)
    figures["hidden_first"] = median(hidden_redraw)
    close_for_good(app, window)
    app.processEvents()
    return figures


def run() -> dict[str, float]:
    engine.warm_up()
    default = redraw_ms(make_preset(DEFAULT_PRESET), NetworkSpec(), TrainConfig(), 500)
    large = redraw_ms(moons(2000), NetworkSpec((32, 32, 32, 32)), TrainConfig(batch_size=32), 100)
    figures = {}
    for name, measured in (("default", default), ("large", large)):
        figures[f"hidden_vs_canvas_{name}"] = measured["hidden_last"] / measured["canvas"]
        figures[f"hidden_ms_{name}"] = measured["hidden_last"]
        figures[f"hidden_first_layer_ms_{name}"] = measured["hidden_first"]
        figures[f"canvas_ms_{name}"] = measured["canvas"]
    return figures
