"""The interpretable network's first-layer lines in the influence panel: one map per line beside the trained
network's maps at the same size, its support vectors sized by |dual coefficient|; gone when the samples
change or the network is hidden, back after a build; in the picture of the panel."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from app.core.essence import EssenceNetwork
from app.ui.influence_layout import GROUP_GAP, MARGIN, SPACING, best_grid, fitting_height, stacked_grids
from app.ui.influence_maps import MAX_DOT, MIN_DOT, SIZE_STEPS, TITLE_PIXELS


@pytest.fixture
def window(shown_window, monkeypatch):
    """A trained window whose interpretable network gives its lines' |dual coefficients|: the network's own
    (EssenceNetwork.differentia_influence), or, where the core does not give them yet, each line's SVM fitted
    again on the training samples of the two subconcepts it separates."""
    w = shown_window(80)
    if not hasattr(EssenceNetwork, "differentia_influence"):
        from sklearn.svm import SVC

        def differentia_influence(enn):
            training = w.model.split()[0]
            values = np.zeros((training.n, enn.n_differentiae))
            for k, (first, second) in enumerate(enn.differentia_pairs):
                members = np.flatnonzero(np.isin(enn.sample_subconcept, (first, second)))
                svm = SVC(kernel="linear", C=enn.settings.c1, class_weight="balanced")
                svm.fit(training.points[members], (enn.sample_subconcept[members] == first).astype(int))
                values[members[svm.support_], k] = np.abs(svm.dual_coef_[0])
            return values

        monkeypatch.setattr(EssenceNetwork, "differentia_influence", differentia_influence, raising=False)
    w.frames.render_frame()
    return w


def built(window) -> EssenceNetwork:
    assert window.essence_builder.build()
    window.frames.render_frame()
    return window.essence_builder.essence


def pictures(group) -> list[QRectF]:
    """Each map's picture (the frame it shows, without its name band) in the maps view's pixels."""
    shown = []
    for box, items in zip(group.plots, group.map_items, strict=True):
        rect = items["rect"]
        shown.append(box.mapViewToScene(QRectF(rect.xmin, rect.ymin, rect.width, rect.height)).boundingRect())
    return shown


def drawn_sizes(items) -> np.ndarray:
    return np.concatenate([dots.data["size"] for dots in items["dots"]])


def test_a_built_network_adds_one_map_per_line_as_large_as_the_trained_networks(window):
    panel = window.influence_panel
    assert not panel.essence_shown() and panel.essence_maps.group.plots == []
    assert panel.key_label.isVisible()  # as without an interpretable network: one key above the maps
    enn = built(window)
    assert panel.essence_shown()
    group = panel.essence_maps.group
    assert len(group.plots) == enn.n_differentiae and len(panel.plots) == 4
    assert group.grid.side == panel.grid.side
    trained, lines = pictures(panel.trained), pictures(group)
    for picture in trained + lines:
        assert picture.width() == pytest.approx(trained[0].width(), abs=1.0)
        assert abs(picture.width() - picture.height()) <= 1.0
    view = panel.plots_widget.viewport()
    assert max(p.bottom() for p in lines) <= view.height() + 0.5
    assert min(p.top() for p in lines) > max(p.bottom() for p in trained)  # under the trained network's
    everything = trained + lines
    for k, first in enumerate(everything):
        assert all(not first.intersects(second) for second in everything[k + 1 :])
    names = [items["title_item"].toPlainText() for items in group.map_items]
    short = [label.replace("red ", "").replace("blue ", "").replace(" | ", "|") for label in
             (enn.differentia_label(k) for k in range(enn.n_differentiae))]  # fmt: skip
    assert all(name in (enn.differentia_label(k), short[k]) for k, name in enumerate(names))
    # each group says which network it is and what its dots' size means; the key above the maps goes
    assert not panel.key_label.isVisible()
    trained_heading = panel.trained.heading.toPlainText()
    essence_heading = group.heading.toPlainText()
    assert trained_heading.startswith("Trained network: layer 1") and "gradient norm" in trained_heading
    assert essence_heading.startswith("Interpretable network: its first-layer lines")
    assert "|SVM dual coefficient|" in essence_heading and "support vectors" in essence_heading
    assert panel.trained.heading.y() < min(p.top() for p in trained)
    assert max(p.bottom() for p in trained) < group.heading.y() < min(p.top() for p in lines)


def test_only_support_vectors_have_a_dot_and_a_larger_coefficient_a_larger_one(window):
    enn = built(window)
    panel = window.influence_panel
    values, sizes = enn.differentia_influence(), panel.essence_maps.sizes
    assert values.shape == sizes.shape == (window.model.split()[0].n, enn.n_differentiae)
    np.testing.assert_array_equal(sizes > 0, values > 0)
    for k, items in enumerate(panel.essence_maps.group.map_items):
        support = np.flatnonzero(values[:, k] > 0)
        assert len(support) >= 2  # an SVM has support vectors of both sides
        order = support[np.argsort(values[support, k])]
        assert (np.diff(sizes[order, k]) >= 0).all()  # area grows with |dual coefficient|
        assert sizes[order[-1], k] == pytest.approx(MAX_DOT) and sizes[order, k].min() >= MIN_DOT
        np.testing.assert_allclose(sorted(drawn_sizes(items)), sorted(sizes[support, k]))  # only they
        specks = sum(len(scatter.data) for scatter in items["specks"])
        assert specks == len(values) - len(support)  # every other sample, as a speck
        # the line's own subconcepts' specks are tinted, the others grey
        pale = sum(len(scatter.data) for scatter in items["specks"][1:])
        first, second = enn.differentia_pairs[k]
        assert pale == np.isin(enn.sample_subconcept, (first, second)).sum() - len(support)
    # the trained network's maps are as they were: every sample has a dot there
    assert (panel.sizes >= MIN_DOT).all()
    i = int(np.argmax(values[:, 0]))
    text = panel.essence_maps.describe(i)
    assert enn.differentia_label(0) in text and f"{values[i, 0]:.3g}" in text


def test_one_scale_for_all_lines_when_the_panel_says_so(window):
    enn = built(window)
    panel = window.influence_panel
    panel.scale_box.setChecked(False)
    values, sizes = enn.differentia_influence(), panel.essence_maps.sizes
    top = np.unravel_index(np.argmax(values), values.shape)
    assert sizes[top] == pytest.approx(MAX_DOT)
    # on one scale a line with smaller coefficients than the largest gets no full-size dot
    largest = values.max(axis=0)
    full = np.sqrt(largest / values.max()) * SIZE_STEPS >= SIZE_STEPS - 0.5  # the top size step
    np.testing.assert_array_equal(np.isclose(sizes.max(axis=0), MAX_DOT), full)
    assert "one scale for all lines" in panel.essence_maps.group.heading.toPlainText()


def test_the_group_goes_when_the_samples_change_or_the_network_is_hidden_and_comes_back(window):
    panel = window.influence_panel
    enn = built(window)
    assert len(panel.essence_maps.group.plots) == enn.n_differentiae
    window.add_sample(0.1, 0.2, 0)  # the network was built for other samples now
    window.frames.render_frame()
    assert not panel.essence_shown() and panel.essence_maps.group.plots == []
    assert panel.key_label.isVisible() and not panel.essence_maps.group.heading.isVisible()
    window.model.undo_stack.undo()  # the samples it was built for again
    window.frames.render_frame()
    assert panel.essence_shown() and len(panel.essence_maps.group.plots) == enn.n_differentiae
    window.add_sample(0.1, 0.2, 1)
    window.frames.render_frame()
    assert panel.essence_maps.group.plots == []
    rebuilt = built(window)  # built for today's samples: back
    assert rebuilt is not enn and panel.essence_maps.network is rebuilt
    assert len(panel.essence_maps.group.plots) == rebuilt.n_differentiae
    assert panel.essence_maps.sizes.shape[0] == window.model.split()[0].n
    window.menu_actions.essence_action.setChecked(False)  # View > Interpretable network off
    window.frames.render_frame()
    assert panel.essence_maps.group.plots == [] and panel.key_label.isVisible()
    window.menu_actions.essence_action.setChecked(True)
    window.frames.render_frame()
    assert len(panel.essence_maps.group.plots) == rebuilt.n_differentiae
    panel.show_essence(None, None)  # no network at all
    window.frames.render_frame()
    assert panel.essence_maps.group.plots == [] and not panel.essence_shown()


def test_the_picture_of_the_panel_holds_both_networks_maps(window, tmp_path):
    from app.ui.view_export import BOTH_NETWORKS_INFLUENCE_SIZE, VIEW_SIZES, export_view

    alone, both = tmp_path / "alone.png", tmp_path / "both.png"
    export_view(window, "influence", str(alone))
    enn = built(window)
    export_view(window, "influence", str(both))
    first, second = QImage(str(alone)), QImage(str(both))
    assert (first.width(), first.height()) == tuple(2 * n for n in VIEW_SIZES["influence"])
    assert second.width() == 2 * BOTH_NETWORKS_INFLUENCE_SIZE[0] > first.width()
    assert second.height() <= 2 * BOTH_NETWORKS_INFLUENCE_SIZE[1]
    panel = window.influence_panel
    assert len(panel.essence_maps.group.plots) == enn.n_differentiae  # back in its dock, still both
    # no blank below the maps: the picture was cut to the height they need (the lowest tinted pixel, the
    # interpretable network's maps' background, is a few pixels above its bottom)
    assert tinted_rows_below(second) <= 2 * (MARGIN + 8)


def tinted_rows_below(image: QImage) -> int:
    """How many rows at the bottom of the image hold no coloured (not grey) pixel."""
    for row in range(image.height() - 1, -1, -1):
        for x in range(0, image.width(), 4):
            colour = image.pixelColor(x, row)
            if (
                max(colour.red(), colour.green(), colour.blue())
                - min(colour.red(), colour.green(), colour.blue())
                > 12
            ):
                return image.height() - 1 - row
    return image.height()


def test_stacked_groups_share_one_side_and_fill_the_view():
    rng = np.random.default_rng(2)
    for _ in range(150):
        counts = [int(rng.integers(1, 12)), int(rng.integers(1, 25))]
        width, height = float(rng.integers(200, 1400)), float(rng.integers(300, 1400))
        headings = [float(rng.integers(0, 60)), float(rng.integers(0, 60))]
        grids = stacked_grids(counts, width, height, TITLE_PIXELS, headings)
        assert grids[0].side == grids[1].side
        for grid, count in zip(grids, counts, strict=True):
            assert grid.columns * grid.rows >= count > (grid.rows - 1) * grid.columns
        # the largest side any columns give (every choice tried)
        best = 0
        for first in range(1, counts[0] + 1):
            for second in range(1, counts[1] + 1):
                rows = [math.ceil(counts[0] / first), math.ceil(counts[1] / second)]
                down = (height - 2 * MARGIN - sum(headings) - GROUP_GAP - (sum(rows) - 2) * SPACING) / sum(
                    rows
                ) - TITLE_PIXELS
                across = min((width - 2 * MARGIN - (c - 1) * SPACING) / c for c in (first, second))
                best = max(best, math.floor(min(across, down)))
        if best < 12:  # a view too small: the smallest side drawn
            continue
        assert grids[0].side == best
        assert grids[1].top >= grids[0].bottom + GROUP_GAP + headings[1] - 1e-9
        assert grids[0].top >= MARGIN + headings[0] - 1e-9 and grids[1].bottom <= height - MARGIN + 1e-9
        assert all(g.left + g.columns * g.side + (g.columns - 1) * SPACING <= width for g in grids)
    single = stacked_grids([7], 500, 600, TITLE_PIXELS, [0.0])[0]
    assert single.side == best_grid(7, 500, 600, TITLE_PIXELS).side


def test_the_fitting_height_keeps_the_side_and_leaves_no_blank():
    counts, headings = [4, 12], [36.0, 52.0]
    height = fitting_height(counts, 1000, TITLE_PIXELS, headings, 1400)
    tall = stacked_grids(counts, 1000, 1400, TITLE_PIXELS, headings)
    cut = stacked_grids(counts, 1000, height, TITLE_PIXELS, headings)
    assert cut[0].side == tall[0].side
    assert stacked_grids(counts, 1000, height - 1, TITLE_PIXELS, headings)[0].side < tall[0].side
    assert height - cut[1].bottom <= MARGIN + 1


def test_the_command_line_writes_both_networks_maps_with_essence(qapp, tmp_path):
    """`--essence --export-view influence`: both groups, wider than the trained network's maps alone."""
    from app.cli import main
    from app.ui.view_export import BOTH_NETWORKS_INFLUENCE_SIZE, VIEW_SIZES

    names = qapp.applicationName(), qapp.organizationName()
    common = ["--preset", "clusters", "--layers", "4,4", "--seed", "0", "--epochs", "100"]
    alone, both = tmp_path / "alone.png", tmp_path / "both.png"
    try:
        assert main([*common, "--export-view", "influence", str(alone)]) == 0
        assert main([*common, "--essence", "--export-view", "influence", str(both)]) == 0
    finally:
        qapp.setApplicationName(names[0])
        qapp.setOrganizationName(names[1])
    first, second = QImage(str(alone)), QImage(str(both))
    assert first.width() == 2 * VIEW_SIZES["influence"][0]
    assert second.width() == 2 * BOTH_NETWORKS_INFLUENCE_SIZE[0]
    assert second.text("Unboxed view") == "influence"
    assert tinted_rows_below(second) <= 2 * (MARGIN + 8)  # cut to the maps' height


def test_a_network_with_many_lines_maps_the_first_sixteen_and_says_so(window):
    """Spirals' interpretable network has over a hundred lines: a map each would shrink the trained network's
    maps to specks, so the first MAX_MAPS get one and the group's heading says how many there are."""
    from app.core.dataset import make_preset
    from app.ui.influence_essence import MAX_MAPS

    window.model.edit_samples(make_preset("spirals"), "Spirals")
    enn = built(window)
    assert enn.n_differentiae > MAX_MAPS
    panel = window.influence_panel
    assert len(panel.essence_maps.group.plots) == MAX_MAPS
    assert f"the first {MAX_MAPS} of {enn.n_differentiae}" in panel.essence_maps.heading
    assert panel.grid.side >= 40  # the trained network's maps stay readable in the docked panel
