"""Seeds side by side: a window of small canvases, one per seed, showing the same samples and settings
trained from different random starts at the main timeline's epoch. A click on one asks to make it the main
run; the grid (caption, key and canvases) is what an export shows. One key beside the caption explains every
canvas: they are too small to carry one each."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.dataset import test_mask
from app.core.seed_runs import DEFAULT_SEEDS, MAX_SEEDS, MIN_SEEDS, SeedRuns
from app.ui.canvas import QtCanvas
from app.ui.canvas_key import NEURON_LINES, QtKeyWidget, legend
from app.ui.class_colours import class_key_rows, class_rgb

MIN_CANVAS = (160, 130)  # pixels: the smallest canvas that still shows lines and samples
MAIN_FRAME = "QFrame#seedTile { border: 3px solid #1f6fd1; border-radius: 4px; }"
OTHER_FRAME = "QFrame#seedTile { border: 3px solid transparent; }"


def key_content(canvas: QtCanvas, held_out: bool) -> tuple[bool, list[str], dict]:
    """What the key says about a canvas of seeds side by side (CanvasKey.set_content's arguments): the main
    canvas's rows, with every class's name and colour (two classes too: these canvases have no other key), and
    the neuron lines without name tags."""
    names = canvas.samples.class_names
    colour_bar, rows, swatches = legend(
        background=canvas.show_background, boundary=canvas.show_decision_boundary,
        neurons=canvas.show_neuron_lines, held_out=held_out and canvas.show_samples,
        classes=class_key_rows(names), neuron_row=NEURON_LINES,
    )  # fmt: skip
    if len(names) <= 2:  # the colour bar explains the background; these rows the dots
        rows = [*names, *rows]
        swatches = {**swatches, **{name: class_rgb(k) for k, name in enumerate(names)}}
    return colour_bar, rows, swatches


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for `count` canvases: one row up to three, then near square (4: 2x2, 9: 3x3)."""
    rows = max(1, math.isqrt(count)) if count > 3 else 1
    return rows, -(-count // rows)


class QtSeedTile(QFrame):
    clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("seedTile")
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.canvas = QtCanvas(interactive=False)
        self.canvas.sharp_seconds /= 4  # several share a frame
        self.canvas.setMinimumSize(*MIN_CANVAS)
        self.canvas.scene().sigMouseClicked.connect(self._canvas_clicked)
        column = QVBoxLayout(self)
        column.setContentsMargins(3, 3, 3, 3)
        column.setSpacing(2)
        column.addWidget(self.title)
        column.addWidget(self.canvas, 1)

    def _canvas_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class QtSeedsView(QWidget):
    """A window of its own (a child of the main window that it closes with)."""

    countChanged = Signal(int)  # the number of seeds asked for
    runClicked = Signal(int)  # index of the run clicked: make it the main run
    exportRequested = Signal()
    shown = Signal()
    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Seeds side by side — Unboxed")
        self.resize(1100, 760)
        self.runs: SeedRuns | None = None
        self.main_seed: int | None = None
        self.epoch = 0
        self.tiles: list[QtSeedTile] = []
        self.count_box = QSpinBox(minimum=MIN_SEEDS, maximum=MAX_SEEDS, value=DEFAULT_SEEDS, suffix=" seeds")
        self.count_box.setToolTip("How many runs: the main run's seed and the next ones")
        self.progress = QLabel()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("The caption and every canvas as one picture")
        row = QHBoxLayout()
        hint = QLabel("Click a canvas to make its seed the main run (Edit > Undo brings the old one back).")
        hint.setStyleSheet("color: #444")
        row.addWidget(hint, 1)
        row.addWidget(self.progress)
        row.addWidget(self.count_box)
        row.addWidget(self.export_button)
        self.grid = QWidget()  # the caption and the canvases: what an export shows
        self.grid.setAutoFillBackground(True)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("font-size: 13px; padding: 4px")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.key = QtKeyWidget()  # what the colours, dots and lines of every canvas are
        self.tile_grid = QGridLayout()
        self.tile_grid.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.key, 0, Qt.AlignmentFlag.AlignTop)
        inner = QVBoxLayout(self.grid)
        inner.setContentsMargins(4, 4, 4, 4)
        inner.addLayout(top)
        inner.addLayout(self.tile_grid, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(row)
        column.addWidget(self.grid, 1)
        self.count_box.valueChanged.connect(self.countChanged)
        self.export_button.clicked.connect(self.exportRequested)

    @property
    def canvases(self) -> list[QtCanvas]:
        return [tile.canvas for tile in self.tiles]

    # --- state in ----------------------------------------------------------------------------------------
    def set_runs(self, runs: SeedRuns, main_seed: int, caption: str) -> None:
        """New runs (new samples, settings or seeds): one canvas each, framing the data, each with its own
        held-out samples hollow."""
        self.runs = runs
        self.caption.setText(caption)
        self._make_tiles(len(runs.seeds))
        samples = runs.samples
        for tile, config in zip(self.tiles, runs.configs, strict=True):
            tile.canvas.set_samples(samples, test_mask(samples.n, config.test_fraction, config.seed))
            tile.canvas.fit_data()
        held_out = any(config.test_fraction > 0 for config in runs.configs)
        self.key.set_content(*key_content(self.canvases[0], held_out))
        self.set_main_seed(main_seed)
        self.show_epoch(self.epoch)

    def _make_tiles(self, count: int) -> None:
        if len(self.tiles) == count:
            return
        for tile in self.tiles:
            self.tile_grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        rows, columns = grid_shape(count)
        for k in range(count):
            tile = QtSeedTile()
            tile.clicked.connect(lambda k=k: self.runClicked.emit(k))
            self.tile_grid.addWidget(tile, k // columns, k % columns)
            self.tiles.append(tile)
        for r in range(rows):
            self.tile_grid.setRowStretch(r, 1)
        for c in range(columns):
            self.tile_grid.setColumnStretch(c, 1)

    def set_main_seed(self, seed: int) -> None:
        """Frames the main run's canvas."""
        self.main_seed = seed
        if self.runs is None:
            return
        for tile, s in zip(self.tiles, self.runs.seeds, strict=True):
            tile.setStyleSheet(MAIN_FRAME if s == seed else OTHER_FRAME)
            tile.setToolTip("The main run's seed" if s == seed else f"Click to make seed {s} the main run")
        self.show_epoch(self.epoch)

    def show_epoch(self, epoch: int) -> None:
        """Every run at `epoch` (a run not trained that far: at its last epoch, and its title says so)."""
        self.epoch = int(epoch)
        runs = self.runs
        if runs is None:
            return
        for k, tile in enumerate(self.tiles):
            history = runs.histories[k]
            shown = min(self.epoch, history.latest_epoch)
            tile.canvas.show_network(runs.spec, history.params_at(shown))
            accuracy = runs.accuracy_at(k, shown)
            seed = runs.seeds[k]
            text = f"<b>seed {seed}</b>" + (" (main run)" if seed == self.main_seed else "")
            text += (
                f" · accuracy {100 * accuracy:.1f}%" if np.isfinite(accuracy) else " · no training samples"
            )
            if runs.diverged[k] and shown == history.latest_epoch:
                text += f" · diverged after epoch {shown:,}"
            elif shown < self.epoch:
                text += f" · at epoch {shown:,} (training…)"
            else:
                text += f" · epoch {shown:,}"
            tile.title.setText(text)

    def set_progress(self, text: str) -> None:
        self.progress.setText(text)

    # --- drawing -----------------------------------------------------------------------------------------
    def on_screen(self) -> bool:
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def refresh(self, preview: bool = False) -> bool:
        """Redraws the canvases whose network changed, when the window is on screen."""
        if not self.on_screen():
            return False
        return any([canvas.refresh(preview) for canvas in self.canvases])

    def render_full(self) -> None:
        for canvas in self.canvases:
            canvas.render_full()

    # --- opening and closing -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown.emit()

    def closeEvent(self, event) -> None:
        self.closed.emit()
        super().closeEvent(event)
