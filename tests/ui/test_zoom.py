"""Zooming far out: sharp backgrounds at every zoom, the extrapolation view, first-layer regions."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.core.geometry import grid_centres
from app.core.network import logits, predict_proba, split_params


@pytest.fixture
def window(shown_window):
    return shown_window(150)


def data_extent(window):
    xmin, xmax, ymin, ymax = window.model.samples.extent()
    return max(xmax - xmin, ymax - ymin), np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])


def sharp_image(window):
    window.canvas.redraw()
    window.canvas.refresh()
    image = window.canvas.background_image
    rect = image.mapRectToParent(image.boundingRect())
    return image.image, rect


def test_wheel_zooms_about_the_cursor(qtbot, window):
    canvas = window.canvas
    before = canvas.view_rect()
    anchor = QPointF(1.0, 0.5)
    pixel = canvas.mapFromScene(canvas.view_box.mapViewToScene(anchor))
    event = QWheelEvent(QPointF(pixel), QPointF(canvas.viewport().mapToGlobal(pixel)), QPoint(0, 0),
                        QPoint(0, -120 * 5), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(canvas.viewport(), event)
    after = canvas.view_rect()
    assert after.width > 1.5 * before.width  # wheel back zooms out
    still = canvas.view_box.mapSceneToView(canvas.mapToScene(pixel))
    assert (
        abs(still.x() - anchor.x()) < 0.02 * after.width and abs(still.y() - anchor.y()) < 0.02 * after.height
    )


def test_zoom_actions_and_fit(window):
    extent, centre = data_extent(window)
    window.canvas.fit_data()
    fitted = window.canvas.view_rect().width
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    actions = {a.text(): a for a in view_menu.actions()}
    actions["Zoom out ×10"].trigger()
    assert window.canvas.view_rect().width == pytest.approx(10 * fitted, rel=1e-6)
    actions["Zoom out ×100"].trigger()
    assert window.canvas.view_rect().width == pytest.approx(1000 * fitted, rel=1e-6)
    actions["Fit data"].trigger()
    assert window.canvas.view_rect().width == pytest.approx(fitted, rel=1e-6)
    window.canvas.zoom_about_data(1e4 / 1.3)  # the widest allowed: 1e4 data extents
    assert window.canvas.view_rect().width == pytest.approx(1e4 * extent, rel=0.05)
    window.canvas.zoom_about_data(1e-3)
    assert window.canvas.view_rect().width < 2e-3 * extent
    rect = window.canvas.view_rect()
    assert rect.contains(*centre)


@pytest.mark.parametrize("zoom", [0.01, 1.0, 100.0, 5000.0])
def test_background_equals_the_network_at_pixel_centres(window, zoom):
    window.canvas.zoom_about_data(zoom)
    values, rect = sharp_image(window)
    ny, nx = values.shape
    view = window.canvas.view_rect()
    assert rect.width() == pytest.approx(view.width) and rect.height() == pytest.approx(view.height)
    assert min(nx, ny) >= 100  # computed for this view at (near) screen resolution, not stretched
    xs, ys = grid_centres(view, nx, ny)
    rng = np.random.default_rng(1)
    iy, ix = rng.integers(0, ny, 200), rng.integers(0, nx, 200)
    expected = predict_proba(window.model.spec, window.canvas.params, np.column_stack([xs[ix], ys[iy]]))
    np.testing.assert_allclose(values[iy, ix], expected, atol=1e-6)


def test_far_field_colour_follows_the_sign_of_the_output(window):
    extent, centre = data_extent(window)
    window.canvas.zoom_about_data(2500)
    values, _ = sharp_image(window)
    view = window.canvas.view_rect()
    ny, nx = values.shape
    checked = 0
    for angle in np.linspace(0, 2 * np.pi, 72, endpoint=False):
        point = centre + 1e3 * extent * np.array([np.cos(angle), np.sin(angle)])
        ix = int((point[0] - view.xmin) / view.width * nx)
        iy = int((point[1] - view.ymin) / view.height * ny)
        patch = values[max(iy - 2, 0) : iy + 3, max(ix - 2, 0) : ix + 3]
        if patch.min() < 0.5 < patch.max():
            continue  # on a boundary at this resolution
        z = logits(window.model.spec, window.canvas.params, point[None, :])[0]
        assert (values[iy, ix] > 0.5) == (z > 0), angle
        checked += 1
    assert checked > 50


def test_data_extent_frame_appears_when_zoomed_out(window):
    window.canvas.fit_data()
    window.canvas.refresh()
    assert not window.canvas.data_frame.isVisible()
    window.canvas.zoom(20)
    window.canvas.refresh()
    assert window.canvas.data_frame.isVisible()


def test_extrapolation_view_shows_the_main_view_and_moves_it(qtbot, window):
    dock = window.docks["Extrapolation"]
    dock.show()
    dock.raise_()
    view = window.extrapolation
    window.canvas.fit_data()
    fitted = window.canvas.view_rect()
    assert view.canvas.view_rect().width == pytest.approx(20 * fitted.width, rel=0.2)
    box = view.main_view_box
    assert tuple(box.pos()) == pytest.approx((fitted.xmin, fitted.ymin))
    assert tuple(box.size()) == pytest.approx((fitted.width, fitted.height))
    box.setPos((fitted.xmin + 30.0, fitted.ymin - 10.0))  # what dragging the rectangle does
    moved = window.canvas.view_rect()
    assert moved.xmin == pytest.approx(fitted.xmin + 30.0) and moved.ymin == pytest.approx(fitted.ymin - 10.0)
    frames = view.canvas.frames_drawn
    window.model.show_epoch(50)
    window.frames.render_frame()  # a sharp frame brings the side views up to the displayed epoch
    assert np.array_equal(view.canvas.params, window.model.history.params_at(50))
    assert view.canvas.frames_drawn > frames


def test_regions_overlay_colours_cells_and_hover_names_neurons_on(qtbot, window):
    window.canvas.set_regions_fill("patterns")  # an option: edges alone by default
    window.menu_actions.regions_action.setChecked(True)
    window.canvas.redraw()
    window.canvas.refresh()
    rgba = window.canvas.region_image.image
    assert rgba.shape[-1] == 4 and window.canvas.region_image.isVisible()
    assert len(np.unique(rgba.reshape(-1, 4), axis=0)) >= 4  # several cells, several colours
    w, b = split_params(window.model.spec, window.canvas.params)[0]
    point = np.array([0.3, -1.2])
    on = w @ point + b > 0
    text = window.canvas.regions_text(*point)
    first_layer = text.split("·")[0].split("L1 ")[1].strip()
    assert first_layer == "".join("1" if o else "0" for o in on)
    window.menu_actions.regions_action.setChecked(False)
    assert not window.canvas.region_image.isVisible()


def test_the_extrapolation_overview_draws_an_even_sample_of_a_very_large_set(qtbot, window):
    from app.core.dataset import SampleSet
    from app.ui.canvas import OVERVIEW_DOTS

    rng = np.random.default_rng(0)
    n = 3 * OVERVIEW_DOTS
    window.model.set_samples(SampleSet(rng.normal(size=(n, 2)), rng.integers(0, 2, n)))
    main = sum(len(dots.data) for dots in window.canvas.sample_dots)
    overview = sum(len(dots.data) for dots in window.extrapolation.canvas.sample_dots)
    assert main == n and 0.9 * OVERVIEW_DOTS <= overview <= OVERVIEW_DOTS


@pytest.mark.parametrize("scale", [1e-100, 1e-12, 0.0])
def test_samples_almost_on_one_point_keep_a_view_to_draw(window, scale):
    """Found by the soak run: two samples 1e-100 apart set zoom limits with the widest view narrower than
    the narrowest, pyqtgraph collapsed the view to a point and every frame raised "empty rectangle"."""
    from app.core.dataset import SampleSet
    from app.ui.canvas import MIN_VIEW_WIDTH

    window.model.set_samples(SampleSet(np.array([[0.0, 0.0], [3.3 * scale, 1.1 * scale]]), np.array([0, 1])))
    for canvas in (window.canvas, window.extrapolation.canvas):
        rect = canvas.view_rect()
        assert rect.width >= MIN_VIEW_WIDTH * 0.99 and rect.height >= MIN_VIEW_WIDTH * 0.99
    window.canvas.zoom(1e6)  # as far out as the limits go
    assert window.canvas.view_rect().width >= MIN_VIEW_WIDTH
    window.frames.render_frame()
    assert sum(len(dots.data) for dots in window.canvas.sample_dots) == 2
