"""The influence maps fill their panel: square, as large as its size allows, re-laid out when it grows; and
each picture of them carries a size key that states the largest influence drawn."""

import math
import re

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QApplication

from app.core.influence import influence
from app.ui.influence_panel import TITLE_PIXELS

WINDOW_SIZES = [(1280, 720), (1600, 1000)]


def settle(qtbot, window) -> None:
    QApplication.processEvents()
    qtbot.wait(20)
    window.frames.render_frame()
    QApplication.processEvents()


@pytest.fixture
def sized_window(shown_window, qtbot):
    def make(width: int, height: int, epochs: int = 80):
        window = shown_window(epochs)
        window.resize(width, height)
        settle(qtbot, window)
        return window

    return make


def pictures(panel) -> list[QRectF]:
    """Each map's picture (the data frame it shows, without its name band), in the maps view's pixels."""
    shown = []
    for box, items in zip(panel.plots, panel.map_items, strict=True):
        rect = items["rect"]
        shown.append(box.mapViewToScene(QRectF(rect.xmin, rect.ymin, rect.width, rect.height)).boundingRect())
    return shown


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", text.split("=")[-1])]


def dark_pixels(image, rect) -> int:
    """Pixels of the image inside rect (widget coordinates) that are dark enough to be text."""
    count = 0
    for x in range(max(int(rect.left()), 0), min(int(rect.right()), image.width())):
        for y in range(max(int(rect.top()), 0), min(int(rect.bottom()), image.height())):
            if image.pixelColor(x, y).lightness() < 110:
                count += 1
    return count


@pytest.mark.parametrize("size", WINDOW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_maps_are_square_fill_the_panel_and_leave_no_gaps_between_rows(sized_window, size):
    window = sized_window(*size)
    panel = window.influence_panel
    view = panel.plots_widget.viewport()
    shown = pictures(panel)
    assert len(shown) == 4
    for picture in shown:
        assert abs(picture.width() - picture.height()) <= 1.0  # square
        assert picture.left() >= -0.5 and picture.right() <= view.width() + 0.5  # inside the view
        assert picture.top() >= TITLE_PIXELS - 0.5 and picture.bottom() <= view.height() + 0.5
    side = min(p.width() for p in shown)
    # two columns of two rows: as wide as the panel allows, or as high as its height allows
    height_allows = (view.height() - 16) / 2 - TITLE_PIXELS
    assert side >= 0.45 * panel.width() or side >= 0.95 * height_allows
    rows = sorted({round(p.top()) for p in shown})
    assert rows[0] <= TITLE_PIXELS + 8  # the first row starts at the top of the view
    for above, below in zip(rows, rows[1:], strict=False):  # only the next map's name band between rows
        assert below - (above + side) <= TITLE_PIXELS + 12
    for k, first in enumerate(shown):
        for second in shown[k + 1 :]:
            assert not first.intersects(second)


@pytest.mark.parametrize("size", WINDOW_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_widening_the_panel_enlarges_the_maps(qtbot, sized_window, size):
    window = sized_window(*size)
    panel, dock = window.influence_panel, window.docks["Influence"]
    before = min(p.width() for p in pictures(panel))
    width_before = panel.width()
    window.resizeDocks([dock], [width_before + 180], Qt.Orientation.Horizontal)
    settle(qtbot, window)
    assert panel.width() > width_before + 100
    after = pictures(panel)
    assert min(p.width() for p in after) >= before + 60
    assert all(abs(p.width() - p.height()) <= 1.0 for p in after)


def test_a_panel_on_its_own_lays_its_maps_out_again_as_it_grows(qtbot):
    """As a floating panel does: 20 maps in a narrow panel, then in a wide one, fill it either way."""
    from app.core.dataset import make_preset
    from app.core.geometry import Rect
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec
    from app.core.torch_model import init_params
    from app.ui.influence_panel import QtInfluencePanel

    spec = NetworkSpec((20,))
    panel = QtInfluencePanel()
    qtbot.addWidget(panel)
    panel.resize(330, 640)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_state(spec, TrainingHistory(spec, init_params(spec, 0), 0.7, 0.5), 0, make_preset("xor"),
                     Rect(-3, 3, -2, 2))  # fmt: skip
    assert panel.refresh()
    narrow = pictures(panel)
    panel.resize(900, 700)
    QApplication.processEvents()
    wide = pictures(panel)
    view = panel.plots_widget.viewport()
    assert min(p.width() for p in wide) > 1.5 * min(p.width() for p in narrow)
    for shown in (narrow, wide):
        assert all(abs(p.width() - p.height()) <= 1.0 for p in shown)
    assert max(p.bottom() for p in wide) <= view.height() and max(p.right() for p in wide) <= view.width()
    # the wide grid uses most of the view: little room is left for another row or column of larger maps
    side = min(p.width() for p in wide)
    columns, rows = len({round(p.left()) for p in wide}), len({round(p.top()) for p in wide})
    assert columns * rows >= 20
    assert (
        columns * (side + 8) >= 0.7 * view.width() or rows * (side + TITLE_PIXELS + 8) >= 0.9 * view.height()
    )


def test_the_size_key_gives_the_largest_influence_per_map_or_for_the_layer(qtbot, sized_window):
    window = sized_window(1280, 720)
    panel = window.influence_panel
    expected = influence(window.model.spec, window.model.history.params_at(80), window.model.samples.points,
                         window.model.samples.labels)[0]  # fmt: skip
    # per-neuron scale: each map writes its own largest influence, the biggest dot's value, beside its name
    assert "dot area ∝ influence" in panel.key_label.text().lower()
    assert "per map" in panel.key_label.text()
    for j, items in enumerate(panel.map_items):
        caption = items["caption_item"]
        assert caption.isVisible()
        (value,) = numbers(caption.toPlainText())
        assert value == pytest.approx(expected[:, j].max(), rel=5e-3)
        assert caption.pos().y() == pytest.approx(items["title_item"].pos().y())  # in the name's band
    # one scale for the layer: one key for the panel, with the layer's largest influence
    panel.scale_box.setChecked(False)
    assert not any(items["caption_item"].isVisible() for items in panel.map_items)
    assert "one scale for the layer" in panel.key_label.text()
    (value,) = numbers(panel.key_label.text())
    assert value == pytest.approx(expected.max(), rel=5e-3)
    # accumulated: the key says so, and its value is the largest accumulated influence
    panel.mode_box.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.refresh() or not panel.status_label.isVisible(), timeout=10000)
    squares = sum(
        influence(window.model.spec, window.model.history.params_at(e), window.model.samples.points,
                  window.model.samples.labels)[0] ** 2
        for e in window.model.history.epochs
    )  # fmt: skip
    accumulated = np.sqrt(squares)
    assert "accumulated influence" in panel.key_label.text()
    (value,) = numbers(panel.key_label.text())
    assert value == pytest.approx(accumulated.max(), rel=5e-3)
    panel.scale_box.setChecked(True)
    for j, items in enumerate(panel.map_items):
        (value,) = numbers(items["caption_item"].toPlainText())
        assert value == pytest.approx(accumulated[:, j].max(), rel=5e-3)


def test_the_size_key_appears_in_a_picture_of_the_panel(sized_window):
    window = sized_window(1280, 720)
    panel = window.influence_panel
    image = panel.grab().toImage()
    key = panel.key_label.geometry()
    assert panel.key_label.isVisible() and dark_pixels(image, key) > 50
    for items in panel.map_items:  # each map's caption is drawn in the picture, in the maps view
        scene_rect = items["caption_item"].sceneBoundingRect()
        top_left = panel.plots_widget.mapTo(panel, panel.plots_widget.mapFromScene(scene_rect.topLeft()))
        caption = QRectF(top_left.x(), top_left.y(), scene_rect.width(), scene_rect.height())
        assert dark_pixels(image, caption) > 20


def test_many_maps_keep_the_key_correct_when_the_captions_do_not_fit(shown_window, qtbot):
    from app.core.network import NetworkSpec

    window = shown_window(10, spec=NetworkSpec((30,)))
    window.resize(1280, 720)
    settle(qtbot, window)
    panel = window.influence_panel
    shown = pictures(panel)
    assert all(abs(p.width() - p.height()) <= 1.0 for p in shown)
    assert min(p.width() for p in shown) >= 40
    largest = panel.values.max(axis=0)
    assert not all(items["caption_item"].isVisible() for items in panel.map_items)  # too small for them
    low, high = numbers(panel.key_label.text())  # so the key gives the range of the maps' largest values
    assert low == pytest.approx(largest.min(), rel=5e-3)
    assert high == pytest.approx(largest.max(), rel=5e-3)


def test_the_grid_chosen_gives_the_largest_square_maps():
    from app.ui.influence_layout import MARGIN, SPACING, best_grid

    rng = np.random.default_rng(1)
    for _ in range(300):
        count = int(rng.integers(1, 70))
        width, height = float(rng.integers(120, 1400)), float(rng.integers(120, 1400))
        grid = best_grid(count, width, height, TITLE_PIXELS)
        assert grid.columns * grid.rows >= count > (grid.rows - 1) * grid.columns
        sides = []
        for columns in range(1, count + 1):
            rows = math.ceil(count / columns)
            sides.append(min((width - 2 * MARGIN - (columns - 1) * SPACING) / columns,
                             (height - 2 * MARGIN - (rows - 1) * SPACING) / rows - TITLE_PIXELS))  # fmt: skip
        if max(sides) >= 12:
            assert grid.side == int(max(sides))
            x, y, w, h = grid.cell(count - 1)
            assert y + h <= height and grid.cell(grid.columns - 1)[0] + w <= width


def test_the_influence_panel_floats_and_its_maps_grow_with_it(shown_window, qtbot):
    from PySide6.QtWidgets import QDockWidget

    window = shown_window(80)
    window.resize(1280, 720)
    settle(qtbot, window)
    dock, panel = window.docks["Influence"], window.influence_panel
    assert dock.features() & QDockWidget.DockWidgetFeature.DockWidgetFloatable
    docked = min(p.width() for p in pictures(panel))
    dock.setFloating(True)
    dock.resize(900, 900)
    settle(qtbot, window)
    floating = pictures(panel)
    assert min(p.width() for p in floating) > 1.8 * docked
    assert all(abs(p.width() - p.height()) <= 1.0 for p in floating)


def test_file_export_writes_the_influence_maps_alone(shown_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage

    window = shown_window(80)
    settle(qtbot, window)
    path = tmp_path / "maps.png"
    monkeypatch.setattr("app.ui.session_files.QFileDialog.getSaveFileName", lambda *args: (str(path), ""))
    export = next(
        a for a in window.menu_actions.export_menu.actions() if a.text().startswith("Influence maps")
    )
    export.trigger()
    image = QImage(str(path))
    panel = window.influence_panel
    assert (image.width(), image.height()) == (2 * panel.width(), 2 * panel.height())
