"""The hidden-space dock in the window: it draws the displayed epoch's activations, follows scrubbing, keeps
its principal axes, names its axes, highlights a hovered sample on the canvas, and exports alone."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage

from app.core.dataset import make_preset
from app.core.hidden_space import layer_activations, project
from app.core.network import NetworkSpec, pre_activations
from app.ui.class_colours import class_rgb
from app.ui.main_window import MainWindow


def shown_hidden_space(window):
    """Raises the dock's tab and draws the displayed epoch now."""
    window.docks["Hidden space"].raise_()
    window.frames.draw_now()
    return window.hidden_space


def drawn_points(view) -> np.ndarray:
    """Every sample dot the view draws (filled and hollow, all classes), sorted for comparison."""
    parts = [np.column_stack(item.getData()) for item in (*view.sample_dots, *view.held_out_dots)
             if item.isVisible()]  # fmt: skip
    points = np.concatenate(parts)
    return points[np.lexsort(points.T[::-1])]


def sorted_rows(points: np.ndarray) -> np.ndarray:
    return points[np.lexsort(points.T[::-1])]


def test_the_dock_draws_the_displayed_epochs_activations_and_follows_scrubbing(shown_window):
    window = shown_window(60)
    view = shown_hidden_space(window)
    model = window.model
    assert view.layer == 0 and view.neurons is None  # layer 1, principal components
    axes = view.axes
    assert axes.fitted_at == 60
    h = layer_activations(model.spec, model.history.params_at(60), model.samples.points, 0)
    np.testing.assert_allclose(view.picture.coords, project(axes, h), atol=1e-12)
    np.testing.assert_allclose(drawn_points(view), sorted_rows(project(axes, h)), atol=1e-9)
    model.scrub_to(10)
    window.frames.draw_now()
    assert view.axes is axes  # the principal axes stay: the picture moves only as the network does
    h10 = layer_activations(model.spec, model.history.params_at(10), model.samples.points, 0)
    np.testing.assert_allclose(view.picture.coords, project(axes, h10), atol=1e-12)
    np.testing.assert_allclose(drawn_points(view), sorted_rows(project(axes, h10)), atol=1e-9)
    assert "epoch 60" in view.caption.text() and "grid" in view.caption.text()


def test_behind_another_tab_the_view_takes_the_epoch_but_draws_nothing(shown_window):
    window = shown_window(20)
    window.docks["Network"].raise_()
    window.frames.draw_now()
    view = window.hidden_space
    assert view.epoch == 20 and view.frames_drawn == 0 and not view.refresh()
    view = shown_hidden_space(window)
    assert view.frames_drawn >= 1 and view.picture is not None


def test_choosing_two_neurons_changes_the_axes_and_their_names(shown_window):
    window = shown_window(30)
    view = shown_hidden_space(window)
    view.axes_box.setCurrentText("two neurons")
    view.y_box.setCurrentIndex(2)
    window.frames.draw_now()
    assert view.neurons == (0, 2)
    assert view.plot.plotItem.getAxis("bottom").labelText == "L1 N1 activation"
    assert view.plot.plotItem.getAxis("left").labelText == "L1 N3 activation"
    model = window.model
    z = pre_activations(model.spec, model.history.params_at(30), model.samples.points)[0]
    np.testing.assert_allclose(view.picture.coords, np.tanh(z)[:, [0, 2]], atol=1e-12)
    view.x_box.setCurrentIndex(2)  # the neuron the other axis shows: the two swap
    assert view.neurons == (2, 0)
    view.layer_box.setCurrentIndex(1)
    window.frames.draw_now()
    assert view.plot.plotItem.getAxis("bottom").labelText == "L2 N1 activation"
    assert "decision boundary" in view.caption.text()  # the next layer is the output


def test_the_next_layers_lines_are_where_its_neurons_are_zero(shown_window):
    window = shown_window(40, spec=NetworkSpec((2, 3)))
    view = shown_hidden_space(window)
    assert "Exact" in view.caption.text()
    w, b = view.picture.next_weights, view.picture.next_bias
    drawn = 0
    for k, line in enumerate(view.next_lines):
        xs, ys = line.getData()
        if xs is None or not len(xs):
            continue
        assert len(xs) == 5 and np.isnan(xs[2])  # the line, then its tick on the side where it is on
        np.testing.assert_allclose(w[k] @ np.array([xs[:2], ys[:2]]) + b[k], 0.0, atol=1e-9)
        assert abs(w[k] @ np.array([xs[3], ys[3]]) + b[k]) < 1e-9 < w[k] @ np.array([xs[4], ys[4]]) + b[k]
        assert view.next_labels[k].toPlainText() == f"L2 N{k + 1}"
        drawn += 1
    assert drawn >= 1 and len(view.next_lines) == 3


def test_hovering_a_sample_rings_it_on_the_canvas_and_names_it(shown_window):
    window = shown_window(30)
    view = shown_hidden_space(window)
    i = 7
    x, y = view.picture.coords[i]
    scene = view.view_box.mapViewToScene(QPointF(x, y))
    view.plot.scene().sigMouseMoved.emit(scene)
    found = view.hovered
    assert found is not None
    np.testing.assert_allclose(view.picture.coords[found], view.picture.coords[i], atol=1e-3)
    ring = np.column_stack(window.canvas.highlight_ring.getData())
    np.testing.assert_allclose(ring, window.model.samples.points[[found]])
    assert window.canvas.highlight_ring.isVisible()
    assert view.hover_text.startswith(f"Sample {found + 1} · ")
    assert "L1 principal component 1" in view.hover_text
    view.plot.scene().sigMouseMoved.emit(QPointF(-100.0, -100.0))  # off the plot
    assert view.hovered is None and not window.canvas.highlight_ring.isVisible()


def test_k_classes_take_their_colours_and_the_output_its_class_regions(qtbot):
    samples = make_preset("blobs3", seed=0)
    window = MainWindow(samples, NetworkSpec((4, 3)))
    qtbot.addWidget(window)
    window.show()
    from app.ui.app import train_synchronously

    train_synchronously(window, 40)
    view = shown_hidden_space(window)
    view.set_layer(1)
    window.frames.draw_now()
    for label in range(3):
        dots = view.sample_dots[label]
        assert dots.isVisible() and len(dots.getData()[0]) == int(np.sum(samples.labels == label))
        assert dots.opts["brush"].color().getRgb()[:3] == class_rgb(label)
    assert view.plane_image.isVisible() and view.plane_image.image.shape[-1] == 3
    assert "top two classes" in view.caption.text()
    window.close()


def test_the_command_line_exports_the_view_and_refuses_neurons_the_layer_lacks(qapp, tmp_path, capsys):
    from app.cli import main
    from app.ui.view_export import VIEW_SIZES

    names = qapp.applicationName(), qapp.organizationName()
    out = tmp_path / "hidden.png"
    common = ["--preset", "xor", "--layers", "4,3", "--epochs", "30", "--seed", "1"]
    try:
        assert main([*common, "--hidden-layer", "2", "--hidden-neurons", "1,3", "--export-view", "hidden",
                     str(out)]) == 0  # fmt: skip
        capsys.readouterr()
        assert main([*common, "--hidden-layer", "2", "--hidden-neurons", "1,4", "--export-view", "hidden",
                     str(tmp_path / "bad.png")]) == 2  # fmt: skip
        assert "neurons 1 to 3" in capsys.readouterr().err
        export = ["--export-view", "hidden", str(tmp_path / "b.png")]
        assert main([*common, "--hidden-neurons", "2,2", *export]) == 2
        assert main([*common, "--hidden-layer", "3", *export]) == 2
        assert "hidden layers 1 to 2" in capsys.readouterr().err
    finally:
        qapp.setApplicationName(names[0])
        qapp.setOrganizationName(names[1])
    image = QImage(str(out))
    assert (image.width(), image.height()) == tuple(2 * n for n in VIEW_SIZES["hidden"])
    assert image.text("Unboxed view") == "hidden" and image.text("Unboxed epoch") == "30"
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    assert len(colours) > 20  # a picture, not a blank frame
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize("widths", [(1, 3), (3,)])
def test_a_layer_of_one_neuron_and_a_single_layer_network_draw(shown_window, widths):
    window = shown_window(10, spec=NetworkSpec(widths))
    view = shown_hidden_space(window)
    assert view.picture is not None and np.isfinite(view.picture.coords).all()
    if widths[0] == 1:
        assert not view.axes_box.isEnabled()
        np.testing.assert_allclose(view.picture.coords[:, 1], 0.0)


def test_principal_axes_are_fitted_again_when_training_stops(shown_window):
    from app.ui.app import train_synchronously

    window = shown_window(20)
    view = shown_hidden_space(window)
    assert view.axes.fitted_at == 20
    window.model.train_here(10)  # training that goes on keeps the axes
    window.frames.draw_now()
    assert view.axes.fitted_at == 20 and view.epoch == 30
    window.training.runningChanged.emit(False)  # a pause: the newest epoch's components
    window.frames.draw_now()
    assert view.axes.fitted_at == 30 and "epoch 30" in view.caption.text()
    train_synchronously(window, 5)
    window.frames.draw_now()
    assert view.axes.fitted_at == 35


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_in_its_crowded_corner_the_caption_stays_below_the_plot(qtbot, shown_window, size):
    """The dock shares the right-hand column with the settings: its parts once needed more height than the
    window has, and Qt drew the caption over the plot's axis."""
    window = shown_window(50)
    window.resize(*size)
    view = shown_hidden_space(window)
    qtbot.wait(50)
    plot, caption = view.plot.geometry(), view.caption.geometry()
    assert plot.height() >= 100 and caption.height() >= view.caption.heightForWidth(caption.width())
    assert plot.bottom() < caption.top() and caption.bottom() <= view.height()
