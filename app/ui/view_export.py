"""One view of the window alone, as a picture for a page or a slide (the command line's --export-view): the
view is lifted out of the window into a frame of its own at a size fit for a page, drawn at full resolution,
written as PNG (twice the pixels, with what it shows in the file's text fields) or SVG, and put back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtWidgets import QDockWidget, QSplitter, QVBoxLayout, QWidget

from app.core.pictures import VIEWS
from app.ui.exports import export_png, export_svg

# Each view (app.core.pictures.VIEWS) and the size (pixels, before the PNG's doubling) it is drawn at alone;
# the window keeps its own.
VIEW_SIZES: dict[str, tuple[int, int] | None] = {
    "canvas": (900, 760),
    "influence": (880, 900),
    "extrapolation": (760, 720),
    "essence": (900, 820),
    "network": (820, 560),
    "loss": (1000, 380),
    "hidden": (820, 820),
    "window": None,
}
# The influence maps of both networks (the interpretable one built, --essence): wider, and cut to the height
# they need at that width.
BOTH_NETWORKS_INFLUENCE_SIZE = (1000, 1400)


def view_widget(window, view: str) -> QWidget:
    """The widget that shows `view` (one of VIEWS) in the main window `window`."""
    widgets = {
        "canvas": window.canvas,
        "influence": window.influence_panel,
        "extrapolation": window.extrapolation,
        "essence": window.essence_view,
        "network": window.network_view,
        "loss": window.loss_plot,
        "hidden": window.hidden_space,
        "window": window,
    }
    return widgets[view]


@contextmanager
def shown_alone(widget: QWidget, width: int, height: int) -> Iterator[QWidget]:
    """`widget` in a top-level frame of its own, `width` x `height`, shown; afterwards put back where it was
    (a splitter's place, a dock, a layout), hidden again if it was."""
    home = widget.parentWidget()
    was_hidden = widget.isHidden()
    place = home.indexOf(widget) if isinstance(home, QSplitter) else None
    layout = home.layout() if home is not None and not isinstance(home, QDockWidget | QSplitter) else None
    layout_place = layout.indexOf(widget) if layout is not None else -1
    frame = QWidget()
    frame.setWindowTitle("Unboxed")
    column = QVBoxLayout(frame)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(widget)
    widget.show()
    frame.resize(width, height)
    frame.show()
    try:
        yield frame
    finally:
        column.removeWidget(widget)
        if isinstance(home, QDockWidget):
            home.setWidget(widget)
        elif isinstance(home, QSplitter):
            home.insertWidget(place, widget)
        elif home is not None:
            widget.setParent(home)
            if layout is not None and layout_place >= 0:
                layout.insertWidget(layout_place, widget)
        widget.setHidden(was_hidden)
        frame.deleteLater()


def _option_widgets(window, view: str) -> tuple[QWidget, ...]:
    """A view's own settings (boxes, buttons), which a picture for a page goes without; its keys stay."""
    if view == "influence":
        panel = window.influence_panel
        return panel.layer_box, panel.mode_box, panel.bias_box, panel.scale_box
    if view == "hidden":  # the axes' labels and the caption say what the boxes chose
        hidden = window.hidden_space
        return hidden.layer_box, hidden.axes_box, hidden.x_box, hidden.y_box
    return ()


def picture_notes(window, view: str) -> dict[str, str]:
    """What a picture shows, for the PNG's text fields: the view, the epoch and the main view's rectangle."""
    rect = window.canvas.view_rect()
    return {
        "Software": "Unboxed",
        "Unboxed view": view,
        "Unboxed epoch": str(window.model.displayed_epoch),
        "Unboxed view rectangle": f"{rect.xmin!r} {rect.xmax!r} {rect.ymin!r} {rect.ymax!r}",
    }


def _write(widget: QWidget, path: str, notes: dict[str, str]) -> None:
    if path.lower().endswith(".svg"):
        export_svg(widget, path, title=f"Unboxed: {notes['Unboxed view']}")
    else:
        export_png(widget, path, notes=notes)


def export_view(window, view: str, path: str) -> None:
    """Writes `view` (one of VIEWS) of `window` at the displayed epoch to `path` (.png or .svg). Raises
    OSError (with the reason) if the file cannot be written, ValueError for an unknown view."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    notes = picture_notes(window, view)
    size = VIEW_SIZES[view]
    if size is None:
        window.frames.draw_now()
        _write(window, path, notes)
        return
    options = _option_widgets(window, view)
    hidden = [option.isHidden() for option in options]
    for option in options:
        option.hide()
    if view == "influence":  # the samples shown now first: they say whether the second network's maps are
        window.frames.show_influence()
    both = view == "influence" and window.influence_panel.essence_shown()
    width, height = BOTH_NETWORKS_INFLUENCE_SIZE if both else size
    try:
        widget = view_widget(window, view)
        with shown_alone(widget, width, height) as frame:
            window.frames.draw_now()
            if both:
                frame.resize(width, window.influence_panel.height_for_maps(height))
                window.frames.draw_now()
            _write(widget, path, notes)
    finally:
        for option, was_hidden in zip(options, hidden, strict=True):
            option.setHidden(was_hidden)
