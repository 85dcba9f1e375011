"""Help > Tour of the black box: a whole walk through the six steps with Next, Back and Leave, checking what
each step sets up and outlines, and that the user's own window and settings are untouched."""

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from app.core.dataset import SampleSet, make_preset
from app.core.network import NetworkSpec
from app.core.pictures import (
    ARTICLE_EPOCHS,
    ARTICLE_LAYERS,
    ARTICLE_PICTURES,
    ARTICLE_PRESET,
    EXTRAPOLATION_ZOOM,
)
from app.core.session import load_session
from app.ui.session_files import autosave_path, last_session_path
from app.ui.tour import OWN_WINDOW_NOTE


def _action(window, text):
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            if action.text() == text:
                return action
    raise AssertionError(f"no menu entry {text!r}")


def _width(rect):
    return rect.xmax - rect.xmin


@pytest.fixture
def user_window(shown_window, fresh_settings):
    window = shown_window()
    points = np.array([[0.0, 0.0], [1.0, 0.2], [0.3, 1.0], [2.0, 2.0]])
    window.model.edit_samples(SampleSet(points, np.array([0, 1, 0, 1])), "Four samples")
    window.training.set_spec(NetworkSpec((3,), "relu"))
    return window


def test_the_tour_walks_the_six_pictures_and_leaves_the_users_window_alone(qtbot, user_window):
    user = user_window
    model = user.model
    before = (model.samples.points.copy(), model.spec, model.modified, model.undo_stack.count())
    _action(user, "Tour of the black box").trigger()
    tour = _find_tour(user)
    window, guide = tour.window, tour.guide
    assert window is not user and window.isVisible() and guide.isVisible()
    assert guide.note.text() == OWN_WINDOW_NOTE
    assert window.model.spec.widths == ARTICLE_LAYERS
    assert window.model.samples.n == make_preset(ARTICLE_PRESET).n

    # 1: the samples alone, nothing trained
    assert tour.step == 0 and guide.heading.text().startswith("1 of 6")
    assert not guide.back_button.isEnabled()
    assert window.model.displayed_epoch == 0
    assert window.canvas.show_samples and not window.canvas.show_background
    assert not window.canvas.show_neuron_lines and not window.canvas.show_decision_boundary
    assert tour.outline.isVisible() and tour.outline.target is window.canvas
    fitted = _width(window.canvas.view_rect())

    # 2: the trained prediction
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    assert tour.step == 1 and guide.text.text() == ARTICLE_PICTURES[1].caption
    assert window.model.history.latest_epoch == ARTICLE_EPOCHS == window.model.displayed_epoch
    assert window.canvas.show_background and window.canvas.show_decision_boundary
    assert not window.canvas.show_neuron_lines
    (loss, accuracy), _ = window.model.figures_at(ARTICLE_EPOCHS)
    assert accuracy == 1.0 and loss < 0.05

    # 3: the first layer's lines
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    assert window.canvas.show_neuron_lines and len(window.canvas.neuron_lines) == 4
    assert not window.docks["Influence"].isVisible()

    # 4: the influence maps, outlined
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    dock = window.docks["Influence"]
    assert dock.isVisible() and tour.outline.target is dock
    assert len(window.influence_panel.plots) == 4 and window.influence_panel.options().layer == 0
    outline, target = tour.outline.geometry(), dock.geometry()
    assert outline.size() == target.size()

    # 5: far from the data
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    assert not dock.isVisible() and tour.outline.target is window.canvas
    far = _width(window.canvas.view_rect())
    window.canvas.fit_data()  # in this layout (the influence panel gone, the canvas is wider)
    assert far == pytest.approx(EXTRAPOLATION_ZOOM * _width(window.canvas.view_rect()), rel=0.02)

    # Back to 4 and on again: each step sets itself up from any state
    qtbot.mouseClick(guide.back_button, Qt.MouseButton.LeftButton)
    assert tour.step == 3 and dock.isVisible()
    assert _width(window.canvas.view_rect()) < 2 * fitted  # the data framed again, not the far view
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)

    # 6: the interpretable network, built and shown beside the trained one
    qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    assert tour.step == 5 and guide.next_button.text() == "Finish"
    essence = window.essence_builder.essence
    assert essence is not None and window.essence_view.isVisible()
    assert tour.outline.target is window.essence_view
    assert (essence.predict(window.model.samples.points) == window.model.samples.labels).all()

    # Finish: the tour's window goes, the user's is as it was, and nothing of the tour was remembered
    with qtbot.waitSignal(tour.ended):
        qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(user.model.samples.points, before[0]) and user.model.spec == before[1]
    assert (user.model.modified, user.model.undo_stack.count()) == before[2:]
    assert not autosave_path().exists()
    assert QSettings().value("window/geometry") is None
    assert not last_session_path().exists() or load_session(last_session_path()).samples.n == 4


def test_leave_at_any_step_closes_the_tour(qtbot, user_window):
    _action(user_window, "Tour of the black box").trigger()
    tour = _find_tour(user_window)
    qtbot.mouseClick(tour.guide.next_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(tour.ended):
        qtbot.mouseClick(tour.guide.leave_button, Qt.MouseButton.LeftButton)
    assert user_window.isVisible() and tour.window is None


def test_closing_the_tours_window_ends_the_tour(qtbot, user_window):
    _action(user_window, "Tour of the black box").trigger()
    tour = _find_tour(user_window)
    tour.window.model.set_modified(False)
    with qtbot.waitSignal(tour.ended):
        tour.window.close()
    assert tour.window is None and user_window.isVisible()


def _find_tour(window):
    from app.ui.tour import Tour

    tours = window.findChildren(Tour)
    assert len(tours) == 1
    return tours[0]
