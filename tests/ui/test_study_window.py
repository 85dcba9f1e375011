"""The Study window (File > New study…): a tiny study runs from it to the end (progress bar at the total,
the summary table's rows, the plots); Cancel mid-study leaves runs.csv with the finished runs and no live
thread or worker process; a bad spec is refused in a dialog and nothing runs; the plots, however many, fit
the window's width."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.study_table import RUNS, read_rows
from app.ui.study_control import StudyControl
from app.ui.study_window import (
    MIN_PLOT_SCALE,
    STARTER_SPEC,
    StudyWindow,
    markdown_tables,
    plot_rows,
    row_scale,
)

TINY = """
[study]
presets = "xor"
layers = "4"
seeds = 2
epochs = 20
"""

LONGER = """
[study]
presets = "moons"
layers = "8,8"
seeds = 200
epochs = 1500
"""


@pytest.fixture
def control(qtbot):
    made = []

    def make(workers: int = 2) -> StudyControl:
        made.append(StudyControl(workers=workers))
        qtbot.addWidget(made[-1].window)
        made[-1].open()
        return made[-1]

    yield make
    for c in made:
        c.window.close()  # cancels and waits, whatever the test left
        c.deleteLater()


def with_spec(c: StudyControl, path, text: str) -> StudyControl:
    """The study window of `c` on a spec file `path` holding `text`."""
    path.write_text(text, encoding="utf-8")
    c.window.set_spec(path)
    return c


def worker_processes() -> list:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


@pytest.mark.timeout(180)
def test_a_tiny_study_runs_from_the_window_to_the_end(control, qtbot, tmp_path):
    c = with_spec(control(), tmp_path / "tiny.toml", TINY)
    assert c.window.out_path == tmp_path / "tiny-study"
    values = []
    c.window.progress.valueChanged.connect(values.append)
    assert c.run()
    assert c.running and not c.window.run_button.isEnabled() and c.window.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not c.running, timeout=150_000)
    out = tmp_path / "tiny-study"
    assert c.window.progress.maximum() == 2 and c.window.progress.value() == 2 and values[-1] == 2
    assert c.window.status.text().startswith("Done: 2 runs")
    assert [r["status"] for r in read_rows(out / RUNS)] == ["ok", "ok"]
    table = c.window.table
    assert table.rowCount() == 1 and table.horizontalHeaderItem(0).text() == "data"
    assert [table.item(0, j).text() for j in (0, 1, 5)] == ["xor", "4", "2"]
    assert c.window.essence_table.rowCount() == 1
    for t in (table, c.window.essence_table):  # every column says what it is when hovered
        tips = [t.horizontalHeaderItem(j).toolTip() for j in range(t.columnCount())]
        assert all(len(tip) > 10 for tip in tips), tips
    focus = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())].index("focus")
    assert "subconcepts" in table.horizontalHeaderItem(focus).toolTip()
    assert len(c.window.plots) >= 4 and all(not label.pixmap().isNull() for label in c.window.plots)
    assert c.window.open_button.isEnabled() and c.window.run_button.isEnabled()
    assert not worker_processes()
    if os.environ.get("STUDY_WINDOW_PNG"):  # a look at the window: STUDY_WINDOW_PNG=path.png
        c.window.resize(1200, 820)
        qtbot.wait(50)
        c.window.grab().save(os.environ["STUDY_WINDOW_PNG"])

    # Run again: everything is done already, nothing runs, the same table.
    assert c.run()
    qtbot.waitUntil(lambda: not c.running, timeout=60_000)
    assert len(read_rows(out / RUNS)) == 2 and c.window.table.rowCount() == 1


@pytest.mark.timeout(180)
def test_cancel_mid_study_leaves_the_finished_runs_and_nothing_running(control, qtbot, tmp_path):
    c = with_spec(control(), tmp_path / "longer.toml", LONGER)
    assert c.run()
    qtbot.waitUntil(lambda: c.window.progress.value() >= 1, timeout=150_000)
    c.window.cancel_button.click()
    assert "Cancelling" in c.window.status.text()
    qtbot.waitUntil(lambda: not c.running, timeout=60_000)
    rows = read_rows(tmp_path / "longer-study" / RUNS)
    assert 1 <= len(rows) < 200 and {r["status"] for r in rows} == {"ok"}
    assert len({(r["config"], r["seed"]) for r in rows}) == len(rows)
    assert c.window.status.text().startswith(f"Cancelled: {len(rows)} runs")
    assert c.window.run_button.isEnabled() and not c.window.cancel_button.isEnabled()
    assert not worker_processes()  # the conftest checks the threads


@pytest.mark.timeout(120)
def test_closing_the_window_mid_study_stops_it(control, qtbot, tmp_path):
    c = with_spec(control(), tmp_path / "longer.toml", LONGER)
    assert c.run()
    qtbot.wait(300)
    c.window.close()
    assert not c.running and not worker_processes()


def test_a_bad_spec_is_refused_in_a_dialog(control, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    spec = tmp_path / "bad.toml"
    spec.write_text('[study]\npresets = ["xor", "no such preset"]\n', encoding="utf-8")
    c = control()
    c.window.set_spec(spec)
    assert not c.run()
    assert len(warnings) == 1 and "no such preset" in warnings[0] and "\n" not in warnings[0]
    assert not c.running and not (tmp_path / "bad-study").exists()
    c.window.spec_text.setPlainText("[study]\npresets = 'xor'\nlearning_rate = -1\n")  # edited in the window
    assert not c.run()
    assert "learning_rate" in warnings[1] and "learning_rate = -1" in spec.read_text(encoding="utf-8")
    c.window.spec_edit.clear()
    assert not c.run() and "choose a spec" in warnings[2]


def test_new_writes_a_starter_spec_and_opens_it(control, tmp_path, monkeypatch):
    target = tmp_path / "mine.toml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    c = control()
    c.window.new_spec()
    assert target.read_text(encoding="utf-8") == STARTER_SPEC
    assert c.window.spec_text.toPlainText() == STARTER_SPEC and c.window.out_path == tmp_path / "mine-study"
    from app.core.study_spec import read_spec

    assert read_spec(target).n_runs == 12  # the example


def test_file_new_study_opens_the_window(shown_window, qtbot):
    window = shown_window()
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "New study…")
    action.trigger()
    from PySide6.QtWidgets import QApplication

    control = QApplication.instance().findChild(StudyControl)
    assert control is not None and control.window.isVisible()
    control.window.close()


def test_markdown_tables():
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| c |\n|---|\n| 3 |\n"
    assert markdown_tables(text) == [[["a", "b"], ["1", "2"]], [["c"], ["3"]]]


def write_plot(path, width: int, height: int = 364) -> None:
    """A stand-in for a study's plot: a PNG of that size (two data sets' box plots are 656 x 364)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    assert image.save(str(path))


def test_plot_rows():
    assert plot_rows([656, 656, 656], 1162) == [[0, 1], [2]]  # side by side at 88%: the third wraps
    assert plot_rows([515, 515, 515, 984], 1562) == [[0, 1, 2], [3]]
    assert plot_rows([2000, 300], 1000) == [[0], [1]]  # alone on its row, scaled to fit
    assert row_scale([2000], 1000) == 0.5 and row_scale([300], 1000) == 1.0  # never enlarged


def test_the_plots_fit_the_window_width_however_many(qtbot, tmp_path):
    """Three plots side by side needed the horizontal scroll bar at 1200 px; a fourth (focus.png) was not
    shown."""
    for name in ("far10.png", "far100.png", "accuracy.png"):
        write_plot(tmp_path / name, 656)
    window = StudyWindow()
    qtbot.addWidget(window)
    window.resize(1200, 820)
    window.show()
    qtbot.waitExposed(window)

    def check(names: list[str]) -> None:
        grid = window.plot_grid
        assert [label.toolTip().split(" ")[0] for label in window.plots] == names
        assert grid.widget().width() <= grid.viewport().width() and not grid.horizontalScrollBar().isVisible()
        for label in window.plots:
            assert not label.pixmap().isNull() and label.isVisible()
            assert 0 <= label.x() and label.geometry().right() < grid.viewport().width()
            natural = QImage(str(tmp_path / label.toolTip().split(" ")[0])).width()
            assert label.width() >= min(MIN_PLOT_SCALE * natural, grid.room())  # legible, or alone on its row

    window.show_results(tmp_path)
    check(["far10.png", "far100.png", "accuracy.png"])
    assert window.plots[0].y() == window.plots[1].y() < window.plots[2].y()  # two side by side, then one
    write_plot(tmp_path / "focus.png", 984)  # a plot added later: shown after the others
    window.show_results(tmp_path)
    check(["far10.png", "far100.png", "accuracy.png", "focus.png"])
    window.resize(1600, 1000)
    qtbot.wait(20)
    check(["far10.png", "far100.png", "accuracy.png", "focus.png"])
    assert window.plots[0].y() == window.plots[2].y() < window.plots[3].y()  # three side by side now
