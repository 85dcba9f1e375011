"""The window's state as a Session value and back, the autosave file, and the recent-files list.
Everything here maps between the Qt window and app.core.session; the file format lives in the core."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths

from app.core.geometry import Rect
from app.core.session import Session
from app.core.training import Trainer

RECENT_LIMIT = 8
AUTOSAVE_NAME = "autosave.unboxed"


def autosave_seconds() -> float:
    """Minutes matter to users, seconds to tests: UNBOXED_AUTOSAVE_SECONDS overrides the default minute."""
    return float(os.environ.get("UNBOXED_AUTOSAVE_SECONDS", "60"))


def autosave_path() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    return folder / AUTOSAVE_NAME


def recent_files() -> list[str]:
    files = QSettings().value("recent_files", []) or []
    return [f for f in ([files] if isinstance(files, str) else files) if Path(f).exists()]


def remember_recent(path: str) -> None:
    files = [str(Path(path).resolve())] + [f for f in recent_files() if f != str(Path(path).resolve())]
    QSettings().setValue("recent_files", files[:RECENT_LIMIT])


def window_session(window) -> Session:
    """The whole session shown in the window (training must be paused: the trainer is read here)."""
    rect = window.canvas.view_rect()
    options = window.influence_panel.options()
    view = {
        "displayed_epoch": int(window.displayed_epoch),
        "live": bool(window.live),
        "view_rect": [rect.xmin, rect.xmax, rect.ymin, rect.ymax],
        "selected": list(window.selected) if window.selected else None,
        "speed": window.controls.speed(),
        "regions": window.regions_action.isChecked(),
        "regions_fill": window.canvas.regions_fill,
        "layer_curves": sorted(window.canvas.deep_layers_shown),
        "influence": {"layer": options.layer, "accumulated": options.accumulated,
                      "include_bias": options.include_bias, "per_neuron_scale": options.per_neuron_scale},
    }  # fmt: skip
    return Session(window.samples, window.spec, window.config, window.history, window.trainer.state(), view)


def apply_session(window, session: Session) -> None:
    """Shows a loaded session in the window: data, network, settings, history, and the view as saved.
    View entries that are missing or malformed fall back to defaults (the core does not check them)."""
    window.training.stop()
    window.generation += 1
    window.spec, window.config = session.spec, session.config
    window.controls.set_values(session.spec, session.config)
    window.samples = session.samples
    window.undo_stack.clear()
    latest = session.history.latest_epoch
    if session.trainer is not None and session.trainer.epoch == latest:
        window.trainer = Trainer.from_state(session.spec, session.config, session.trainer)
    else:  # no optimizer state, or one that does not match the history: go on from the last recorded epoch
        params = session.history.params_at(latest).copy()
        window.trainer = Trainer(session.spec, session.config, params=params, epoch=latest)
    window.history = session.history
    window._last_data_version = session.samples.version
    window.controls.set_layer_count(len(session.spec.widths))
    window.controls.set_training(False)
    window._show_samples()
    view = session.view
    _try(lambda: window.controls.speed_slider.setValue(_speed_position(view["speed"])))
    _try(lambda: window.regions_action.setChecked(bool(view["regions"])))
    _try(lambda: window.set_regions_fill(str(view["regions_fill"])))
    _try(lambda: _apply_layer_curves(window.controls.layer_boxes, view["layer_curves"]))
    n_hidden = len(session.spec.widths)
    _try(lambda: _apply_influence_options(window.influence_panel, view["influence"], n_hidden))
    if not _try(lambda: window.canvas.set_view_rect(_view_rect(view["view_rect"]))):
        window.canvas.fit_data()
    window.selected = None
    _try(lambda: window.select_neuron(*map(int, view["selected"])) if view["selected"] else None)
    window.live = bool(view.get("live", True))
    epoch = view.get("displayed_epoch", window.history.latest_epoch)
    window.show_epoch(int(epoch) if isinstance(epoch, int) else window.history.latest_epoch)
    window.refresh_curves()


def _view_rect(values) -> Rect:
    """The saved view rectangle, if the canvas can show it (finite, not empty, not wider than 1e300)."""
    xmin, xmax, ymin, ymax = (float(v) for v in values)
    width, height = xmax - xmin, ymax - ymin
    if not all(np.isfinite([xmin, xmax, ymin, ymax, width, height])) or not 0 < max(width, height) < 1e300:
        raise ValueError(f"the view rectangle {values} cannot be shown")
    if min(width, height) <= 0:
        raise ValueError(f"the view rectangle {values} is empty")
    return Rect(xmin, xmax, ymin, ymax)


def _apply_layer_curves(boxes, shown) -> None:
    if not isinstance(shown, list):
        raise TypeError(f"layer_curves must be a list, not {type(shown).__name__}")
    for layer, box in enumerate(boxes, start=1):
        box.setChecked(layer in shown)


def _speed_position(speed) -> int:
    from app.ui.controls import position_of_speed

    return position_of_speed(None if speed is None else float(speed))


def _apply_influence_options(panel, options: dict, n_hidden: int) -> None:
    layer = int(options["layer"])
    if not 0 <= layer < n_hidden:
        raise ValueError(f"no hidden layer {layer} to show influence for")
    panel.layer_box.setCurrentIndex(layer)
    panel.mode_box.setCurrentIndex(1 if options["accumulated"] else 0)
    panel.bias_box.setChecked(bool(options["include_bias"]))
    panel.scale_box.setChecked(bool(options["per_neuron_scale"]))


def _try(action) -> bool:
    """Applies one saved view setting; a hand-edited or foreign value is skipped rather than fatal."""
    try:
        action()
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return False
    return True
