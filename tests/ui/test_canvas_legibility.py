"""The canvas reads right: the axes show the view's range even at the zoom limit, and the activation regions
leave the prediction's colour readable under them."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app.core.dataset import make_preset
from app.core.network import NetworkSpec, predict_proba
from app.core.training import TrainConfig, Trainer
from app.ui.canvas import QtCanvas


@pytest.fixture
def canvas(qtbot):
    canvas = QtCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(900, 560)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_samples(make_preset("clusters"))
    canvas.fit_data()
    settle(canvas)
    return canvas


def settle(canvas, rounds: int = 5) -> None:
    for _ in range(rounds):
        canvas.viewport().repaint()
        QApplication.processEvents()


def assert_axes_show_the_view(canvas) -> None:
    """Each axis's range is the view's, and the ticks it draws span most of that range."""
    (x0, x1), (y0, y1) = canvas.view_box.viewRange()
    for name, (low, high) in (("bottom", (x0, x1)), ("left", (y0, y1))):
        axis = canvas.plotItem.getAxis(name)
        assert axis.range == pytest.approx([low, high], rel=1e-9), name
        length = axis.width() if name == "bottom" else axis.height()
        ticks = np.concatenate([values for _, values in axis.tickValues(*axis.range, length)])
        assert low <= ticks.min() and ticks.max() <= high, name
        assert ticks.max() - ticks.min() > 0.5 * (high - low), name  # not a tiny old range in the middle


def test_zooming_out_to_the_limit_updates_both_axes(canvas):
    assert_axes_show_the_view(canvas)
    canvas.zoom(100)  # within the limit
    settle(canvas)
    assert_axes_show_the_view(canvas)
    canvas.zoom(100)  # beyond: the view stops at the widest, and its y range changes with the aspect ratio
    settle(canvas)
    assert canvas.view_rect().width > 5000  # the limit was hit: 1e4 data extents wide
    assert_axes_show_the_view(canvas)
    canvas.zoom(100)  # at the limit already
    settle(canvas)
    assert_axes_show_the_view(canvas)
    canvas.resize(700, 600)  # another shape at the limit
    settle(canvas)
    assert_axes_show_the_view(canvas)


def test_zoom_about_data_beyond_the_limit_updates_the_left_axis(canvas):
    canvas.zoom_about_data(10000)  # what --zoom 10000 does
    settle(canvas)
    assert_axes_show_the_view(canvas)
    labels = canvas.plotItem.getAxis("left").tickStrings([-10000.0, 10000.0], 1.0, 10000.0)
    assert labels == ["-10000", "10000"]


def test_zoom_out_shortcut_twice_in_the_window(shown_window):
    window = shown_window()
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    zoom_out = next(a for a in view_menu.actions() if a.text() == "Zoom out ×100")
    zoom_out.trigger()
    settle(window.canvas)
    zoom_out.trigger()
    settle(window.canvas)
    left = window.canvas.plotItem.getAxis("left")
    low, high = window.canvas.view_box.viewRange()[1]
    assert high - low > 5000 and left.range == pytest.approx([low, high])
    assert_axes_show_the_view(window.canvas)


def picture(canvas) -> np.ndarray:
    """The canvas as drawn: (height, width, 3) RGB."""
    canvas.redraw()
    canvas.refresh(full=True)
    settle(canvas, 2)
    image = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


@pytest.mark.parametrize("fill", [None, "patterns"])
def test_regions_leave_the_prediction_readable(canvas, fill):
    """By default the regions are edges over the prediction; a pattern fill is a light tint of it."""
    spec = NetworkSpec((8, 8), "relu")
    trainer = Trainer(spec, TrainConfig(seed=1))
    trainer.run(canvas.samples, 200)
    canvas.show_network(spec, trainer.params)
    without = picture(canvas)
    if fill is not None:
        canvas.set_regions_fill(fill)
    canvas.set_show_regions(True)
    with_regions = picture(canvas)
    assert canvas.regions is not None and canvas.regions.count > 20

    # Pixels of the view where the network is sure (p < 0.05 or > 0.95), clear of the caption.
    view = canvas.view_box.sceneBoundingRect().toRect()
    note = canvas.regions_note.sceneBoundingRect()
    rows, columns = np.mgrid[view.top() + 2 : view.bottom() - 2 : 7, view.left() + 2 : view.right() - 2 : 7]
    pixels = [(r, c) for r, c in zip(rows.ravel(), columns.ravel(), strict=True) if not note.contains(c, r)]
    points = [canvas.view_box.mapSceneToView(canvas.mapToScene(QPoint(c, r))) for r, c in pixels]
    p = predict_proba(spec, trainer.params, np.array([[point.x(), point.y()] for point in points]))
    sure = (p < 0.05) | (p > 0.95)
    assert sure.sum() > 1000 and (p < 0.05).any() and (p > 0.95).any()
    rows, columns = np.array(pixels)[sure].T
    before, after = without[rows, columns], with_regions[rows, columns]
    blue = p[sure] > 0.5
    # Without regions, such pixels are clearly red or clearly blue; with them, they stay so.
    assert np.mean((before[:, 2] > before[:, 0] + 30) == blue) > 0.95
    bluish = after[:, 2] > after[:, 0] + 30
    reddish = after[:, 0] > after[:, 2] + 30
    assert np.mean(np.where(blue, bluish, reddish)) > 0.9  # all but the edges' pixels (and the dots)
    if fill is None:  # edges only: the rest is the prediction as it was
        assert np.mean(np.abs(after - before).max(axis=1) <= 12) > 0.9
