"""The interpretable network beside the trained one: build (here or in the background), compare, same zoom,
clear refusals."""

import time

import numpy as np
import pytest

from app.core.dataset import SampleSet


@pytest.fixture
def window(shown_window):
    return shown_window(150)


def test_build_shows_it_beside_the_mlp_with_a_comparison(window):
    assert not window.essence_view.isVisible()
    assert window.essence_builder.build()
    assert window.essence_view.isVisible() and window.menu_actions.essence_action.isChecked()
    enn = window.essence_builder.essence
    assert (enn.predict(window.model.samples.points) == window.model.samples.labels).all()
    rows = window.essence_builder.comparison.rows()
    assert rows[0][0] == "Training accuracy" and rows[0][2] == "100.0%"
    assert window.essence_view.table.rowCount() == len(rows)
    assert 0.0 <= window.essence_builder.comparison.far_agreement_models <= 1.0
    window.canvas.zoom(50)
    a, b = window.canvas.view_rect(), window.essence_view.view_rect()
    centre_a = np.array([(a.xmin + a.xmax) / 2, (a.ymin + a.ymax) / 2])
    centre_b = np.array([(b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2])
    np.testing.assert_allclose(centre_a, centre_b, atol=1e-6 * a.width)
    assert min(a.width, a.height) == pytest.approx(min(b.width, b.height), rel=0.5)  # same zoom, own aspect
    window.menu_actions.essence_action.setChecked(False)
    assert not window.essence_view.isVisible()


def test_one_class_is_refused_with_a_message(window):
    window.model.set_samples(SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 0])))
    assert not window.essence_builder.build()
    assert "both classes" in window.message_label.text()
    assert window.essence_builder.essence is None


def test_advanced_constants_change_the_construction(qtbot, window):
    advanced = window.essence_settings
    assert advanced.settings()[0].m1 == 8.0 and advanced.settings()[1] is None
    assert not advanced.isVisible()  # in a dialog of its own, not under the network's picture
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Model")
    next(a for a in menu.actions() if a.text() == "Interpretable network settings…").trigger()
    dialog = window.essence_settings_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert advanced.isVisible() and advanced.window() is dialog
    advanced.setChecked(True)
    advanced.boxes["m1"].setValue(3.0)
    advanced.subconcepts_box.setValue(3)  # per class
    assert window.essence_builder.comparison is None
    assert window.essence_builder.build()
    assert (
        window.essence_builder.essence.settings.m1 == 3.0
        and window.essence_builder.essence.n_subconcepts == 6
    )
    table = window.essence_view.table
    last = [table.item(table.rowCount() - 1, c).text() for c in range(3)]
    assert last == ["Gradient descent", "every layer", "concept layer, as the authors"]
    advanced.boxes["tune_concepts"].setChecked(False)  # no gradient descent anywhere
    assert window.essence_builder.build()
    enn = window.essence_builder.essence
    assert not enn.settings.tune_concepts and enn.concept_epochs == 0
    last = [table.item(table.rowCount() - 1, c).text() for c in range(3)]
    assert last == ["Gradient descent", "every layer", "none (fixed concept weights)"]
    dialog.close()


@pytest.fixture
def slow_build(monkeypatch):
    """build_essence as the window calls it, taking at least half a second more (as thousands of samples
    would)."""
    import app.ui.essence_builder as essence_builder

    real = essence_builder.build_essence

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(essence_builder, "build_essence", slow)


def test_model_build_runs_in_the_background_and_shows_the_result(qtbot, window, slow_build):
    build = next(a for a in window.menuBar().actions() if a.text() == "&Model").menu().actions()[0]
    started = time.perf_counter()
    build.trigger()
    assert time.perf_counter() - started < 0.3  # the window is not blocked for the build's half second
    assert window.message_label.text().startswith("Building the interpretable network for 150 samples")
    build.trigger()
    assert window.message_label.text().startswith("Still building")
    qtbot.waitUntil(lambda: window.essence_builder.essence is not None, timeout=10_000)
    assert window.essence_view.isVisible() and window.essence_builder.comparison is not None
    assert window.message_label.text().startswith("Built an interpretable network")


def test_samples_edited_during_a_background_build_leave_its_result_out(qtbot, window, slow_build):
    window.essence_builder.build_in_background()
    window.add_sample(0.5, 0.5, 1)
    qtbot.waitUntil(lambda: not window.essence_builder.job.running, timeout=10_000)
    qtbot.waitUntil(lambda: "changed while" in window.message_label.text(), timeout=2_000)
    assert window.essence_builder.essence is None


def test_a_background_build_that_fails_says_why(qtbot, window):
    window.model.set_samples(SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 0])))
    window.essence_builder.build_in_background()
    qtbot.waitUntil(lambda: "both classes" in window.message_label.text(), timeout=10_000)
    assert window.essence_builder.essence is None


def test_closing_during_a_background_build_waits_for_it(qtbot, window, slow_build):
    window.essence_builder.build_in_background()
    window.model.set_modified(False)
    window.close()
    assert not window.essence_builder.job.running
    assert window.essence_builder.essence is None  # a window closing does not show it any more


def test_the_comparison_and_the_focus_plot_follow_the_displayed_epoch(qtbot, window):
    """The table's figures (with the article's claims) are those of the epoch on the screen, and the plot
    under the loss curves shows the first layer's focus over the epochs while the interpretable network is."""
    from app.core.comparison import ROW_TIPS
    from app.core.thesis import mlp_thesis

    assert window.essence_builder.build()
    builder, model = window.essence_builder, window.model
    assert builder.comparison.epoch == model.displayed_epoch == 150
    names = [row[0] for row in builder.comparison.rows()]
    assert {"Focus", "Focus by chance", "Distance to ENN lines", "Nearest sample, 10× out"} <= set(names)
    assert all(name in ROW_TIPS for name in names)
    assert window.loss_plot.focus_plot.isVisible()
    epochs, per_neuron = window.loss_plot.focus
    assert epochs[0] == 0 and epochs[-1] == 150 and per_neuron.shape == (len(epochs), model.spec.widths[0])
    model.scrub_to(10)
    qtbot.waitUntil(lambda: builder.comparison.epoch == 10, timeout=3000)
    header = window.essence_view.table.horizontalHeaderItem(1).text()
    assert header == "MLP\nepoch 10"
    training = model.split()[0]
    expected = mlp_thesis(model.spec, model.history.params_at(10), training, builder.essence).network_focus
    assert builder.comparison.focus_mlp == pytest.approx(expected)
    assert builder.comparison.focus_enn == 1.0  # each line's support vectors lie in its two subconcepts
    window.menu_actions.essence_action.setChecked(False)
    assert not window.loss_plot.focus_plot.isVisible()
    window.model.edit_samples(window.model.samples.with_sample(0.0, 0.0, 1), "One more")  # built for others
    window.menu_actions.essence_action.setChecked(True)
    qtbot.waitUntil(lambda: not window.loss_plot.focus_plot.isVisible(), timeout=3000)
