"""The canvas for more than two classes (issue 23): a scatter pair per class, the background in the predicted
class's pale colour by its probability, the boundaries where the top two classes tie, and a key of the class
names; two classes look exactly as before."""

import numpy as np
import pytest

from app.core.dataset import make_preset
from app.core.fields import class_field, prediction_field
from app.core.network import NetworkSpec
from app.ui.app import train_synchronously
from app.ui.canvas_key import BOUNDARIES, BOUNDARY, PALE
from app.ui.class_colours import CLASS_PALETTE, PALE_RGB, class_background
from app.ui.main_window import MainWindow
from app.ui.palette import BLUE_RGB, RED_RGB, neuron_rgb, prediction_lut


@pytest.fixture
def window_of(qtbot):
    windows = []

    def make(samples, spec, epochs):
        window = MainWindow(samples, spec)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        train_synchronously(window, epochs)
        window.frames.draw_now()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def pixels_at(canvas, points: np.ndarray) -> np.ndarray:
    """The background image's pixels (rows grow with y) under data points (n, 2)."""
    image = canvas.background_image.image
    rect = canvas.view_rect()
    ny, nx = image.shape[:2]
    ix = np.clip(((points[:, 0] - rect.xmin) / rect.width * nx).astype(int), 0, nx - 1)
    iy = np.clip(((points[:, 1] - rect.ymin) / rect.height * ny).astype(int), 0, ny - 1)
    return image[iy, ix]


def test_palette_keeps_red_and_blue_first_and_its_colours_apart():
    assert CLASS_PALETTE[:2] == (RED_RGB, BLUE_RGB)
    assert len(set(CLASS_PALETTE)) == 8
    colours = np.array(CLASS_PALETTE, float)
    others = np.array([neuron_rgb(0, j, (8,)) for j in range(8)], float)
    apart = np.linalg.norm(colours[:, None] - colours[None], axis=-1) + 1e3 * np.eye(8)
    assert apart.min() > 60
    assert np.linalg.norm(colours[2:, None] - others[None], axis=-1).min() > 25  # neuron lines differ
    np.testing.assert_array_equal(PALE_RGB[:2], [prediction_lut()[0], prediction_lut()[255]])


def test_three_classes_show_their_samples_background_boundaries_and_key(window_of):
    samples = make_preset("blobs3")
    window = window_of(samples, NetworkSpec((4, 4), classes=3), 300)
    canvas = window.canvas
    counts = [len(dots.data) for dots in canvas.sample_dots]
    assert counts[:3] == [int(np.sum(samples.labels == k)) for k in range(3)] and not any(counts[3:])
    assert [dots.isVisible() for dots in canvas.sample_dots[:4]] == [True, True, True, False]
    image = canvas.background_image.image
    assert image.dtype == np.uint8 and image.ndim == 3 and canvas.background_image.lut is None
    for k in range(3):
        under = pixels_at(canvas, samples.points[samples.labels == k]).astype(float)
        nearest = np.argmin(np.linalg.norm(under[:, None] - PALE_RGB[None, :3], axis=-1), axis=1)
        assert np.mean(nearest == k) > 0.95, k
    x, y = canvas.decision_curve.getData()
    assert x is not None and np.isfinite(x).sum() > 20  # the ties between the three classes
    key = canvas.keys.key
    assert not key.colour_bar and key.isVisible()
    assert key.rows[:4] == [*samples.class_names, PALE] and BOUNDARIES in key.rows
    assert key.swatches == dict(zip(samples.class_names, CLASS_PALETTE[:3], strict=True))
    canvas.grab().save("/tmp/canvas3.png")


def test_two_classes_draw_exactly_as_before(window_of):
    window = window_of(make_preset("clusters"), NetworkSpec((4, 4)), 40)
    canvas = window.canvas
    canvas.render_full()
    image = canvas.background_image.image
    ny, nx = image.shape
    # The unchanged two-class path: P(blue) as float32 through prediction_lut, levels 0 to 1.
    old = prediction_field(window.model.spec, canvas.params, canvas.view_rect(), nx, ny)
    np.testing.assert_array_equal(image, old.values)
    np.testing.assert_array_equal(canvas.background_image.lut, prediction_lut())
    assert tuple(canvas.background_image.levels) == (0.0, 1.0)
    np.testing.assert_array_equal(np.column_stack(canvas.decision_curve.getData()), old.decision_curve())
    assert len(canvas.sample_dots) == 8 and not any(dots.isVisible() for dots in canvas.sample_dots[2:])
    key = canvas.keys.key
    assert key.colour_bar and BOUNDARY in key.rows and not key.swatches
    # The k-class colouring agrees with the two-class map (up to its 256-step quantisation).
    field = class_field(window.model.spec, canvas.params, canvas.view_rect(), nx, ny)
    lut = prediction_lut()[np.round(old.values * 255).astype(int)].astype(int)
    assert np.abs(class_background(field).astype(int) - lut).max() <= 2
