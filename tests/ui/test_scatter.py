"""The quick scatter (app/ui/scatter.py) draws exactly what pyqtgraph's own ScatterPlotItem draws: it only
skips pyqtgraph's per-point symbol look-up and a slow allocation, so the pixels must be the same. It leans on
pyqtgraph internals (the record array's fields, the symbol atlas): a pyqtgraph release that changes them fails
here first."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

from app.ui.scatter import cached_scatter


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].copy()


def _scene(qtbot, item, calls):
    view = pg.PlotWidget(background="w")
    qtbot.addWidget(view)
    view.resize(300, 240)
    view.addItem(item)
    for kwargs in calls:
        item.setData(**kwargs)
    view.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
    view.show()
    qtbot.waitExposed(view)
    return _pixels(view)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_quick_scatter_draws_the_same_pixels_as_pyqtgraph(qtbot, seed):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-0.9, 0.9, (400, 2))
    sizes = rng.choice(np.linspace(2, 16, 15), 400)
    style = dict(pen=pg.mkPen((30, 30, 30), width=0.6), brush=pg.mkBrush(200, 40, 40))
    # The last call is what is drawn: points alone (the item's size), points with sizes, pyqtgraph's own way.
    own_way = dict(x=points[:50, 0], y=points[:50, 1], size=7)
    last = (dict(pos=points[::3]), dict(pos=points, size=sizes), own_way)
    calls = [dict(pos=points[:100]), dict(pos=points[50:], size=sizes[50:]), last[seed]]
    quick = _scene(qtbot, cached_scatter(**style), calls)
    plain_item = pg.ScatterPlotItem(**style)
    plain_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as cached_scatter's
    plain = _scene(qtbot, plain_item, calls)
    assert (quick != 255).any(), "something was drawn"
    assert np.array_equal(quick, plain)
