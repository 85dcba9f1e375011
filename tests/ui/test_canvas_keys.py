"""The canvas explains itself (#20 item 1): a colour bar for P(blue), a legend of the marks, a name tag on
each first-layer line, and View menu toggles down to the samples alone; the keys are in the picture."""

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app.core.dataset import make_preset
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, Trainer
from app.ui.canvas import QtCanvas
from app.ui.canvas_key import BOUNDARY, COLOUR_BAR_LABELS, COLOUR_BAR_TITLE, HELD_OUT, NEURONS, TICK
from app.ui.exports import export_png


def settle(canvas, rounds: int = 4) -> None:
    for _ in range(rounds):
        canvas.redraw()
        canvas.refresh(full=True)
        canvas.viewport().repaint()
        QApplication.processEvents()


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def in_widget(canvas, item, rect: QRectF) -> QRectF:
    """An item's rectangle in the canvas widget's pixels."""
    return canvas.mapFromScene(item.mapRectToScene(rect)).boundingRect().toRectF()


@pytest.fixture
def canvas(qtbot):
    """A canvas of the clusters preset with a network of `widths` first-layer neurons (default 4)."""

    def make(widths=(4,), size=(900, 560), held_out=None, epochs: int = 0) -> QtCanvas:
        canvas = QtCanvas()
        qtbot.addWidget(canvas)
        canvas.resize(*size)
        canvas.show()
        qtbot.waitExposed(canvas)
        samples = make_preset("clusters")
        canvas.set_samples(samples, held_out)
        canvas.fit_data()
        spec = NetworkSpec(widths, "tanh")
        trainer = Trainer(spec, TrainConfig(seed=3))
        if epochs:
            trainer.run(samples, epochs)
        canvas.show_network(spec, trainer.params)
        settle(canvas)
        return canvas

    return make


def test_colour_bar_shows_the_probability_of_blue(canvas, tmp_path):
    canvas = canvas(epochs=100)
    key = canvas.keys.key
    assert key.isVisible() and key.colour_bar
    assert (COLOUR_BAR_TITLE, COLOUR_BAR_LABELS) == ("P(blue)", ("0", "0.5", "1"))
    bar = in_widget(canvas, key, key.colour_bar_rect())
    assert canvas.view_box.sceneBoundingRect().contains(canvas.mapToScene(bar.center().toPoint()))
    export_png(canvas, str(tmp_path / "canvas.png"))  # the exported picture (2x) carries it too
    for picture, scale in ((rgb(canvas.grab().toImage()), 1), (rgb(QImage(str(tmp_path / "canvas.png"))), 2)):
        y = int(scale * bar.center().y())
        left, middle, right = (
            picture[y, int(scale * (bar.left() + f * bar.width()))] for f in (0.04, 0.5, 0.96)
        )
        assert left[0] > left[2] + 40  # red at 0
        assert right[2] > right[0] + 40  # blue at 1
        assert middle.min() > 235  # white at 0.5


def test_legend_names_every_mark_and_stays_small_in_a_corner(canvas):
    plain = canvas()
    key = plain.keys.key
    assert key.rows == [BOUNDARY, NEURONS, TICK]
    assert BOUNDARY == "decision boundary (p = 0.5)" and NEURONS.startswith("L1 N1")
    assert TICK == "tick: side where the neuron is active" and HELD_OUT == "hollow: held out"
    view = plain.view_box.sceneBoundingRect()
    box = key.sceneBoundingRect()
    assert view.contains(box)
    assert box.width() * box.height() < 0.08 * view.width() * view.height()
    near = [abs(box.left() - view.left()) < 12 or abs(box.right() - view.right()) < 12,
            abs(box.top() - view.top()) < 12 or abs(box.bottom() - view.bottom()) < 12]  # fmt: skip
    assert all(near)  # a corner
    # Out of the samples' way: it covers at most a few of them.
    points = [plain.view_box.mapViewToScene(QPointF(x, y)) for x, y in plain.samples.points]
    assert sum(box.contains(p) for p in points) <= 0.05 * len(points)

    mask = np.zeros(make_preset("clusters").n, bool)
    mask[::5] = True
    held = canvas(held_out=mask)
    assert held.keys.key.rows == [BOUNDARY, NEURONS, TICK, HELD_OUT]


def line_distance(point: QPointF, segment: np.ndarray) -> float:
    a, b = segment
    p = np.array([point.x(), point.y()])
    t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * (b - a))))


@pytest.mark.parametrize("widths,size", [((4,), (900, 560)), ((12,), (700, 450)), ((8, 4), (500, 400))])
def test_each_neuron_line_is_named_and_tags_never_overlap(canvas, widths, size):
    canvas = canvas(widths, size, epochs=50)
    tags = canvas.keys.shown_tags
    segments = canvas.boundaries.segments
    in_view = [j for j, s in enumerate(segments) if s is not None]
    assert len(tags) >= min(len(in_view), 4)  # crowded views may drop a few; hover names them
    rects = [tag.sceneBoundingRect() for tag in tags]
    for a, b in itertools.combinations(rects, 2):
        assert not a.intersects(b)
    view = canvas.view_box.sceneBoundingRect()
    key = canvas.keys.key.sceneBoundingRect()
    for tag, rect in zip(tags, rects, strict=True):
        assert view.contains(rect) and not rect.intersects(key)
        j = canvas.keys.tags.index(tag)
        assert tag.text == f"L1 N{j + 1}"
        scene = [canvas.view_box.mapViewToScene(QPointF(*p)) for p in segments[j]]
        on_line = line_distance(rect.center(), np.array([[p.x(), p.y()] for p in scene]))
        assert on_line < 0.5 * np.hypot(rect.width(), rect.height()) + 2  # on its own line


def test_no_tags_beyond_twelve_lines(canvas):
    canvas = canvas((16,), epochs=0)
    assert sum(s is not None for s in canvas.boundaries.segments) > 12
    assert canvas.keys.shown_tags == []


def view_action(window, text):
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    return next(a for a in view_menu.actions() if a.text() == text)


def test_view_menu_shows_the_samples_alone(shown_window):
    window = shown_window(30)
    canvas = window.canvas
    settle(canvas)
    names = ("Prediction background", "Neuron lines", "Decision boundary")
    actions = [view_action(window, name) for name in names]
    assert all(a.isCheckable() and a.isChecked() for a in actions)
    assert canvas.background_image.isVisible() and canvas.decision_curve.isVisible()
    assert canvas.keys.shown_tags and all(line.isVisible() for line in canvas.neuron_lines)

    j = next(j for j, s in enumerate(canvas.boundaries.segments) if s is not None)
    on_line = canvas.boundaries.segments[j].mean(axis=0)
    assert canvas.boundary_near(*on_line) == (0, j)
    actions[0].trigger()
    settle(canvas)
    assert not canvas.background_image.isVisible() and not canvas.keys.key.colour_bar
    actions[1].trigger()
    settle(canvas)
    assert not any(line.isVisible() for line in canvas.neuron_lines) and canvas.keys.shown_tags == []
    assert canvas.keys.key.rows == [BOUNDARY]
    assert canvas.boundary_near(*on_line) is None  # hover ignores hidden lines
    actions[2].trigger()
    settle(canvas)
    assert not canvas.decision_curve.isVisible() and not canvas.keys.key.isVisible()
    # Samples only: the view is white but for the dots (and the axes' frame).
    picture = rgb(canvas.grab().toImage())
    view = canvas.mapFromScene(canvas.view_box.sceneBoundingRect()).boundingRect().adjusted(3, 3, -3, -3)
    inside = picture[view.top() : view.bottom(), view.left() : view.right()].reshape(-1, 3)
    assert np.mean(inside.min(axis=1) > 245) > 0.85

    for action in actions:
        action.trigger()
    settle(canvas)
    assert canvas.background_image.isVisible() and canvas.decision_curve.isVisible()
    assert canvas.keys.key.rows == [BOUNDARY, NEURONS, TICK] and canvas.keys.key.colour_bar
    assert all(line.isVisible() for line in canvas.neuron_lines)


def test_tags_fade_with_their_lines_when_a_neuron_is_selected(canvas):
    canvas = canvas((4,), epochs=50)
    canvas.set_selected((0, 1))
    settle(canvas)
    opacities = [tag.opacity() for tag in canvas.keys.tags]
    assert opacities[1] == 1.0 and max(opacities[:1] + opacities[2:]) < 0.5
