"""The interpretable network beside the trained one: build, compare, same zoom, clear refusals."""

import numpy as np
import pytest

from app.core.dataset import SampleSet


@pytest.fixture
def window(shown_window):
    return shown_window(150)


def test_build_shows_it_beside_the_mlp_with_a_comparison(window):
    assert not window.essence_view.isVisible()
    assert window.build_essence()
    assert window.essence_view.isVisible() and window.essence_action.isChecked()
    enn = window.essence
    assert (enn.predict(window.samples.points) == window.samples.labels).all()
    rows = window.comparison.rows()
    assert rows[0][0] == "Training accuracy" and rows[0][2] == "100.0%"
    assert window.essence_view.table.rowCount() == len(rows)
    assert 0.0 <= window.comparison.far_agreement_models <= 1.0
    window.canvas.zoom(50)
    a, b = window.canvas.view_rect(), window.essence_view.view_rect()
    centre_a = np.array([(a.xmin + a.xmax) / 2, (a.ymin + a.ymax) / 2])
    centre_b = np.array([(b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2])
    np.testing.assert_allclose(centre_a, centre_b, atol=1e-6 * a.width)
    assert min(a.width, a.height) == pytest.approx(min(b.width, b.height), rel=0.5)  # same zoom, own aspect
    window.essence_action.setChecked(False)
    assert not window.essence_view.isVisible()


def test_one_class_is_refused_with_a_message(window):
    window.set_samples(SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 0])))
    assert not window.build_essence()
    assert "both classes" in window.message_label.text()
    assert window.essence is None


def test_advanced_constants_change_the_construction(window):
    advanced = window.essence_settings
    assert advanced.settings()[0].m1 == 8.0 and advanced.settings()[1] is None
    advanced.setChecked(True)
    advanced.boxes["m1"].setValue(3.0)
    advanced.subconcepts_box.setValue(6)
    assert window.build_essence()
    assert window.essence.settings.m1 == 3.0 and window.essence.n_subconcepts == 6
