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


def test_advanced_constants_change_the_construction(window):
    advanced = window.essence_settings
    assert advanced.settings()[0].m1 == 8.0 and advanced.settings()[1] is None
    advanced.setChecked(True)
    advanced.boxes["m1"].setValue(3.0)
    advanced.subconcepts_box.setValue(6)
    assert window.essence_builder.build()
    assert (
        window.essence_builder.essence.settings.m1 == 3.0
        and window.essence_builder.essence.n_subconcepts == 6
    )


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
