"""The article's six pictures, each made by one command (app.core.pictures, the README's table): they are
written at their sizes, and differ as the argument needs (no background, then a background, then the
neurons' lines; the far view covers 20 times the extent; the influence maps; the interpretable network)."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.cli import main
from app.core.pictures import ARTICLE_EPOCHS, ARTICLE_PICTURES, EXTRAPOLATION_ZOOM, VIEWS
from app.ui.palette import neuron_rgb
from app.ui.view_export import VIEW_SIZES


@pytest.fixture(scope="module")
def pictures(qapp, tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("article")
    names = qapp.applicationName(), qapp.organizationName()
    written = {}
    try:
        for picture in ARTICLE_PICTURES:
            path = folder / f"{picture.name}.png"
            assert main(picture.arguments(str(path))) == 0, picture.name
            written[picture.number] = path
    finally:
        qapp.setApplicationName(names[0])
        qapp.setOrganizationName(names[1])
    return written


def rgb(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def tinted_share(path: Path) -> float:
    """The share of the picture's pixels that are coloured (not white or grey): the prediction background
    colours nearly all of a canvas, the samples alone a small part."""
    pixels = rgb(path)
    return float(np.mean(pixels.max(axis=2) - pixels.min(axis=2) > 40))


def neuron_pixels(path: Path) -> list[int]:
    """Pixels of each first-layer neuron's colour (its line and name tag)."""
    pixels = rgb(path)
    return [
        int(np.count_nonzero(np.abs(pixels - np.array(neuron_rgb(0, k, (4, 4)))).sum(axis=2) < 40))
        for k in range(4)
    ]


def view_width(path: Path) -> float:
    xmin, xmax, _ymin, _ymax = map(float, QImage(str(path)).text("Unboxed view rectangle").split())
    return xmax - xmin


def test_six_pictures_one_command_each(pictures):
    assert [p.number for p in ARTICLE_PICTURES] == [1, 2, 3, 4, 5, 6]
    assert set(VIEW_SIZES) == set(VIEWS)
    for picture in ARTICLE_PICTURES:
        image = QImage(str(pictures[picture.number]))
        width, height = VIEW_SIZES[picture.view]
        assert (image.width(), image.height()) == (2 * width, 2 * height), picture.name
        assert image.text("Unboxed view") == picture.view
        assert image.text("Unboxed epoch") == str(picture.epochs)
        assert len(picture.caption.split(". ")) in (2, 3, 4), picture.name  # two or three sentences
    assert ARTICLE_PICTURES[1].epochs == ARTICLE_EPOCHS


def test_the_pictures_differ_as_the_argument_needs(pictures):
    samples, prediction, neurons = (tinted_share(pictures[k]) for k in (1, 2, 3))
    assert samples < 0.12 < 0.6 < prediction, "picture 1: the samples on white; 2: the prediction behind"
    assert max(neuron_pixels(pictures[2])) < 50, "picture 2 draws no neuron lines"
    assert min(neuron_pixels(pictures[3])) > 300, "picture 3 draws all four first-layer lines"
    assert neurons > 0.6
    ratio = view_width(pictures[5]) / view_width(pictures[3])
    assert ratio == pytest.approx(EXTRAPOLATION_ZOOM, rel=0.01), "picture 5 covers a 20x larger extent"
    assert not np.array_equal(rgb(pictures[2]), rgb(pictures[3]))


def test_the_influence_and_interpretable_pictures_show_something(pictures):
    for number in (4, 6):
        pixels = rgb(pictures[number])
        assert tinted_share(pictures[number]) > 0.1, "maps and dots, not an empty frame"
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500


def test_the_readme_gives_the_same_six_commands_and_thumbnails():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    for picture in ARTICLE_PICTURES:
        command = "./run.sh " + " ".join(picture.arguments(f"{picture.name}.png"))
        assert f"`{command}`" in readme, picture.name
        thumbnail = root / "docs" / "article" / f"{picture.name}.png"
        assert f"({thumbnail.relative_to(root)})" in readme and QImage(str(thumbnail)).width() == 300
