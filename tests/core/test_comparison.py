"""The MLP-versus-ENN comparison table: app/core/comparison.py."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.comparison import Comparison, compare_models
from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.core.essence import EssenceError, build_essence, nearest_sample_predictor


def constant(label: int):
    return lambda points: np.full(len(points), label, dtype=np.int64)


def two_points() -> SampleSet:
    """Red at (-1, 0), blue at (1, 0): far out, the nearest is red on the left, blue on the right."""
    return SampleSet(np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([RED, BLUE]))


def test_a_model_agrees_with_itself_everywhere() -> None:
    samples = make_preset("xor")
    enn = build_essence(samples)
    result = compare_models(
        samples, SampleSet.empty(), enn.predict, enn.predict, enn.n_neurons, enn.n_neurons
    )
    assert result.far_agreement_models == 1.0
    assert result.far_agreement_mlp_nearest == result.far_agreement_enn_nearest
    assert result.training_accuracy_mlp == result.training_accuracy_enn == 1.0
    assert result.held_out_accuracy_mlp is None and result.held_out_accuracy_enn is None


def test_constant_red_agrees_with_the_nearest_sample_on_half_the_far_circle() -> None:
    samples = two_points()
    nearest = nearest_sample_predictor(samples)
    result = compare_models(samples, SampleSet.empty(), constant(RED), nearest, 1, 2)
    assert result.far_agreement_mlp_nearest == pytest.approx(0.5, abs=2 / 720)
    assert result.far_agreement_enn_nearest == 1.0
    assert result.far_agreement_models == pytest.approx(0.5, abs=2 / 720)
    assert result.training_accuracy_mlp == 0.5 and result.training_accuracy_enn == 1.0


def test_held_out_accuracy_counts_the_test_samples() -> None:
    samples = two_points()
    test = SampleSet(
        np.array([[-3.0, 0.0], [-2.0, 1.0], [2.0, 0.0], [3.0, -1.0]]), np.array([RED, RED, RED, BLUE])
    )
    result = compare_models(samples, test, constant(RED), nearest_sample_predictor(samples), 1, 1)
    assert result.held_out_accuracy_mlp == 0.75  # three of the four test samples are red
    assert result.held_out_accuracy_enn == 0.75  # (2, 0) is nearest to the blue sample but is red


def test_the_far_circle_is_radius_extents_data_extents_around_the_box_centre() -> None:
    samples = SampleSet(np.array([[0.0, 0.0], [4.0, 1.0], [2.0, 3.0]]), np.array([RED, BLUE, RED]))
    seen: list[np.ndarray] = []

    def recording(points: np.ndarray) -> np.ndarray:
        seen.append(np.array(points))
        return constant(RED)(points)

    compare_models(samples, SampleSet.empty(), recording, constant(RED), 1, 1, radius_extents=25.0)
    circles = [p for p in seen if len(p) == 720]
    assert len(circles) == 2  # against the ENN and against the nearest sample
    distances = np.hypot(circles[0][:, 0] - 2.0, circles[0][:, 1] - 1.5)  # box [0, 4] x [0, 3]
    np.testing.assert_allclose(distances, 25.0 * 4.0)


def test_rows_and_summary_read_like_the_table() -> None:
    samples = two_points()
    result = compare_models(
        samples, SampleSet.empty(), constant(RED), nearest_sample_predictor(samples), 9, 14
    )
    rows = result.rows()
    assert rows[0] == ("Training accuracy", "50.0%", "100.0%")
    assert rows[1] == ("Held-out accuracy", "\u2014", "\u2014")
    assert rows[2] == ("Neurons", "9", "14")
    assert rows[3] == ("Nearest sample, 100× out", "50%", "100%")
    assert result.models_agree_text == "The two models agree on 50% of a circle 100 data extents out."


def test_a_share_just_short_of_all_never_reads_100_percent() -> None:
    result = Comparison(0.9999, 1.0, 0.00001, 0.0, 3, 4, 10.0, 719 / 720, 1 / 720, 1.0)
    rows = result.rows()
    assert rows[0][1:] == ("99.9%", "100.0%")
    assert rows[1][1:] == ("0.1%", "0.0%")
    assert rows[3] == ("Nearest sample, 10× out", "1%", "100%")
    assert result.models_agree_text == "The two models agree on 99% of a circle 10 data extents out."


def test_no_training_samples_is_refused() -> None:
    with pytest.raises(EssenceError, match="training samples"):
        compare_models(SampleSet.empty(), SampleSet.empty(), constant(RED), constant(BLUE), 1, 1)
