"""Data-change marks in the loss plot and on the timeline (issue #19, defect 7): one item however many marks,
at most one line per pixel column, each where its epoch is. A million marks (a 2 MB file) once never
finished; the bound checked here is the drawn count (timing belongs in the benchmarks)."""

import numpy as np
import pytest

from app.ui.loss_plot import QtLossPlot, marks_in_pixels
from app.ui.timeline import QtEpochSlider

MILLION = 1_000_000


@pytest.fixture
def plot(qtbot):
    widget = QtLossPlot()
    widget.set_view("linear")  # the drawn x is then the epoch itself, as these tests read it
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show_history(plot, last_epoch: int, marks) -> None:
    epochs = np.unique(np.linspace(0, last_epoch, 501).round().astype(int))
    loss = np.exp(-epochs / max(1, last_epoch))
    plot.set_history(epochs, loss, 1 - loss / 2, data_changes=tuple(marks))


def drawn_marks(plot) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = plot.mark_curve.getData()
    if xs is None:
        return np.empty(0), np.empty(0)
    return xs, ys


def view_pixels(plot) -> int:
    return int(plot.accuracy_plot.getViewBox().width())


def test_a_million_marks_are_one_item_with_a_segment_per_pixel_column_at_most(plot):
    items = len(plot.accuracy_plot.items)
    marks = range(0, 2 * MILLION, 2)
    show_history(plot, 2 * MILLION, marks)
    plot.grab()
    assert len(plot.accuracy_plot.items) == items  # no item per mark
    xs, ys = drawn_marks(plot)
    pixels = view_pixels(plot)
    assert pixels > 100
    assert len(xs) % 2 == 0 and np.array_equal(xs[0::2], xs[1::2])  # vertical segments
    assert 0.9 * pixels <= len(xs) // 2 <= pixels + 1  # dense marks fill the columns, one segment each
    assert ((xs % 2 == 0) & (xs >= 0) & (xs < 2 * MILLION)).all()  # each one drawn at a mark's own epoch
    (_, _), (y0, y1) = plot.accuracy_plot.getViewBox().viewRange()
    assert (ys[0::2] <= y0).all() and (ys[1::2] >= y1).all()  # across the whole plot, like an infinite line


def test_one_more_mark_while_training_is_cheap_and_appears(plot):
    marks = tuple(range(0, 2 * MILLION, 2))
    show_history(plot, 2 * MILLION + 1000, marks)
    show_history(plot, 2 * MILLION + 1000, (*marks, 2 * MILLION + 500))
    plot.grab()
    xs, _ = drawn_marks(plot)
    assert 2 * MILLION + 500 in xs
    assert len(xs) // 2 <= view_pixels(plot) + 1


def test_sparse_marks_are_drawn_each_at_its_epoch_and_follow_a_new_list(plot):
    show_history(plot, 300, (17, 5, 60, 60))  # any order, repeats allowed
    xs, _ = drawn_marks(plot)
    assert sorted(set(xs.tolist())) == [5, 17, 60]
    show_history(plot, 300, (5, 17, 60, 200))  # the same first marks and a new one
    assert sorted(set(drawn_marks(plot)[0].tolist())) == [5, 17, 60, 200]
    show_history(plot, 300, (42,))  # another session
    assert drawn_marks(plot)[0].tolist() == [42, 42]
    show_history(plot, 300, ())
    assert len(drawn_marks(plot)[0]) == 0


def test_a_narrower_plot_draws_fewer_segments(plot, qtbot):
    show_history(plot, 2 * MILLION, range(0, 2 * MILLION, 2))
    wide = len(drawn_marks(plot)[0]) // 2
    plot.resize(400, 300)
    qtbot.waitUntil(lambda: view_pixels(plot) < 400)
    narrow = len(drawn_marks(plot)[0]) // 2
    assert narrow <= view_pixels(plot) + 1 < wide


def test_thinning_keeps_one_mark_in_each_occupied_column_in_any_order():
    rng = np.random.default_rng(0)
    epochs = rng.integers(-50, 1050, 20000).astype(float)
    shown = marks_in_pixels(epochs, 0.0, 1000.0, 37)
    inside = epochs[(epochs >= 0) & (epochs <= 1000)]

    def columns(values):
        return set((values * 37 / 1000).astype(int).tolist())

    assert np.isin(shown, inside).all()
    assert len(shown) == len(columns(shown)) == len(columns(inside)) <= 38
    assert columns(shown) == columns(inside)
    assert len(marks_in_pixels(epochs, 0.0, 1000.0, 0)) == 0


def slider_with_marks(qtbot, maximum: int, marks: list[int]) -> QtEpochSlider:
    slider = QtEpochSlider()
    qtbot.addWidget(slider)
    slider.resize(600, 30)
    slider.setRange(0, maximum)
    slider.set_marks(marks)
    slider.show()
    qtbot.waitExposed(slider)
    return slider


def test_a_million_marks_paint_on_the_timeline_one_line_per_pixel_column_at_most(qtbot):
    marks = list(range(0, 2 * MILLION, 2))
    slider = slider_with_marks(qtbot, 2 * MILLION, [])
    slider.set_marks(marks)
    slider.set_marks(list(marks))  # the same again, as every frame gives them: no repaint, no rebuild
    slider.grab()
    columns = slider.mark_columns()
    assert 0 < len(columns) <= slider.width()
    assert len(np.unique(columns)) == len(columns)
    slider.set_marks([*marks, 2 * MILLION])
    assert slider.marks[-1] == 2 * MILLION and len(slider.marks) == MILLION + 1


def test_a_timeline_mark_sits_under_the_handle_at_its_epoch(qtbot):
    slider = slider_with_marks(qtbot, 100, [50])
    slider.setValue(50)
    handle = slider.handle_rect()  # drawn on the slider's epoch scale
    (column,) = slider.mark_columns()
    assert abs(column - handle.center().x()) <= 1
    slider.set_marks([0, 100, 250])  # 250 lies past the end: not drawn
    assert len(slider.mark_columns()) == 2
    assert slider.marks == [0, 100, 250]
