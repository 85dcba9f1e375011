"""The interpretable network's view for more than two classes (issue 23): samples, subconcepts and background
in the class colours of the MLP canvas (class_colours), boundaries where the two leading concepts tie; two
classes still through P(blue)'s colour map."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from app.core.dataset import make_preset
from app.core.geometry import grid_centres
from app.core.network import NetworkSpec
from app.core.training import TrainConfig
from app.ui.class_colours import CLASS_PALETTE, PALE_RGB
from app.ui.essence_view import QtEssenceView, subconcept_rgb
from app.ui.main_window import MainWindow
from app.ui.palette import prediction_lut
from tests.ui.test_essence_view import built, essence_view  # noqa: F401 - the view fixture

GOLD = 2  # class 3: gold in class_colours' palette


def background_under(view: QtEssenceView, points: np.ndarray) -> np.ndarray:
    """The background image's pixels (rows grow with y) under data points (n, 2)."""
    image, rect = view.canvas.background_image.image, view.view_rect()
    ny, nx = image.shape[:2]
    ix = np.clip(((points[:, 0] - rect.xmin) / rect.width * nx).astype(int), 0, nx - 1)
    iy = np.clip(((points[:, 1] - rect.ymin) / rect.height * ny).astype(int), 0, ny - 1)
    return image[iy, ix]


def on_screen(view: QtEssenceView, points: np.ndarray) -> np.ndarray:
    """The canvas as drawn (grabbed) at data points (n, 2): RGB (n, 3)."""
    canvas = view.canvas
    image = canvas.grab().toImage()
    ratio = image.devicePixelRatio()
    rgb = []
    for x, y in points:
        at = canvas.mapFromScene(canvas.view_box.mapViewToScene(QPointF(float(x), float(y))))
        rgb.append(image.pixelColor(round(at.x() * ratio), round(at.y() * ratio)).getRgb()[:3])
    return np.array(rgb, dtype=float)


def goldish(rgb: np.ndarray) -> np.ndarray:
    """Gold or pale gold, not red, blue, pale red, pale blue, white or grey."""
    r, g, b = rgb.T
    return (g - b > 30) & (r - b > 40)


def test_three_classes_draw_in_the_class_colours(view):
    samples, enn = built("blobs3")
    view.show_essence(enn, samples)
    assert view.refresh()
    canvas = view.canvas
    image = canvas.background_image.image
    assert image.dtype == np.uint8 and image.shape[2] == 3 and canvas.background_image.lut is None
    np.testing.assert_array_equal(canvas.background_image.levels, [0, 255])
    for k in range(3):  # each class's samples lie in its pale colour
        under = background_under(view, samples.points[samples.labels == k]).astype(float)
        nearest = np.argmin(np.linalg.norm(under[:, None] - PALE_RGB[None, :3], axis=-1), axis=1)
        assert np.mean(nearest == k) > 0.95, k
    # each pixel: the network's class at the pixel's centre, in its pale colour where the network is sure
    ny, nx = image.shape[:2]
    xs, ys = grid_centres(view.view_rect(), nx, ny)
    iy, ix = np.random.default_rng(1).integers(0, (ny, nx), size=(300, 2)).T
    probabilities = enn.probabilities(np.column_stack([xs[ix], ys[iy]]))
    sure = probabilities.max(axis=1) > 0.99
    assert sure.sum() > 200
    nearest = np.argmin(
        np.linalg.norm(image[iy, ix][:, None].astype(float) - PALE_RGB[None, :3], axis=-1), axis=1
    )
    np.testing.assert_array_equal(nearest[sure], np.argmax(probabilities, axis=1)[sure])
    x, _ = canvas.decision_curve.getData()
    assert x is not None and np.isfinite(x).sum() > 20  # where two classes' concepts tie
    colours = subconcept_rgb(enn.subconcept_class)
    assert colours == [CLASS_PALETTE[k] for k in enn.subconcept_class]  # one subconcept a class: its colour
    brushes = [dots.opts["brush"].color().getRgb()[:3] for dots in canvas.subconcept_dots]
    assert brushes == colours
    assert canvas.legend.text().count("<br>") == 2 and "class 3 A" in canvas.legend.text()


def test_gold_is_drawn_around_the_third_class_and_not_elsewhere(view):
    samples, enn = built("blobs3")
    view.show_essence(enn, samples)
    view.refresh()
    rng = np.random.default_rng(0)
    for k in range(3):
        centre = samples.points[samples.labels == k].mean(axis=0)
        around = centre + rng.uniform(-0.8, 0.8, size=(200, 2))  # dots (gold) and background (pale gold)
        share = np.mean(goldish(on_screen(view, around)))
        assert share > 0.7 if k == GOLD else share < 0.05, (k, share)  # the rest: dark outlines and lines


def test_more_subconcepts_are_shades_of_their_class_colour():
    classes = np.array([0, 0, 1, 2, 2, 2])
    hues = []
    for rgb in subconcept_rgb(classes):
        r, g, b = np.array(rgb) / 255.0
        hues.append(np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)) % 360)
    gold = np.degrees(np.arctan2(np.sqrt(3) * (170 - 51), 2 * 221 - 170 - 51)) % 360
    assert all(abs(h - gold) < 30 for h in hues[3:])  # still gold, darker to lighter


def test_two_classes_come_back_to_the_colour_map_after_three(view):
    view.show_essence(*built("blobs3")[::-1])
    view.refresh()
    samples, enn = built("xor")
    view.show_essence(enn, samples)
    assert view.refresh()
    image = view.canvas.background_image
    np.testing.assert_array_equal(image.lut, prediction_lut())
    assert image.image.dtype == np.float32 and image.image.ndim == 2
    np.testing.assert_array_equal(image.levels, [0.0, 1.0])


def test_a_window_of_three_classes_builds_compares_and_shows_it(qtbot):
    samples = make_preset("blobs3")
    window = MainWindow(samples, NetworkSpec((4, 4), "relu", classes=3), TrainConfig())
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.model.train_here(300)
    assert window.essence_builder.build()
    enn = window.essence_builder.essence
    assert enn.n_classes == 3 and (enn.predict(samples.points) == samples.labels).all()
    rows = {row[0]: row[1:] for row in window.essence_builder.comparison.rows()}
    assert rows["Training accuracy"][1] == "100.0%" and rows["Neurons"][0] == "11"
    assert all("nan" not in cell for cells in rows.values() for cell in cells)
    window.essence_builder.follow()  # the comparison at the displayed epoch, as the window's timer asks
    assert window.essence_builder.comparison.epoch == 300
    view = window.essence_view
    qtbot.waitUntil(lambda: view.canvas.width() > 300)  # the splitter gives it half the room once shown
    window.frames.draw_now()
    centre = samples.points[samples.labels == GOLD].mean(axis=0)
    around = centre + np.random.default_rng(1).uniform(-0.6, 0.6, size=(100, 2))
    assert np.mean(goldish(on_screen(view, around))) > 0.7
