"""The Study window (File > New study…): a spec file (chosen, or a starter one written), its text to edit,
the output folder, Run and Cancel, a progress bar with the runs done and an ETA, and when the study is done
its summary table and plots (every PNG of the output folder, in rows as wide as the window). A widget only:
app.ui.study_control runs the study and drives it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.study_table import COLUMN_MEANINGS, SUMMARY_MD

PLOTS = ("far10.png", "far100.png", "accuracy.png")  # shown first, in this order; other PNGs after them
MAX_ROWS_SHOWN = 12
MIN_PLOT_SCALE = 0.75  # plots side by side are shrunk at most this far (their text stays legible), else wrap
PLOT_SPACING = 8  # pixels between plots
STARTER_SPEC = """\
# A study: every configuration of the grid below trains from each seed (File > New study…, or
# `python -m app.study THIS.toml`). Every key takes one value or a list; the grid is their product.
[study]
presets = ["xor", "moons"]   # preset names or CSV files (x, y, label; paths relative to this file)
layers = ["4,4", "8"]        # hidden layer widths
activation = "tanh"          # tanh, relu, sigmoid, leaky_relu
seeds = 3                    # seeds 0, 1, 2 (or a list)
epochs = 300
# also: optimizer ("adam", "sgd"), learning_rate (0.03), batch_size (0: full batch), l2 (0),
# test_fraction (0: nothing held out)
"""


def default_out(spec: Path) -> Path:
    """The command line's default: beside the spec, its name + '-study'."""
    return spec.with_name(spec.stem + "-study")


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The tables of a Markdown text (summary.md), each a list of rows of cells, its head first."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-", ":"} and c for c in cells):  # not the |---| line
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def fill_table(table: QTableWidget, rows: list[list[str]]) -> None:
    head, body = (rows[0], rows[1:]) if rows else ([], [])
    table.clear()
    table.setColumnCount(len(head))
    table.setRowCount(len(body))
    table.setHorizontalHeaderLabels(head)
    for j, name in enumerate(head):
        table.horizontalHeaderItem(j).setToolTip(COLUMN_MEANINGS.get(name, ""))
    for i, row in enumerate(body):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(i, j, item)
    table.resizeColumnsToContents()
    shown = min(max(len(body), 1), MAX_ROWS_SHOWN)  # the table as tall as its rows, scrolled beyond
    rows_height = shown * table.verticalHeader().defaultSectionSize()
    extra = table.horizontalScrollBar().sizeHint().height() + 2 * table.frameWidth() + 4
    table.setMaximumHeight(table.horizontalHeader().sizeHint().height() + rows_height + extra)


def plot_files(out: Path | None) -> list[Path]:
    """The study's plots in `out`: PLOTS first, then any other PNG by name (a plot added later shows too)."""
    if out is None or not out.is_dir():
        return []
    others = sorted(path for path in out.glob("*.png") if path.name not in PLOTS)
    return [out / name for name in PLOTS if (out / name).is_file()] + others


def row_scale(widths: list[int], room: int) -> float:
    """The scale (at most 1: never enlarged) at which plots this wide fit side by side in `room` pixels."""
    return min(1.0, (room - PLOT_SPACING * (len(widths) - 1)) / max(sum(widths), 1))


def plot_rows(widths: list[int], room: int) -> list[list[int]]:
    """The plots (their indices, in order) row by row: each beside the ones before it while their row fits
    `room` pixels at MIN_PLOT_SCALE of their size or more, else first on a new row (alone: scaled to fit)."""
    rows: list[list[int]] = []
    for i, width in enumerate(widths):
        if rows and row_scale([widths[j] for j in rows[-1]] + [width], room) >= MIN_PLOT_SCALE:
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


class QtPlotGrid(QScrollArea):
    """The study's plots in rows as wide as the area (it never scrolls sideways), each row scaled to fit, and
    more rows scrolled down to."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, widgetResizable=True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(QWidget())
        self.pictures: list[QPixmap] = []
        self.labels: list[QLabel] = []

    def set_plots(self, paths: list[Path]) -> None:
        for label in self.labels:
            label.deleteLater()
        self.pictures = [QPixmap(str(path)) for path in paths]
        self.labels = [QLabel(self.widget()) for _ in paths]
        for label, path in zip(self.labels, paths, strict=True):
            label.setToolTip(f"{path.name} (full size in the output folder)")
            label.show()
        self.lay_out()

    def room(self) -> int:
        """The width plots may take: the area's, less its frame and a vertical scroll bar (room for it is
        kept whether it shows or not, so that its coming and going never changes the layout)."""
        return self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()

    def lay_out(self) -> None:
        """The plots in rows (plot_rows), each row scaled to fit the room and centred."""
        room, y = self.room(), 0
        for row in plot_rows([picture.width() for picture in self.pictures], room):
            y += self._place_row(row, row_scale([self.pictures[i].width() for i in row], room), room, y)
        self.widget().setMinimumHeight(y)

    def _place_row(self, row: list[int], scale: float, room: int, y: int) -> int:
        """Shows these plots at `scale`, side by side and centred, from height y; returns the row's height
        and the spacing below it."""
        smooth = Qt.TransformationMode.SmoothTransformation
        shown = [self.pictures[i].scaledToWidth(round(self.pictures[i].width() * scale), smooth) for i in row]
        x = max(0, (room - sum(picture.width() for picture in shown) - PLOT_SPACING * (len(row) - 1)) // 2)
        for i, picture in zip(row, shown, strict=True):
            self.labels[i].setPixmap(picture)
            self.labels[i].setGeometry(x, y, picture.width(), picture.height())
            x += picture.width() + PLOT_SPACING
        return max(picture.height() for picture in shown) + PLOT_SPACING

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.lay_out()


class StudyWindow(QWidget):
    runRequested = Signal()
    cancelRequested = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Study")
        self.resize(1100, 760)
        self.spec_edit = QLineEdit(placeholderText="a study's spec: a TOML file with a [study] table")
        self.spec_edit.editingFinished.connect(self._spec_typed)
        self._loaded: Path | None = None  # the spec whose text is shown
        self.spec_text = QPlainTextEdit(placeholderText="Choose a spec, or write a starter spec with New…")
        self.spec_text.setToolTip("The spec's text; your edits are saved to the file when you press Run")
        self.out_edit = QLineEdit(placeholderText="the output folder (default: beside the spec)")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the study on this machine's cores; runs already in the output "
                                   "folder's runs.csv do not run again")  # fmt: skip
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.setToolTip("Stop: the runs that finished stay in runs.csv; Run again to go on")
        self.open_button = QPushButton("Open output folder", enabled=False)
        self.progress = QProgressBar(minimum=0, maximum=1, value=0, format="%v / %m runs")
        self.status = QLabel("Choose a spec, then Run.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget()
        self.essence_table = QTableWidget()
        self.plot_grid = QtPlotGrid()
        self._build()
        self.run_button.clicked.connect(self.runRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.open_button.clicked.connect(self.open_output)

    def _build(self) -> None:
        choose_spec, new_spec, choose_out = (QPushButton(t) for t in ("Choose…", "New…", "Choose…"))
        new_spec.setToolTip("Write a starter spec (the issue's example) into a file you choose, and open it")
        choose_spec.clicked.connect(self.choose_spec)
        new_spec.clicked.connect(self.new_spec)
        choose_out.clicked.connect(self.choose_out)
        files = QGridLayout()
        files.addWidget(QLabel("Spec"), 0, 0)
        files.addWidget(self.spec_edit, 0, 1)
        files.addWidget(choose_spec, 0, 2)
        files.addWidget(new_spec, 0, 3)
        files.addWidget(QLabel("Output"), 1, 0)
        files.addWidget(self.out_edit, 1, 1)
        files.addWidget(choose_out, 1, 2)
        buttons = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.progress, self.open_button):
            buttons.addWidget(widget, stretch=1 if widget is self.progress else 0)
        results = QWidget()
        column = QVBoxLayout(results)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table)
        column.addWidget(self.essence_table)
        column.addWidget(self.plot_grid, stretch=1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.spec_text)
        splitter.addWidget(results)
        splitter.setSizes([120, 640])
        layout = QVBoxLayout(self)
        layout.addLayout(files)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(splitter, stretch=1)

    @property
    def plots(self) -> list[QLabel]:
        """The plots shown, one label each."""
        return self.plot_grid.labels

    # --- the spec and the output folder -------------------------------------------------------------------
    @property
    def spec_path(self) -> Path | None:
        text = self.spec_edit.text().strip()
        return Path(text) if text else None

    @property
    def out_path(self) -> Path | None:
        text = self.out_edit.text().strip()
        if text:
            return Path(text)
        return default_out(self.spec_path) if self.spec_path else None

    def set_spec(self, path: str | Path) -> None:
        """Shows the spec file's text and proposes the output folder beside it."""
        path = self._loaded = Path(path)
        self.spec_edit.setText(str(path))
        try:
            self.spec_text.setPlainText(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            self.spec_text.setPlainText("")
        self.out_edit.setText(str(default_out(path)))
        self.show_results(None)

    def _spec_typed(self) -> None:
        if self.spec_path is not None and self.spec_path != self._loaded:
            self.set_spec(self.spec_path)

    def save_spec(self) -> None:
        """The text edited here, written to the spec file (OSError when it cannot be)."""
        path, text = self.spec_path, self.spec_text.toPlainText()
        if path is None or not text.strip():
            return
        try:
            unchanged = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            unchanged = False
        if not unchanged:
            path.write_text(text, encoding="utf-8")

    def choose_spec(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a study spec", str(self.spec_path or ""),
                                              "Study specs (*.toml);;All files (*)")  # fmt: skip
        if path:
            self.set_spec(path)

    def new_spec(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Write a starter spec", "study.toml",
                                              "Study specs (*.toml)")  # fmt: skip
        if path:
            Path(path).write_text(STARTER_SPEC, encoding="utf-8")
            self.set_spec(path)
            self.status.setText(f"Wrote a starter spec to {path}: edit it here, then Run.")

    def choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", str(self.out_path or ""))
        if path:
            self.out_edit.setText(path)

    def open_output(self) -> None:
        if self.out_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.out_path)))

    # --- running and the results --------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.spec_edit, self.out_edit, self.spec_text):
            widget.setReadOnly(running)

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        self.status.setText(text)

    def show_results(self, out: Path | None) -> None:
        """summary.md's tables and the plots of the study in `out` (cleared for None or a folder without)."""
        md = out / SUMMARY_MD if out is not None else None
        tables = markdown_tables(md.read_text(encoding="utf-8")) if md is not None and md.is_file() else []
        fill_table(self.table, tables[0] if tables else [])
        fill_table(self.essence_table, tables[1] if len(tables) > 1 else [])
        self.table.setVisible(bool(tables))
        self.essence_table.setVisible(len(tables) > 1)
        self.plot_grid.set_plots(plot_files(out))
        self.open_button.setEnabled(out is not None and out.is_dir())

    def closeEvent(self, event) -> None:
        self.closed.emit()
        super().closeEvent(event)
