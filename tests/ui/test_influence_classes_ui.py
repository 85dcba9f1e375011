"""Influence maps and the extrapolation view for more than two classes (issue 23): every class's samples in
its own colour on the trained network's maps and on the interpretable network's, the extrapolation's
background in the predicted class's colour; two classes drawn as before."""

import re

import numpy as np
import pytest

from app.core.dataset import make_preset
from app.core.essence import EssenceNetwork
from app.core.geometry import Rect
from app.core.network import MAX_CLASSES, NetworkSpec
from app.ui.app import train_synchronously
from app.ui.class_colours import CLASS_PALETTE, PALE_RGB, class_rgb
from app.ui.influence_essence import essence_maps
from app.ui.influence_layout import best_grid
from app.ui.influence_maps import SPECK_RGB, TITLE_PIXELS, MapGroup, MapsView
from app.ui.main_window import MainWindow
from app.ui.palette import BLUE_RGB, RED_RGB, prediction_lut


@pytest.fixture
def window_of(qtbot, fresh_settings):
    """window_of(preset, epochs): a shown window on that preset's samples (a (4, 4) network with one output
    per class), trained, with its influence panel and extrapolation view drawn. Its settings (the raised
    extrapolation tab, the size) are this test's alone: later windows would restore them."""
    windows = []

    def make(preset: str, epochs: int) -> MainWindow:
        samples = make_preset(preset)
        window = MainWindow(samples, NetworkSpec((4, 4), classes=samples.classes))
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        qtbot.waitExposed(window)
        train_synchronously(window, epochs)
        window.docks["Extrapolation"].raise_()
        window.frames.draw_now()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def brush_rgb(scatter) -> tuple[int, int, int]:
    colour = scatter.opts["brush"].color()
    return colour.red(), colour.green(), colour.blue()


def positions(scatter) -> np.ndarray:
    return np.column_stack([scatter.data["x"], scatter.data["y"]])


def test_each_class_has_its_dots_in_its_colour_on_every_map(window_of):
    window = window_of("blobs3", 150)
    samples = window.model.samples
    panel = window.influence_panel
    assert len(panel.map_items) == 4
    for items in panel.map_items:
        dots = items["dots"]
        assert len(dots) == MAX_CLASSES and [brush_rgb(d) for d in dots] == list(CLASS_PALETTE)
        for k in range(3):  # every sample is drawn (none has a zero size), in its class's scatter
            np.testing.assert_array_equal(positions(dots[k]), samples.points[samples.labels == k])
            assert dots[k].isVisible()
        assert all(len(d.data) == 0 and not d.isVisible() for d in dots[3:])
    window.grab().save("/tmp/influence_classes_3.png")


def test_two_classes_keep_their_red_and_blue_dots_and_nothing_else(window_of):
    window = window_of("clusters", 40)
    samples = window.model.samples
    for items in window.influence_panel.map_items:
        red, blue, *others = items["dots"]
        assert (brush_rgb(red), brush_rgb(blue)) == (RED_RGB, BLUE_RGB)
        np.testing.assert_array_equal(positions(red), samples.points[samples.labels == 0])
        np.testing.assert_array_equal(positions(blue), samples.points[samples.labels == 1])
        assert all(len(d.data) == 0 and not d.isVisible() for d in others)
        assert all(len(s.data) == 0 for s in items["specks"])  # every sample has a size: no specks
        assert brush_rgb(items["specks"][0]) == SPECK_RGB


def three_class_network(samples) -> tuple[EssenceNetwork, np.ndarray]:
    """A hand-made interpretable network of blobs3: one subconcept per class, a line between each two
    (through the midpoint of their centres), and each line's 'support vectors': the two samples of each side
    nearest the other side's centre, with |dual coefficients| 1 and 2."""
    centres = np.array([samples.points[samples.labels == k].mean(axis=0) for k in range(3)])
    pairs = ((0, 1), (0, 2), (1, 2))
    w = np.array([centres[a] - centres[b] for a, b in pairs])
    b = np.array([-(w[k] @ (centres[a] + centres[bb]) / 2) for k, (a, bb) in enumerate(pairs)])
    values = np.zeros((samples.n, 3))
    for k, pair in enumerate(pairs):
        for side, other in (pair, pair[::-1]):
            members = np.flatnonzero(samples.labels == side)
            distance = np.linalg.norm(samples.points[members] - centres[other], axis=1)
            nearest = members[np.argsort(distance)[:2]]
            values[nearest, k] = (1.0, 2.0)
    enn = EssenceNetwork(
        subconcept_names=("red A", "blue A", "class 3 A"), subconcept_class=np.arange(3),
        sample_subconcept=samples.labels.copy(), differentia_pairs=pairs, differentia_w=w, differentia_b=b,
        subconcept_v=np.zeros((3, 3)), subconcept_c=np.zeros(3), concept_w=np.eye(3), concept_b=np.zeros(3),
    )  # fmt: skip
    return enn, values


def test_the_interpretable_networks_maps_colour_a_third_class_gold(qtbot):
    samples = make_preset("blobs3")
    enn, values = three_class_network(samples)
    rect = Rect(-4.0, 4.0, -4.0, 4.0)
    sizes, contents, largest = essence_maps(enn, values, rect, per_neuron=True)
    assert largest == [2.0, 2.0, 2.0]
    gold = class_rgb(2)
    line = contents[2]  # blue A | class 3 A: positive (the lut's top) on blue's side
    assert tuple(line.lut[0]) == tuple(round(255 + (c - 255) * 0.15) for c in gold)
    assert "rgb({},{},{})".format(*(round(0.8 * c) for c in gold)) in line.name
    assert re.sub("<[^>]+>", "", line.short_name) == "2A|3A"  # small maps: each class's key and letter
    view = MapsView(background="w")
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    group = MapGroup(view)
    group.ensure(3)
    group.place(best_grid(3, 600, 300, TITLE_PIXELS))
    for k, content in enumerate(contents):
        group.draw(k, content, rect, samples.points, samples.labels)
    group.show_texts(range(3))
    dots, (grey, *tinted) = group.map_items[2]["dots"], group.map_items[2]["specks"]
    gold_support = (values[:, 2] > 0) & (samples.labels == 2)
    np.testing.assert_array_equal(positions(dots[2]), samples.points[gold_support])
    assert len(dots[0].data) == 0 and len(dots[1].data) == 2
    others = (values[:, 2] == 0) & (samples.labels == 2)  # class 3's other samples: pale gold specks
    np.testing.assert_array_equal(positions(tinted[2]), samples.points[others])
    assert brush_rgb(tinted[2]) == tuple(round(255 + (c - 255) * 0.55) for c in gold)
    np.testing.assert_array_equal(positions(grey), samples.points[samples.labels == 0])  # not its subconcepts
    view.grab().save("/tmp/influence_essence_classes_3.png")


def background_at(canvas, points: np.ndarray) -> np.ndarray:
    """The background image's pixels (rows grow with y) under data points (n, 2)."""
    image = canvas.background_image.image
    rect = canvas.view_rect()
    ny, nx = image.shape[:2]
    ix = np.clip(((points[:, 0] - rect.xmin) / rect.width * nx).astype(int), 0, nx - 1)
    iy = np.clip(((points[:, 1] - rect.ymin) / rect.height * ny).astype(int), 0, ny - 1)
    return image[iy, ix]


def nearest_pale_class(pixels: np.ndarray) -> np.ndarray:
    return np.argmin(np.linalg.norm(pixels.astype(float)[:, None] - PALE_RGB[None], axis=-1), axis=1)


def test_the_extrapolation_colours_its_background_by_the_predicted_class(window_of):
    window = window_of("blobs3", 300)
    samples = window.model.samples
    view = window.extrapolation
    assert view.isVisible()
    canvas = view.canvas
    image = canvas.background_image.image
    assert image.dtype == np.uint8 and image.ndim == 3 and canvas.background_image.lut is None
    # Far out, beyond each class's cluster as seen from the data's centre, that class is predicted.
    centre = samples.points.mean(axis=0)
    centroids = np.array([samples.points[samples.labels == k].mean(axis=0) for k in range(3)])
    far = centre + 20 * (centroids - centre)
    rect = canvas.view_rect()
    assert all(rect.xmin < x < rect.xmax and rect.ymin < y < rect.ymax for x, y in far)
    np.testing.assert_array_equal(nearest_pale_class(background_at(canvas, far)), [0, 1, 2])
    view.factor_box.setValue(2)  # near the data: the pixels under each class's samples
    window.frames.draw_now()
    for k in range(3):
        under = nearest_pale_class(background_at(canvas, samples.points[samples.labels == k]))
        assert np.mean(under == k) > 0.9, k
    view.grab().save("/tmp/extrapolation_classes_3.png")


def test_the_extrapolation_of_two_classes_keeps_its_colour_map(window_of):
    canvas = window_of("clusters", 40).extrapolation.canvas
    assert canvas.background_image.image.dtype == np.float32
    np.testing.assert_array_equal(canvas.background_image.lut, prediction_lut())
