"""The essence neural network (ENN) built without gradient descent: app/core/essence.py."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
from scipy.optimize import linprog

from app.core.dataset import BLUE, RED, SampleSet, make_preset
from app.core.essence import (
    EssenceError,
    EssenceNetwork,
    EssenceSettings,
    build_essence,
    far_agreement,
    nearest_sample_predictor,
)

PRESETS = ("xor", "clusters", "circles", "moons")


@cache
def built(name: str) -> tuple[SampleSet, EssenceNetwork, float]:
    samples = make_preset(name)
    start = time.perf_counter()
    network = build_essence(samples)
    return samples, network, time.perf_counter() - start


def linearly_separable(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether some line puts a strictly on one side and b on the other (an LP feasibility problem)."""
    points = np.concatenate([a, b])
    signs = np.concatenate([np.ones(len(a)), -np.ones(len(b))])
    # find (w1, w2, c) with signs * (w.x + c) >= 1, i.e. -signs * [x, 1] . (w, c) <= -1
    a_ub = -signs[:, None] * np.column_stack([points, np.ones(len(points))])
    result = linprog(np.zeros(3), A_ub=a_ub, b_ub=-np.ones(len(points)), bounds=[(None, None)] * 3)
    return result.status == 0


@pytest.mark.parametrize("name", PRESETS)
def test_every_training_sample_of_the_preset_is_classified_correctly(name: str) -> None:
    samples, network, seconds = built(name)
    print(
        f"{name}: {network.n_subconcepts} subconcepts, {network.n_differentiae} differentiae, {seconds:.3f} s"
    )
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)
    assert network.n_subconcepts == len(network.subconcept_names) >= 2
    assert network.n_neurons == network.n_differentiae + network.n_subconcepts + 2


@pytest.mark.parametrize("name", PRESETS)
def test_every_differentia_line_separates_its_two_subconcepts(name: str) -> None:
    samples, network, _ = built(name)
    separable_pairs = 0
    for k, (first, second) in enumerate(network.differentia_pairs):
        assert network.subconcept_class[first] == RED and network.subconcept_class[second] == BLUE
        a = samples.points[network.sample_subconcept == first]
        b = samples.points[network.sample_subconcept == second]
        w, c = network.differentia_w[k], network.differentia_b[k]
        errors = int(((a @ w + c) <= 0).sum() + ((b @ w + c) >= 0).sum())
        assert errors <= network.settings.overlap_skip * (
            len(a) + len(b)
        )  # heavily overlapping pairs skipped
        if linearly_separable(a, b):
            separable_pairs += 1
            assert errors == 0, f"{name}: {network.differentia_label(k)} misclassifies {errors} samples"
            d = network.differentia(np.concatenate([a, b]))[:, k]
            assert (d[: len(a)] > 0).all() and (d[len(a) :] < 0).all()  # d > 0 on the first subconcept's side
    assert separable_pairs > 0


def test_subconcepts_follow_the_samples_and_the_concept_weights_are_fixed() -> None:
    samples = make_preset("clusters")  # three gaussian clusters of 25 samples per class, in sample order
    network = build_essence(samples, n_subconcepts=6)
    np.testing.assert_array_equal(network.subconcept_class[network.sample_subconcept], samples.labels)
    generating = np.repeat(np.arange(6), 25)
    for j in range(6):  # Ward linkage finds the generating clusters exactly
        assert len(set(generating[network.sample_subconcept == j].tolist())) == 1
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)
    assert network.subconcept_names == ("red A", "red B", "red C", "blue A", "blue B", "blue C")
    expected_w = np.repeat(np.eye(2), 3, axis=1) * 10.0
    np.testing.assert_array_equal(network.concept_w, expected_w)
    np.testing.assert_array_equal(network.concept_b, [-5.0, -5.0])
    assert network.differentia_w.shape == (network.n_differentiae, 2)
    assert network.subconcept_v.shape == (6, network.n_differentiae)
    assert network.differentia_label(0) == "red A | blue A"
    for j in range(network.n_subconcepts):  # each training sample fires its own subconcept
        own = network.sample_subconcept == j
        assert (network.subconcepts(samples.points[own])[:, j] > 0).all()


def test_the_class_with_the_widest_gap_is_split_first() -> None:
    rng = np.random.default_rng(1)
    red = np.concatenate([rng.normal(c, 0.1, size=(10, 2)) for c in [(-6, 0), (0, 0), (6, 0)]])
    blue = rng.normal((0, 3), 0.1, size=(10, 2))
    samples = SampleSet(np.concatenate([red, blue]), np.repeat([RED, BLUE], [30, 10]))
    network = build_essence(samples, n_subconcepts=4)
    assert network.subconcept_names == ("red A", "red B", "red C", "blue A")
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)


def test_building_is_deterministic() -> None:
    samples = make_preset("moons")
    a, b = build_essence(samples), build_essence(samples)
    arrays_a, arrays_b = a.to_arrays(), b.to_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert a.subconcept_names == b.subconcept_names and a.differentia_pairs == b.differentia_pairs


def test_moving_and_scaling_the_samples_changes_nothing_but_the_coordinates() -> None:
    samples, network, _ = built("moons")
    moved = SampleSet(samples.points * 1000.0 + (5e4, -3e3), samples.labels)
    other = build_essence(moved)
    assert other.subconcept_names == network.subconcept_names
    probe = np.random.default_rng(2).uniform(-3, 3, size=(500, 2))
    np.testing.assert_allclose(
        other.predict_proba(probe * 1000.0 + (5e4, -3e3)), network.predict_proba(probe), atol=1e-5
    )


def test_explicit_number_of_subconcepts() -> None:
    samples = make_preset("moons")
    for n in (2, 3, 7):
        network = build_essence(samples, n_subconcepts=n)
        assert network.n_subconcepts == n
        assert set(network.subconcept_class.tolist()) == {RED, BLUE}


def test_predict_proba_is_a_probability_consistent_with_predict() -> None:
    samples, network, _ = built("circles")
    probe = np.concatenate([samples.points, np.random.default_rng(3).uniform(-400, 400, size=(2000, 2))])
    p = network.predict_proba(probe)
    assert p.shape == (len(probe),) and np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    predicted = network.predict(probe)
    assert predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted, (p > 0.5).astype(np.int64))
    concepts = network.concepts(probe)
    assert concepts.shape == (len(probe), 2)
    np.testing.assert_array_equal(predicted, np.argmax(concepts, axis=1))
    assert network.differentia(probe).shape == (len(probe), network.n_differentiae)
    assert network.subconcepts(probe).shape == (len(probe), network.n_subconcepts)


def test_explain_names_a_firing_subconcept_and_the_prediction() -> None:
    samples, network, _ = built("xor")
    for i in (0, len(samples.labels) - 1):
        point = samples.points[i]
        text = network.explain(point)
        firing = [network.subconcept_names[j] for j in np.flatnonzero(network.subconcepts(point)[0] > 0)]
        assert firing and text.startswith("Fires: ")
        assert any(name in text for name in firing)
        colour = ("red", "blue")[samples.labels[i]]
        assert f"Prediction: {colour} (" in text
        assert " | " in text and "side" in text
    far = network.explain(np.array([1e6, -1e6]))
    assert "Prediction: " in far


def test_to_arrays_round_trips_through_npz_without_pickle(tmp_path) -> None:
    _, network, _ = built("moons")
    arrays = network.to_arrays()
    assert all(key.startswith("essence/") for key in arrays)
    np.savez(tmp_path / "enn.npz", **arrays)
    with np.load(tmp_path / "enn.npz", allow_pickle=False) as loaded:
        np.testing.assert_array_equal(loaded["essence/differentia_w"], network.differentia_w)
        np.testing.assert_array_equal(loaded["essence/subconcept_v"], network.subconcept_v)
        assert tuple(loaded["essence/subconcept_names"].tolist()) == network.subconcept_names
        assert loaded["essence/differentia_pairs"].shape == (network.n_differentiae, 2)


def test_one_class_or_no_samples_is_refused() -> None:
    message = "The interpretable network needs samples of both classes."
    with pytest.raises(EssenceError, match=message):
        build_essence(SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([RED, RED])))
    with pytest.raises(EssenceError, match=message):
        build_essence(SampleSet.empty())
    assert issubclass(EssenceError, ValueError)


def test_fewer_samples_than_subconcepts_is_refused() -> None:
    samples = SampleSet(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), np.array([RED, BLUE, RED]))
    with pytest.raises(EssenceError, match="only 3 samples: too few for 4 subconcepts"):
        build_essence(samples, n_subconcepts=4)
    with pytest.raises(EssenceError, match="at least 2 subconcepts"):
        build_essence(samples, n_subconcepts=1)
    assert build_essence(samples, n_subconcepts=3).n_subconcepts == 3


def test_points_of_both_colours_at_one_spot_are_refused_with_their_numbers() -> None:
    points = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0], [1.0, 2.0], [0.0, 0.0]])
    with pytest.raises(EssenceError) as raised:
        build_essence(SampleSet(points, np.array([RED, RED, BLUE, BLUE, RED])))
    assert str(raised.value) == (
        "Samples 2 and 4 lie at the same point with different colours: no network can separate them."
    )
    # the same spot twice in one colour is fine
    network = build_essence(SampleSet(points, np.array([RED, BLUE, RED, BLUE, RED])))
    np.testing.assert_array_equal(network.predict(points), [RED, BLUE, RED, BLUE, RED])


def test_two_samples_are_enough() -> None:
    samples = SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([RED, BLUE]))
    network = build_essence(samples)
    assert network.subconcept_names == ("red A", "blue A")
    np.testing.assert_array_equal(network.predict(samples.points), [RED, BLUE])


def test_far_agreement() -> None:
    samples, network, _ = built("moons")

    def negated(points: np.ndarray) -> np.ndarray:
        return 1 - network.predict(points)

    assert far_agreement(network.predict, network.predict, (0.0, 0.0), 100.0) == 1.0
    assert far_agreement(network.predict, negated, (0.0, 0.0), 100.0) == 0.0

    def right_half_blue(points: np.ndarray) -> np.ndarray:
        return (points[:, 0] > 0).astype(np.int64)

    def all_blue(points: np.ndarray) -> np.ndarray:
        return np.ones(len(points), dtype=np.int64)

    assert far_agreement(right_half_blue, all_blue, (0.0, 0.0), 5.0, n=720) == pytest.approx(0.5, abs=2 / 720)
    nearest = nearest_sample_predictor(samples)
    np.testing.assert_array_equal(nearest(samples.points), samples.labels)
    xmin, xmax, ymin, ymax = samples.extent()
    extent = max(xmax - xmin, ymax - ymin)
    share = far_agreement(network.predict, nearest, ((xmin + xmax) / 2, (ymin + ymax) / 2), 100 * extent)
    assert 0.0 <= share <= 1.0
    print(f"moons: ENN agrees with the nearest sample on {share:.0%} of the circle at 100 extents")
    with pytest.raises(ValueError):
        far_agreement(network.predict, nearest, (0.0, 0.0), 0.0)


def test_settings_defaults() -> None:
    settings = EssenceSettings()
    assert (settings.m1, settings.m2, settings.c1, settings.c2) == (8.0, 8.0, 15.0, 1000.0)
    assert (settings.concept_weight, settings.concept_bias) == (10.0, -5.0)
    assert settings.overlap_skip == 0.25 and settings.max_subconcepts == 12
    with pytest.raises(AttributeError):
        settings.m1 = 1.0  # type: ignore[misc]


def test_build_time_for_200_samples_is_reported() -> None:
    samples = make_preset("moons")
    assert samples.n == 200
    build_essence(samples)  # warm up imports and caches
    start = time.perf_counter()
    network = build_essence(samples)
    seconds = time.perf_counter() - start
    print(f"ENN build for 200 samples (moons): {seconds * 1000:.0f} ms, {network.n_subconcepts} subconcepts")


def test_an_svm_stopped_at_max_iter_says_nothing_in_the_background():
    """The stop is expected (see _linear_svm). Builds run in a background thread of the app, so the warning
    is silenced once for the process rather than by catch_warnings around each fit, which swaps the
    process-wide filters under other threads. Run as the app runs (pytest resets filters per test)."""
    import subprocess
    import sys

    code = (
        "import threading, numpy as np\n"
        "from app.core.essence import _linear_svm\n"
        "rng = np.random.default_rng(0)\n"
        "x, positive = rng.normal(size=(300, 2)), rng.random(300) > 0.5\n"  # no line separates these
        "worker = threading.Thread(target=_linear_svm, args=(x, positive, 1e4, 5, 0))\n"
        "worker.start(); worker.join()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "terminated early" not in result.stderr


def test_too_many_samples_of_a_class_are_refused_before_the_clustering_allocates():
    """A million samples asked Ward clustering for 932 GiB (issue #19); the cap is checked first."""
    from app.core.essence import MAX_PER_CLASS

    rng = np.random.default_rng(0)
    n = MAX_PER_CLASS + 1
    samples = SampleSet(rng.normal(size=(n + 3, 2)), np.array([0] * n + [1] * 3))
    with pytest.raises(EssenceError, match=f"{MAX_PER_CLASS:,} samples a class at most"):
        build_essence(samples)
