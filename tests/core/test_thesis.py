"""The article's claims, measured (app/core/thesis.py): focus, role match and far field on hand-made cases
with known answers, focus over epochs against one epoch at a time, and every measure on a trained network."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.core.essence import build_essence, nearest_sample_predictor
from app.core.geometry import Rect
from app.core.history import TrainingHistory
from app.core.influence import influence
from app.core.network import NetworkSpec
from app.core.thesis import (
    RoleMatch,
    Thesis,
    chance_focus,
    far_field,
    focus,
    focus_over_epochs,
    line_angle,
    line_distance,
    mlp_predictor,
    mlp_thesis,
    network_focus,
    plot_epochs,
    role_match,
    thesis_arrays,
)
from app.core.training import EpochChunk, TrainConfig, Trainer

# --- focus -----------------------------------------------------------------------------------------------


def test_influence_from_one_cluster_has_focus_one():
    groups = np.repeat([0, 1, 2, 3], 5)
    values = np.zeros((20, 3))
    values[groups == 2, 0] = np.arange(1.0, 6.0)  # neuron 0: cluster 2 only
    values[groups == 0, 1] = 0.5  # neuron 1: cluster 0 only
    values[:, 2] = 1.0  # neuron 2: evenly over the four
    np.testing.assert_allclose(focus(values, groups), [1.0, 1.0, 0.5])
    np.testing.assert_allclose(focus(values, groups, top=1), [1.0, 1.0, 0.25])
    np.testing.assert_allclose(focus(values, groups, top=4), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(focus(values, groups, top=9), [1.0, 1.0, 1.0])  # more than there are groups


def test_focus_of_two_clusters_is_one_and_of_three_is_their_top_two_share():
    groups = np.array([0, 0, 1, 1, 2, 2])
    values = np.array([[1.0, 3.0], [1.0, 1.0], [2.0, 1.0], [2.0, 1.0], [0.0, 2.0], [0.0, 2.0]])
    # neuron 0: clusters 0 and 1 only; neuron 1: sums 4, 2, 4 of 10 -> top two 8/10
    np.testing.assert_allclose(focus(values, groups), [1.0, 0.8])


def test_zero_influence_gives_nan_and_the_network_mean_skips_it():
    groups = np.array([0, 1, 2, 3])
    values = np.column_stack([np.zeros(4), np.ones(4), [1.0, 0.0, 0.0, 0.0]])
    got = focus(values, groups)
    assert math.isnan(got[0])
    np.testing.assert_allclose(got[1:], [0.5, 1.0])
    assert network_focus(got) == pytest.approx(0.75)
    assert math.isnan(network_focus(np.array([np.nan, np.nan])))
    np.testing.assert_allclose(network_focus(np.array([[0.5, np.nan], [np.nan, np.nan]])), [0.5, np.nan])


def test_cluster_ids_and_sample_order_do_not_matter():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 5, 40)
    values = rng.exponential(size=(40, 6)) * (groups[:, None] + 1.0)
    expected = focus(values, groups)
    relabel = np.array([17, -3, 4, 1000, 8])  # any integers, in any order
    np.testing.assert_allclose(focus(values, relabel[groups]), expected, rtol=1e-12)
    order = rng.permutation(40)
    np.testing.assert_allclose(focus(values[order], groups[order]), expected, rtol=1e-12)
    assert ((expected > 0.4) & (expected < 1.0)).all()  # 2 of 5 groups, but unevenly weighted


def test_focus_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="negative"):
        focus(np.array([[-1.0], [1.0]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="3 group ids for 2 samples"):
        focus(np.ones((2, 1)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="integers"):
        focus(np.ones((2, 1)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="top"):
        focus(np.ones((2, 1)), np.array([0, 1]), top=0)


def test_chance_focus_is_the_two_largest_groups_share_of_the_samples():
    assert chance_focus(np.repeat([0, 1, 2, 3], 5)) == 0.5
    assert chance_focus(np.array([0] * 6 + [1] * 3 + [2])) == 0.9
    assert chance_focus(np.array([5, 5, 7])) == 1.0
    assert math.isnan(chance_focus(np.array([], dtype=np.int64)))
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 6, 60)
    assert focus(np.ones((60, 1)), groups)[0] == pytest.approx(chance_focus(groups))


# --- role match ------------------------------------------------------------------------------------------

RECT = Rect(0.0, 4.0, 0.0, 3.0)  # diagonal 5


@pytest.mark.parametrize("factor", [1.0, 2.5, -3.0, -1e-3])
def test_the_same_line_is_at_distance_zero_however_scaled(factor):
    w, b = np.array([0.3, -1.1]), 1.2
    assert line_distance(w, b, factor * w, factor * b, RECT) == pytest.approx(0.0, abs=1e-12)
    assert line_angle(w, factor * w) == pytest.approx(0.0, abs=1e-12)


def test_parallel_lines_are_their_offset_over_the_diagonal_apart():
    horizontal = np.array([0.0, 1.0])
    assert line_distance(horizontal, -1.0, horizontal, -1.5, RECT) == pytest.approx(0.5 / 5)  # y = 1, 1.5
    assert line_distance(-2 * horizontal, 3.0, horizontal, -1.5, RECT) == pytest.approx(0.0)  # both y = 1.5
    vertical = np.array([1.0, 0.0])
    assert line_distance(vertical, -1.0, vertical, -3.0, RECT) == pytest.approx(2.0 / 5)  # x = 1, 3


def test_distance_is_symmetric_and_at_most_one_inside_and_grows_outside():
    rng = np.random.default_rng(2)
    for _ in range(50):
        (w1, w2), (b1, b2) = rng.normal(size=(2, 2)), rng.normal(size=2)
        d = line_distance(w1, b1, w2, b2, RECT)
        assert d == pytest.approx(line_distance(w2, b2, w1, b1, RECT), abs=1e-12)
        assert d >= 0.0
    diagonals = line_distance(np.array([3.0, -4.0]), 0.0, np.array([3.0, 4.0]), -12.0, RECT)
    assert diagonals == pytest.approx(2.4 / 5)  # the rectangle's diagonals: each corner is 2.4 from the other
    horizontal = np.array([0.0, 1.0])
    inside = line_distance(horizontal, -1.0, horizontal, -3.0, RECT)  # y = 3: on the edge, grown 1% past
    near = line_distance(horizontal, -1.0, horizontal, -13.0, RECT)  # y = 13: 12 apart, a grown frame
    far = line_distance(horizontal, -1.0, horizontal, -1001.0, RECT)
    assert inside == pytest.approx(2 / 5) and near == pytest.approx(12 / 5) and far == pytest.approx(200)
    same_far = line_distance(horizontal, -1001.0, -horizontal, 1001.0, RECT)
    assert same_far == pytest.approx(0.0, abs=1e-9)  # both miss the frame, but they are the same line


def test_crossing_lines_in_a_square():
    square = Rect(-1.0, 1.0, -1.0, 1.0)
    # x = 0 and y = 0: each end of one segment is 1 from the other's middle; the diagonal is 2 sqrt(2)
    d = line_distance(np.array([1.0, 0.0]), 0.0, np.array([0.0, 1.0]), 0.0, square)
    assert d == pytest.approx(1.0 / (2.0 * math.sqrt(2.0)))
    assert line_angle(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(90.0)
    assert line_angle(np.array([1.0, 1.0]), np.array([-1.0, 0.0])) == pytest.approx(45.0)  # undirected
    assert line_angle(np.array([1.0, 0.0]), np.array([-2.0, 0.0])) == 0.0
    assert math.isnan(line_angle(np.zeros(2), np.array([1.0, 0.0])))
    assert math.isnan(line_distance(np.zeros(2), 1.0, np.array([1.0, 0.0]), 0.0, square))


def test_role_match_picks_the_nearest_line():
    enn_w = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    enn_b = np.array([-1.0, -2.0, -3.5])  # y = 1, x = 2, x + y = 3.5
    mlp_w = np.array([[0.0, -2.0], [1.0, 0.05], [2.0, 2.1], [0.0, 0.0]])
    mlp_b = np.array([2.6, -2.0, -7.0, 1.0])  # y = 1.3, x ~ 2, x + 1.05 y = 3.5, nothing
    match = role_match(mlp_w, mlp_b, enn_w, enn_b, RECT)
    np.testing.assert_array_equal(match.index, [0, 1, 2, -1])
    assert match.distance[0] == pytest.approx(0.3 / 5)
    assert match.angle[0] == 0.0
    assert 0.0 < match.distance[1] < 0.1 and match.angle[1] == pytest.approx(math.degrees(math.atan(0.05)))
    assert 0.0 < match.distance[2] < 0.1 and 0.0 < match.angle[2] < 2.0
    assert math.isnan(match.distance[3]) and math.isnan(match.angle[3])
    assert match.median_distance == pytest.approx(np.median(match.distance[:3]))
    nothing = role_match(mlp_w, mlp_b, np.empty((0, 2)), np.empty(0), RECT)
    assert (nothing.index == -1).all() and math.isnan(nothing.median_distance)


# --- far field -------------------------------------------------------------------------------------------


def two_points() -> SampleSet:
    return SampleSet(np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([RED, BLUE]))


def test_far_field_of_the_nearest_sample_rule_is_one_and_of_a_constant_half():
    samples = make_preset("clusters")
    assert far_field(nearest_sample_predictor(samples), samples) == (1.0, 1.0)
    red = far_field(lambda p: np.full(len(p), RED), two_points())
    assert red == pytest.approx((0.5, 0.5), abs=2 / 720)
    left_is_blue = far_field(lambda p: (p[:, 0] < 0).astype(np.int64), two_points(), extents=(10.0,))
    assert left_is_blue == pytest.approx((0.0,), abs=2 / 720)  # the two points on x = 0 are a toss-up


def test_mlp_predictor_gives_the_side_of_a_single_neuron():
    spec = NetworkSpec((1,), "relu")
    params = np.array([1.0, 0.0, 0.0, 1.0, -0.5])  # h = relu(x), logit = h - 0.5: blue right of x = 0.5
    got = mlp_predictor(spec, params)(np.array([[0.0, 3.0], [1.0, -3.0]]))
    np.testing.assert_array_equal(got, [RED, BLUE])


# --- Thesis, over epochs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeEssence:
    """What the measures read of an interpretable network."""

    sample_subconcept: np.ndarray
    differentia_w: np.ndarray
    differentia_b: np.ndarray
    dual: np.ndarray  # (n_samples, n_differentiae)

    def differentia_influence(self) -> np.ndarray:
        return self.dual

    def predict(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points)[:, 0] > 0).astype(np.int64)


def random_history(spec: NetworkSpec, epochs: int, seed: int = 0) -> TrainingHistory:
    rng = np.random.default_rng(seed)
    first = rng.normal(size=spec.n_params)
    history = TrainingHistory(spec, first, 0.7, 0.5)
    params = first + np.cumsum(0.05 * rng.normal(size=(epochs, spec.n_params)), axis=0)
    ones = np.full(epochs, 0.5)
    history.append(EpochChunk(1, params, ones, ones, 0, False, test_loss=ones, test_accuracy=ones))
    return history


def test_focus_over_epochs_equals_each_epoch_alone():
    spec = NetworkSpec((3, 5), "tanh")
    history = random_history(spec, 200)
    rng = np.random.default_rng(3)
    samples = SampleSet(rng.normal(size=(30, 2)), rng.integers(0, 2, 30))
    groups = rng.integers(0, 4, 30)
    epochs = [0, 1, 7, 100, 200, 50]
    got = focus_over_epochs(spec, history, samples, groups, epochs)
    assert got.shape == (6, 3)
    for row, epoch in zip(got, epochs, strict=True):
        maps = influence(spec, history.params_at(epoch), samples.points, samples.labels)
        np.testing.assert_allclose(row, focus(maps[0], groups), rtol=1e-12)


def test_plot_epochs_are_recorded_dense_early_and_end_at_the_epoch():
    history = random_history(NetworkSpec((2,)), 1000)
    epochs = plot_epochs(history, 900, 100)
    assert epochs[0] == 0 and epochs[-1] == 900 and len(epochs) <= 100
    assert (np.diff(epochs) > 0).all() and np.diff(epochs)[0] < np.diff(epochs)[-1]
    np.testing.assert_array_equal(plot_epochs(history, 0), [0])


def test_a_thesis_and_its_arrays():
    spec = NetworkSpec((2, 2), "relu")
    history = random_history(spec, 40)
    points = np.array([[-2.0, 0.0], [-1.5, 0.5], [2.0, 0.0], [1.5, 0.5]])  # symmetric: far, red left of x = 0
    samples = SampleSet(points, np.array([RED, RED, BLUE, BLUE]))
    groups = np.array([3, 3, 7, 7])
    enn_influence = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    enn = FakeEssence(groups, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, -0.25]), enn_influence)
    arrays = thesis_arrays(spec, history, 30, samples, enn, count=10)
    assert arrays["thesis/epoch"] == 30
    np.testing.assert_array_equal(arrays["thesis/focus_enn"], [1.0, 1.0])  # two groups only
    assert arrays["thesis/focus_mlp"].shape == arrays["thesis/role_match_angle"].shape == (2,)
    assert arrays["thesis/focus_chance"] == 1.0
    far = (arrays["thesis/far10_enn"], arrays["thesis/far100_enn"])  # the nearest sample's side but on x = 0
    assert far == pytest.approx((1.0, 1.0), abs=2 / 720)
    assert arrays["thesis/focus_epochs"][-1] == 30 and len(arrays["thesis/focus_epochs"]) <= 10
    assert arrays["thesis/focus_over_epochs"].shape == (len(arrays["thesis/focus_epochs"]), 2)
    assert not any(name.startswith("thesis/role_match") and "enn" in name for name in arrays)
    for name, value in arrays.items():
        assert name.startswith("thesis/") and isinstance(value, np.ndarray), name
    with pytest.raises(ValueError, match="built for 4 samples"):
        mlp_thesis(spec, history.params_at(0), two_points(), enn)
    alone = Thesis(np.array([0.5]), 0.5, 0.4, 1.0, 0.9).to_arrays("x")
    assert set(alone) == {"thesis/focus_x", "thesis/focus_x_network", "thesis/focus_chance", "thesis/far10_x",
                          "thesis/far100_x"}  # fmt: skip


# --- a trained network -----------------------------------------------------------------------------------


@cache
def trained() -> tuple[NetworkSpec, TrainingHistory, SampleSet]:
    samples = make_preset("clusters")
    spec = NetworkSpec((4, 4))
    trainer = Trainer(spec, TrainConfig())
    history = TrainingHistory(spec, trainer.params.copy(), 0.7, 0.5)
    params, loss, accuracy, diverged = trainer.run(samples, 400)
    assert not diverged
    history.append(EpochChunk(1, params, loss, accuracy, samples.version, False))
    return spec, history, samples


def test_the_measures_of_a_trained_network_are_finite_and_in_range():
    spec, history, samples = trained()
    enn = build_essence(samples)
    params = history.params_at(400)
    thesis = mlp_thesis(spec, params, samples, enn)
    assert thesis.focus.shape == (4,) and np.isfinite(thesis.focus).all()
    assert ((thesis.focus > 0.0) & (thesis.focus <= 1.0 + 1e-12)).all()
    assert 0.0 < thesis.network_focus <= 1.0
    assert 2 / enn.n_subconcepts <= thesis.chance_focus <= 1.0
    match = thesis.role_match
    assert isinstance(match, RoleMatch)
    assert ((match.index >= 0) & (match.index < enn.n_differentiae)).all()
    assert np.isfinite(match.distance).all() and (match.distance >= 0.0).all()
    assert ((match.angle >= 0.0) & (match.angle <= 90.0)).all()
    assert 0.0 <= thesis.far10 <= 1.0 and 0.0 <= thesis.far100 <= 1.0
    print(f"focus {np.round(thesis.focus, 3)} (network {thesis.network_focus:.3f}, chance "
          f"{thesis.chance_focus:.3f}); role match {np.round(match.distance, 3)} at "
          f"{np.round(match.angle, 1)} deg; far {thesis.far10:.3f} {thesis.far100:.3f}")  # fmt: skip


def test_focus_over_a_few_hundred_epochs_takes_well_under_a_second():
    spec, history, samples = trained()
    groups = np.repeat(np.arange(6), 25)  # the preset's six clusters, 25 samples each
    epochs = history.epochs[:301]
    focus_over_epochs(spec, history, samples, groups, epochs[:5])  # warm up
    start = time.perf_counter()
    over = focus_over_epochs(spec, history, samples, groups, epochs)
    seconds = time.perf_counter() - start
    print(f"focus over {len(epochs)} epochs, 2-4-4-1 network, {samples.n} samples: {seconds * 1e3:.1f} ms")
    assert over.shape == (301, 4) and np.isfinite(over).all()
    assert seconds < 1.0


def test_the_export_arrays_of_a_trained_network_and_its_interpretable_one():
    spec, history, samples = trained()
    enn = build_essence(samples)
    if not hasattr(enn, "differentia_influence"):
        pytest.skip("EssenceNetwork.differentia_influence is not there yet")
    arrays = thesis_arrays(spec, history, 400, samples, enn)
    focus_enn = arrays["thesis/focus_enn"]
    assert focus_enn.shape == (enn.n_differentiae,)
    np.testing.assert_allclose(focus_enn[np.isfinite(focus_enn)], 1.0)  # each line: its two subconcepts
    assert arrays["thesis/focus_over_epochs"].shape == (len(arrays["thesis/focus_epochs"]), 4)
    for name in ("far10_mlp", "far100_mlp", "far10_enn", "far100_enn", "focus_mlp_network"):
        assert 0.0 <= float(arrays[f"thesis/{name}"]) <= 1.0, name
