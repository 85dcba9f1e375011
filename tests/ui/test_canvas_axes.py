"""The canvas's axes cannot make its layout oscillate. The view keeps its aspect ratio, so a left axis that
widens for longer tick labels narrows the view, which changes the y range and with it the labels. In one
soak run the labels switched between '-2' and '-1.8' on every paint: the window stopped answering."""

import pytest
from PySide6.QtWidgets import QApplication

from app.core.geometry import Rect
from app.ui.canvas import QtCanvas

GIVE_UP = 200  # range changes: far more than settling ever takes


VIEW = Rect(-3.5, 3.5, -2.5, 2.5)


@pytest.fixture
def canvas(qtbot):
    canvas = QtCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(539, 376)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_view_rect(VIEW)
    QApplication.processEvents()
    return canvas


def show_view_anew(canvas) -> None:
    """Shows VIEW again after another range: the axes make their labels again."""
    canvas.set_view_rect(Rect(VIEW.xmin * 0.9, VIEW.xmax * 0.9, VIEW.ymin * 0.9, VIEW.ymax * 0.9))
    QApplication.processEvents()
    canvas.set_view_rect(VIEW)


def y_span(canvas) -> float:
    low, high = canvas.view_box.viewRange()[1]
    return high - low


def settle(canvas, rounds: int = 40) -> int:
    """Lets the canvas paint and lay out again `rounds` times; returns how often its range changed."""
    changes = [0]

    def count(*_args):
        changes[0] += 1
        if changes[0] == GIVE_UP:  # breaks an endless loop inside one processEvents call
            canvas.plotItem.getAxis("left").setWidth(60)

    canvas.view_box.sigRangeChanged.connect(count)
    for _ in range(rounds):
        canvas.viewport().repaint()
        QApplication.processEvents()
    canvas.view_box.sigRangeChanged.disconnect(count)
    return changes[0]


def test_labels_that_depend_on_the_range_do_not_make_the_axis_oscillate(canvas):
    axis = canvas.plotItem.getAxis("left")
    # The y span when the axis is narrow, and when it is wide: the view is one or the other shape.
    narrow_span = y_span(canvas)
    axis.tickStrings = lambda values, scale, spacing: ["-1.8000000"] * len(values)
    show_view_anew(canvas)
    settle(canvas, 3)
    wide_span = y_span(canvas)
    assert wide_span != pytest.approx(narrow_span, rel=1e-6), "a wider axis must change the view's shape"
    threshold = (narrow_span + wide_span) / 2

    def labels(values, scale, spacing):  # long exactly when the axis is narrow: each shape calls the other
        long = (y_span(canvas) - threshold) * (narrow_span - threshold) > 0
        return ["-1.8000000" if long else "2" for _ in values]

    axis.tickStrings = labels
    show_view_anew(canvas)
    assert settle(canvas) < 10
    width = axis.width()
    assert settle(canvas) == 0 and axis.width() == width  # settled for good
