"""Issue #20, items 6 and 8: the keyboard goes back to the canvas after Enter or Escape in a settings field,
and the speed slider, the extrapolation panel and the network diagram are big enough to use and read, in a
1280x720 and a 1600x1000 window."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication

from app.core.network import NetworkSpec
from app.ui.controls import position_of_speed, speed_of_position
from app.ui.network_view import QtNetworkView

WINDOW_SIZES = [(1280, 720), (1600, 1000)]


def settle(qtbot) -> None:
    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(20)


def sized_window(shown_window, qtbot, size, epochs: int = 0):
    window = shown_window(epochs)
    window.resize(*size)
    settle(qtbot)
    assert window.size().toTuple() == size  # no panel's minimum makes the window bigger than the screen
    return window


def rect_in(widget, ancestor) -> QRectF:
    """The widget's rectangle in the coordinates of `ancestor`."""
    return QRectF(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size().toSizeF())


def focused_window(shown_window, qtbot):
    window = shown_window()
    with qtbot.waitActive(window):
        window.activateWindow()
    return window


# --- item 6: shortcuts typed into fields --------------------------------------------------------------------
def test_enter_in_hidden_layers_hands_the_keyboard_back_to_the_canvas(shown_window, qtbot):
    window = focused_window(shown_window, qtbot)
    edit = window.controls.layers_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "8,8,8")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.canvas.hasFocus()
    assert window.model.spec.widths == (8, 8, 8)
    for key in (Qt.Key.Key_F, Qt.Key.Key_R, Qt.Key.Key_Space):  # typed as a user would: to the focus
        qtbot.keyClick(QApplication.focusWidget(), key)
    assert edit.text() == "8,8,8"  # it was "8,8,8fr "
    assert window.menu_actions.regions_action.isChecked()  # R reached its shortcut
    assert window.controls.train_button.text() == "Pause"  # and Space started training
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert window.controls.train_button.text() == "Train"


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape])
def test_enter_or_escape_in_any_settings_field_hands_the_keyboard_back(shown_window, qtbot, key):
    window = focused_window(shown_window, qtbot)
    controls = window.controls
    fields = [controls.layers_edit, controls.learning_rate_box, controls.batch_box, controls.l2_box,
              controls.test_fraction_box, controls.seed_box]  # fmt: skip
    for field in fields:
        field.setFocus()
        assert field.hasFocus()
        qtbot.keyClick(field, key)
        assert window.canvas.hasFocus(), field


def test_enter_commits_a_spin_box_and_escape_reverts_the_layers_field(shown_window, qtbot):
    window = focused_window(shown_window, qtbot)
    controls = window.controls
    controls.seed_box.setFocus()
    controls.seed_box.selectAll()
    qtbot.keyClicks(controls.seed_box, "7")
    qtbot.keyClick(controls.seed_box, Qt.Key.Key_Return)
    assert window.model.config.seed == 7 and window.canvas.hasFocus()
    before = controls.layers_edit.text()
    controls.layers_edit.setFocus()
    qtbot.keyClicks(controls.layers_edit, ",9")
    qtbot.keyClick(controls.layers_edit, Qt.Key.Key_Escape)
    assert controls.layers_edit.text() == before and window.canvas.hasFocus()


def test_a_malformed_layers_field_keeps_the_keyboard_with_the_reason(shown_window, qtbot):
    window = focused_window(shown_window, qtbot)
    edit = window.controls.layers_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "8,x")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.hasFocus()
    assert window.controls.layers_error.isVisible()


# --- item 8: the speed slider -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", WINDOW_SIZES)
def test_the_speed_slider_is_wide_and_in_sight(shown_window, qtbot, size):
    window = sized_window(shown_window, qtbot, size)
    slider = window.controls.speed_slider
    assert slider.isVisible() and slider.width() >= 150
    dock = window.docks["Settings"]
    assert dock.rect().toRectF().contains(rect_in(slider, dock))  # not scrolled or cut away
    for speed in (1.0, 10.0, 100.0, 1000.0, 10000.0, None):  # the log-like mapping sessions rely on
        assert speed_of_position(position_of_speed(speed)) == speed


# --- item 8: the extrapolation panel ------------------------------------------------------------------------
@pytest.mark.parametrize("size", WINDOW_SIZES)
def test_the_extrapolation_panel_has_axes_room_and_a_visible_main_view(shown_window, qtbot, size):
    window = sized_window(shown_window, qtbot, size, epochs=20)
    window.docks["Extrapolation"].raise_()
    settle(qtbot)
    view = window.extrapolation
    plot = view.canvas
    assert plot.width() >= 260 and plot.height() >= 220
    assert rect_in(plot, window).bottom() <= window.height()
    for name in ("left", "bottom"):
        axis = plot.plotItem.getAxis(name)
        assert axis.isVisible() and axis.width() > 10 and axis.height() > 10
    window.canvas.fit_data()
    window.canvas.zoom(1 / 1000)  # the main view zoomed in 1000x: 1/20000 of the panel's width
    settle(qtbot)
    box_rect = view.main_view_box.sceneBoundingRect()
    assert box_rect.width() < 1  # far too small to see by itself...
    marker = view.main_view_marker
    assert marker.isVisible()  # ...so a square of fixed size marks it
    marked = marker.sceneBoundingRect()
    assert marked.width() >= 4 and marked.height() >= 4
    assert marked.contains(box_rect.center())
    view.factor_box.setValue(2)  # the main view is half the panel: its rectangle is plain to see
    window.canvas.fit_data()
    settle(qtbot)
    assert view.main_view_box.sceneBoundingRect().width() > 50 and not marker.isVisible()


# --- item 8: the network diagram ----------------------------------------------------------------------------
def assert_diagram_reads_well(view: QtNetworkView) -> None:
    """The legend above clear of the layer headings; every label and the output's circle inside the plot;
    the output's white label inside its grey circle."""
    legend = view.plotItem.titleLabel.sceneBoundingRect()
    plot = view.view_box.sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
    texts = {label.toPlainText(): label for label in view.labels}
    for text, label in texts.items():
        rect = label.sceneBoundingRect()
        assert not rect.intersects(legend), text
        assert plot.contains(rect), text
    centre = view.view_box.mapViewToScene(QPointF(*view.node_xy[-1]))
    radius = view.nodes.data["size"][-1] / 2
    circle = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)
    assert plot.contains(circle)
    glyphs = texts["out"].sceneBoundingRect().adjusted(4, 4, -4, -4)  # TextItem pads its text by 4 px
    assert circle.contains(glyphs.center()) and glyphs.width() <= 2 * radius


@pytest.mark.parametrize("size", WINDOW_SIZES)
def test_the_network_diagram_legend_and_labels_do_not_collide(shown_window, qtbot, size):
    window = sized_window(shown_window, qtbot, size)
    window.docks["Network"].raise_()
    settle(qtbot)
    assert window.network_view.isVisible()
    assert_diagram_reads_well(window.network_view)


@pytest.mark.parametrize("widths", [(4, 4), (3, 5, 2), (8,) * 8])
@pytest.mark.parametrize("size", [(250, 150), (266, 270), (500, 360)])
def test_the_network_diagram_reads_well_at_any_size(qtbot, widths, size):
    view = QtNetworkView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    spec = NetworkSpec(widths)
    view.show_network(spec, np.random.default_rng(0).normal(size=spec.n_params))
    settle(qtbot)
    assert_diagram_reads_well(view)
