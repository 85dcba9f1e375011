"""The interpretable network's view: app/ui/essence_view.py, checked against the network it draws."""

from __future__ import annotations

from functools import cache

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPolygonF

from app.core.comparison import compare_models
from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.core.essence import EssenceNetwork, build_essence, nearest_sample_predictor
from app.core.geometry import Rect, clip_line, grid_centres
from app.ui.essence_view import EMPTY_STATUS, QtEssenceView
from app.ui.palette import prediction_lut

PRESETS = ("xor", "moons")


@cache
def built(name: str) -> tuple[SampleSet, EssenceNetwork]:
    samples = make_preset(name)
    return samples, build_essence(samples)


@pytest.fixture(name="view")
def essence_view(qtbot):
    widget = QtEssenceView()
    qtbot.addWidget(widget)
    widget.resize(600, 450)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(view: QtEssenceView, name: str) -> tuple[SampleSet, EssenceNetwork]:
    samples, enn = built(name)
    view.show_essence(enn, samples)
    assert view.refresh()
    return samples, enn


@pytest.mark.parametrize("name", PRESETS)
def test_background_equals_the_network_at_pixel_centres(view, name):
    _, enn = show(view, name)
    image = view.canvas.background_image
    values, placed = image.image, image.mapRectToParent(image.boundingRect())
    rect = view.view_rect()
    assert (placed.x(), placed.y()) == pytest.approx((rect.xmin, rect.ymin))
    assert (placed.width(), placed.height()) == pytest.approx((rect.width, rect.height))
    ny, nx = values.shape
    assert max(nx, ny) == 256 and min(nx, ny) >= 100  # capped at 256, in the view's aspect
    xs, ys = grid_centres(rect, nx, ny)
    rng = np.random.default_rng(1)
    iy, ix = rng.integers(0, ny, 300), rng.integers(0, nx, 300)
    expected = enn.predict_proba(np.column_stack([xs[ix], ys[iy]]))
    np.testing.assert_allclose(values[iy, ix], expected, atol=1e-6)
    np.testing.assert_array_equal(image.lut, prediction_lut())
    assert len(view.canvas.decision_curve.getData()[0]) > 10  # both classes are in view: a boundary


@pytest.mark.parametrize("name", PRESETS)
def test_every_differentia_line_is_drawn_on_its_line_and_named(view, name):
    _, enn = show(view, name)
    canvas, rect = view.canvas, view.view_rect()
    w, b = enn.differentia_w, enn.differentia_b
    crossing = [k for k in range(enn.n_differentiae) if clip_line(w[k], b[k], rect) is not None]
    assert list(canvas.differentia_segments) == crossing
    assert len(crossing) == enn.n_differentiae  # framed on the data, every line crosses the view
    x, y = canvas.differentia_curve.getData()
    drawn = np.column_stack([x, y]).reshape(-1, 2, 2)
    assert len(drawn) == enn.n_differentiae
    for segment, k in zip(drawn, crossing, strict=True):
        np.testing.assert_allclose(segment @ w[k] + b[k], 0.0, atol=1e-9)
        assert all(rect.contains(*end, tolerance=1e-9 * rect.width) for end in segment)
        assert np.linalg.norm(segment[1] - segment[0]) > 0.1 * rect.height
    texts = [label.textItem.toPlainText() for label in canvas.labels]
    labelled = [k for k in crossing if enn.differentia_label(k) in texts]
    assert texts == [enn.differentia_label(k) for k in labelled]
    if name == "xor":  # two lines: each has room for its label
        assert labelled == crossing
    assert len(labelled) >= min(len(crossing), 4)
    for label, k in zip(canvas.labels, labelled, strict=True):
        position = np.array([label.pos().x(), label.pos().y()])
        assert position @ w[k] + b[k] == pytest.approx(0.0, abs=1e-9)
        assert rect.contains(*position)
    outlines = [QPolygonF(label.mapToScene(label.boundingRect())) for label in canvas.labels]
    for i, a in enumerate(outlines):
        assert not any(a.intersects(b) for b in outlines[i + 1 :]), "two labels overlap"


@pytest.mark.parametrize("name", PRESETS)
def test_samples_are_tinted_by_subconcept_with_a_legend(view, name):
    samples, enn = show(view, name)
    dots = view.canvas.subconcept_dots
    assert len(dots) == enn.n_subconcepts
    colours = []
    for j, item in enumerate(dots):
        np.testing.assert_array_equal(
            np.column_stack(item.getData()), samples.points[enn.sample_subconcept == j]
        )
        assert all(brush is None for brush in item.data["brush"])  # every sample: the item's one brush
        colours.append(item.opts["brush"].color().getRgb())
        red, _, blue, _ = colours[-1]
        assert (red > blue) if enn.subconcept_class[j] == RED else (blue > red)  # a shade of its class
    assert len(set(colours)) == enn.n_subconcepts  # every subconcept its own colour
    assert not any(len(item.getData()[0]) for item in view.canvas.sample_dots)  # no plain red/blue dots
    legend = view.canvas.legend.text()
    assert all(name in legend for name in enn.subconcept_names)


@pytest.mark.parametrize("name", PRESETS)
def test_hovering_a_sample_names_its_subconcept(qtbot, view, name):
    samples, enn = show(view, name)
    canvas = view.canvas
    for j, subconcept in enumerate(enn.subconcept_names):
        members = samples.points[enn.sample_subconcept == j]
        point = members[np.argmin(np.linalg.norm(members - members.mean(axis=0), axis=1))]
        pixel = canvas.mapFromScene(canvas.view_box.mapViewToScene(QPointF(*point)))
        qtbot.wait(int(1000 / pg.getConfigOption("mouseRateLimit")) + 5)  # pyqtgraph drops faster moves
        qtbot.mouseMove(canvas.viewport(), pixel)
        assert subconcept in view.hover_text


def test_hover_explains_the_exact_point(view):
    _, enn = show(view, "xor")
    assert view.canvas.explain_at(1.5, 1.5) == enn.explain((1.5, 1.5)) == view.hover_text


def test_set_view_rect_zooms_and_refresh_redraws_only_changes(view):
    samples, enn = show(view, "moons")
    assert not view.refresh()  # nothing changed
    wanted = Rect(-0.5, 1.5, -1.0, 0.25)
    view.set_view_rect(wanted)
    rect = view.view_rect()
    assert rect.xmin <= wanted.xmin + 1e-9 and rect.xmax >= wanted.xmax - 1e-9
    assert rect.ymin <= wanted.ymin + 1e-9 and rect.ymax >= wanted.ymax - 1e-9
    widened_x, widened_y = rect.width / wanted.width, rect.height / wanted.height
    assert min(widened_x, widened_y) == pytest.approx(1.0, rel=1e-6)  # only widened to the view's aspect
    assert view.refresh() and not view.refresh()
    image = view.canvas.background_image
    placed = image.mapRectToParent(image.boundingRect())
    assert placed.width() == pytest.approx(rect.width)
    view.show_essence(enn, samples)  # a requested view stays; it is not re-framed on the data
    assert view.view_rect() == rect


def test_show_comparison_fills_the_table(view):
    samples, enn = show(view, "xor")
    nearest = nearest_sample_predictor(samples)
    comparison = compare_models(samples, SampleSet.empty(), nearest, enn.predict, 9, enn.n_neurons)
    assert view.table.isHidden() and view.agreement.isHidden()
    view.show_comparison(comparison)
    table = view.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(3)]
    assert headers == ["Measure", "MLP", "ENN"]
    cells = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    assert cells == comparison.rows()
    assert cells[0] == ("Training accuracy", "100.0%", "100.0%")
    assert cells[1] == ("Held-out accuracy", "\u2014", "\u2014")
    assert view.agreement.text() == comparison.models_agree_text
    assert table.isVisible() and view.agreement.isVisible()
    moons_samples, moons_enn = built("moons")
    view.show_essence(moons_enn, moons_samples)  # a different network: the comparison is out of date
    assert table.isHidden() and view.agreement.isHidden()


def test_no_network_shows_how_to_build_one(view):
    samples, enn = show(view, "xor")
    assert view.status.text() == f"{enn.n_subconcepts} subconcepts · {enn.n_differentiae} lines · no errors"
    view.show_essence(None, samples)
    assert view.status.text() == EMPTY_STATUS
    assert view.refresh()
    canvas = view.canvas
    assert canvas.background_image.image is None
    x, _ = canvas.differentia_curve.getData()
    assert (x is None or len(x) == 0) and canvas.labels == []
    assert canvas.subconcept_dots == [] and not canvas.legend.isVisible()
    shown = sum(len(canvas.sample_dots[label].getData()[0]) for label in (RED, BLUE))
    assert shown == samples.n  # the samples still show, in their class colours


def test_samples_must_be_the_networks(view):
    samples, enn = built("xor")
    with pytest.raises(ValueError, match="built on 160 samples, not 159"):
        view.show_essence(enn, samples.without_sample(0))


@pytest.mark.parametrize("name", PRESETS)
def test_the_rendered_view_shows_both_classes(view, name, tmp_path):
    show(view, name)
    path = tmp_path / f"essence_view_{name}.png"
    assert view.grab().save(str(path))
    image = view.grab().toImage()
    assert (image.width(), image.height()) == (600, 450)
    lut = prediction_lut()
    colours = {image.pixelColor(x, y).getRgb()[:3] for x in range(0, 600, 7) for y in range(30, 320, 7)}
    assert tuple(lut[0]) in colours and tuple(lut[-1]) in colours  # sure red and sure blue regions


def test_labels_of_an_earlier_network_are_not_left_behind(view):
    show(view, "moons")
    samples = make_preset("circles")
    circles = build_essence(samples)
    view.show_essence(circles, samples)
    assert view.refresh() and len(view.canvas.labels) > 4
    _, xor = show(view, "xor")
    shown = [label for label in view.canvas.label_items if label.isVisible()]
    assert shown == view.canvas.labels and len(shown) == xor.n_differentiae
