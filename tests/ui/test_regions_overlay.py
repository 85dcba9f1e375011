"""The activation-regions overlay: the whole network's pieces on the canvas, following epoch and zoom, hover
text, Ctrl+click lighting the region's neurons in the diagram, and the region-count plot."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.core.network import NetworkSpec, pre_activations
from app.core.regions import network_regions


@pytest.fixture
def relu_window(shown_window):
    window = shown_window(200, spec=NetworkSpec((8, 8), "relu"))
    window.menu_actions.regions_action.setChecked(True)
    window.frames.render_frame()
    return window


def pattern_at(window, x, y):
    params = window.model.history.params_at(window.model.displayed_epoch)
    return np.hstack([z[0] > 0 for z in pre_activations(window.model.spec, params, np.array([[x, y]]))[:-1]])


def test_overlay_draws_the_exact_pieces_and_the_boundary_inside_them(relu_window):
    regions = relu_window.canvas.regions
    assert regions is not None and regions.exact and regions.complete
    assert regions.rect == relu_window.canvas.view_rect()
    expected = network_regions(
        relu_window.model.spec,
        relu_window.model.history.params_at(relu_window.model.history.latest_epoch),
        regions.rect,
    )
    assert regions.count == expected.count > 1
    edges_x, _ = relu_window.canvas.region_edges.getData()
    assert np.isfinite(edges_x).sum() == len(expected.vertices) + regions.count  # every outline, closed
    curve_x, curve_y = relu_window.canvas.decision_curve.getData()
    assert np.allclose(np.column_stack([curve_x, curve_y]), expected.boundary, equal_nan=True)


def test_overlay_follows_the_displayed_epoch_and_the_zoom(relu_window):
    relu_window.model.scrub_to(5)
    relu_window.frames.render_frame()
    early = network_regions(
        relu_window.model.spec, relu_window.model.history.params_at(5), relu_window.canvas.view_rect()
    )
    assert relu_window.canvas.regions.count == early.count
    relu_window.canvas.zoom(100.0)
    relu_window.frames.render_frame()
    far = relu_window.canvas.regions
    assert far.rect == relu_window.canvas.view_rect() and far.rect.width > 50 * early.rect.width
    assert relu_window.extrapolation.canvas.show_regions


def test_hover_text_gives_the_pattern_and_the_local_function(relu_window, shown_window):
    text = relu_window.canvas.regions_text(0.4, -0.9)
    pattern = pattern_at(relu_window, 0.4, -0.9)
    layer1 = "".join("1" if on else "0" for on in pattern[:8])
    layer2 = "".join("1" if on else "0" for on in pattern[8:])
    assert f"L1 {layer1} · L2 {layer2}" in text and "logit =" in text
    smooth = shown_window(20)  # the default tanh network
    smooth.menu_actions.regions_action.setChecked(True)
    smooth.frames.render_frame()
    assert "sign-pattern region" in smooth.canvas.regions_text(0.4, -0.9)
    assert "sign-pattern regions in view" in smooth.canvas.regions_note.textItem.toPlainText()
    assert (
        f"{relu_window.canvas.regions.count} linear regions"
        in relu_window.canvas.regions_note.textItem.toPlainText()
    )
    assert not smooth.canvas.regions.exact


def test_ctrl_click_lights_the_regions_neurons_and_adds_no_sample(qtbot, relu_window):
    canvas = relu_window.canvas
    samples_before = relu_window.model.samples.n
    pixel = canvas.mapFromScene(canvas.view_box.mapViewToScene(QPointF(0.2, 0.3)))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pixel)
    point = canvas.view_box.mapSceneToView(canvas.mapToScene(pixel))
    assert relu_window.model.samples.n == samples_before
    assert np.array_equal(relu_window.network_view.active, pattern_at(relu_window, point.x(), point.y()))
    relu_window.menu_actions.regions_action.setChecked(False)
    assert relu_window.network_view.active is None


def test_region_count_plot_fills_in_over_the_epochs(relu_window):
    plot = relu_window.loss_plot
    assert plot.regions_plot.isVisible()
    for _ in range(50):
        relu_window.frames.update_region_counts()
    epochs, counts = plot.region_counts
    assert epochs[0] == 0 and epochs[-1] == relu_window.model.history.latest_epoch and len(epochs) > 50
    frame = relu_window.model.data_frame()
    k = len(epochs) // 2
    params = relu_window.model.history.params_at(int(epochs[k]))
    assert counts[k] == network_regions(relu_window.model.spec, params, frame).count
    relu_window.menu_actions.regions_action.setChecked(False)
    assert not plot.regions_plot.isVisible()


def test_fill_modes(relu_window):
    relu_window.set_regions_fill("slope")
    relu_window.canvas.redraw()
    relu_window.frames.render_frame()
    alpha = relu_window.canvas.region_image.image[..., 3]
    assert alpha.max() > alpha.min()  # shaded by the slope: not one flat tint
    relu_window.set_regions_fill("none")
    assert not relu_window.canvas.region_image.isVisible() and relu_window.canvas.region_edges.isVisible()


def test_too_many_regions_say_so(shown_window, monkeypatch):
    import app.ui.regions_overlay as overlay_module

    window = shown_window(0, spec=NetworkSpec((32, 32, 32), "relu"))
    capped = lambda spec, params, rect, **kw: network_regions(spec, params, rect, max_regions=50)  # noqa: E731
    monkeypatch.setattr(overlay_module, "network_regions", capped)
    window.menu_actions.regions_action.setChecked(True)
    window.frames.render_frame()
    note = window.canvas.regions_note
    assert note.isVisible() and "zoom in" in note.textItem.toPlainText()
