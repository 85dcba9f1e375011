"""The essence neural network (ENN), built as the Lin lab builds it: app/core/essence*.py. Its agreement with
their code, step by step, is tests/core/test_essence_reference.py."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pytest
from sklearn.svm import SVC

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
FIXED = EssenceSettings(tune_concepts=False)  # no gradient descent anywhere


@cache
def built(name: str) -> tuple[SampleSet, EssenceNetwork, float]:
    samples = make_preset(name)
    start = time.perf_counter()
    network = build_essence(samples)
    return samples, network, time.perf_counter() - start


@pytest.mark.parametrize("name", PRESETS)
def test_the_training_samples_of_the_preset_are_classified(name: str) -> None:
    """The automatic subconcepts stop when every pair separates within 2% (theirs): a sample or two of a
    preset may stay on the wrong side; moons keeps three of its 200."""
    samples, network, seconds = built(name)
    accuracy = float(np.mean(network.predict(samples.points) == samples.labels))
    print(f"{name}: {network.n_subconcepts} subconcepts, {network.n_differentiae} differentiae, "
          f"{seconds:.3f} s, training accuracy {accuracy:.3f}")  # fmt: skip
    assert accuracy >= 0.98
    assert network.n_subconcepts == len(network.subconcept_names) >= 2
    assert network.n_neurons == network.n_differentiae + network.n_subconcepts + 2


def svc(x: np.ndarray, n_positive: int, c: float) -> SVC:
    """The SVM as they fit it (enn_svm.SVM, fast=False), the first n_positive rows positive."""
    positive = np.arange(len(x)) < n_positive
    return SVC(kernel="linear", C=c, class_weight="balanced", tol=1e-30, max_iter=50_000).fit(x, positive)


@pytest.mark.parametrize("name", PRESETS)
def test_each_line_and_its_support_vectors_are_scikit_learns_svm_of_its_pair(name: str) -> None:
    """Differentia k is the SVM (C = 15) between its two subconcepts' samples, fitted on the samples centred
    on their mean, the earlier subconcept of the authors' splitting first and positive: its support vectors
    are that SVM's support_ mapped back to training samples, their coefficients its dual_coef_ (negated where
    the blue one came first); likewise each subconcept neuron's SVM (C = 1000) on the differentia outputs,
    its own samples first."""
    samples, network, _ = built(name)
    centred = samples.points - samples.points.mean(axis=0)
    for k, (first, second) in enumerate(network.differentia_pairs):
        assert network.subconcept_class[first] == RED and network.subconcept_class[second] == BLUE
        a, b = (np.flatnonzero(network.sample_subconcept == j) for j in (first, second))
        if len(a) + len(b) == 2:  # the bisector: tested in test_two_samples_are_enough
            continue
        fits = []
        for rows, positive, sign in (
            (np.concatenate([a, b]), len(a), 1.0),
            (np.concatenate([b, a]), len(b), -1.0),
        ):
            fitted = svc(centred[rows], positive, network.settings.c1)
            support = rows[fitted.support_]
            order = np.argsort(support)
            fits.append((support[order], sign * fitted.dual_coef_[0][order], sign * fitted.coef_[0]))
        mine = np.argsort(network.support_indices[k])
        indices, coef = network.support_indices[k][mine], network.support_coef[k][mine]
        same = [np.array_equal(indices, f[0]) and np.allclose(coef, f[1], rtol=1e-12, atol=0) for f in fits]
        assert any(same), f"{name}: {network.differentia_label(k)}"
        w = network.differentia_w[k]
        np.testing.assert_allclose(w, fits[same.index(True)][2], atol=2e-4 * np.abs(w).max())  # equalized
        d = network.differentia(samples.points[np.concatenate([a, b])])[:, k]
        assert d[: len(a)].mean() > 0 > d[len(a) :].mean()  # d > 0 on the first subconcept's side
    d = network.differentia(samples.points)
    for j in range(network.n_subconcepts):
        own = np.flatnonzero(network.sample_subconcept == j)
        rows = np.concatenate([own, np.flatnonzero(samples.labels != network.subconcept_class[j])])
        fitted = svc(d[rows], len(own), network.settings.c2)
        order = np.argsort(rows[fitted.support_])
        mine = np.argsort(network.subconcept_support_indices[j])
        np.testing.assert_array_equal(
            network.subconcept_support_indices[j][mine], rows[fitted.support_][order]
        )
        np.testing.assert_allclose(network.subconcept_support_coef[j][mine], fitted.dual_coef_[0][order],
                                   atol=1e-6 * network.settings.c2)  # fmt: skip


def test_differentia_influence_is_each_samples_absolute_dual_coefficient() -> None:
    samples, network, _ = built("moons")
    influence = network.differentia_influence()
    assert influence.shape == (samples.n, network.n_differentiae)
    for k in range(network.n_differentiae):
        support = np.zeros(samples.n, dtype=bool)
        support[network.support_indices[k]] = True
        np.testing.assert_array_equal(
            influence[network.support_indices[k], k], np.abs(network.support_coef[k])
        )
        assert (influence[~support, k] == 0).all() and (influence[support, k] > 0).all()
        pair = np.isin(network.sample_subconcept, network.differentia_pairs[k])
        assert not (support & ~pair).any()  # only the pair's own samples set its line


def test_subconcepts_per_class_are_ward_clusters() -> None:
    samples = make_preset("clusters")  # three gaussian clusters of 25 samples per class, in sample order
    network = build_essence(samples, FIXED, per_class=3)
    np.testing.assert_array_equal(network.subconcept_class[network.sample_subconcept], samples.labels)
    generating = np.repeat(np.arange(6), 25)
    for j in range(6):  # Ward linkage finds the generating clusters exactly
        assert len(set(generating[network.sample_subconcept == j].tolist())) == 1
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)
    assert network.subconcept_names == ("red A", "red B", "red C", "blue A", "blue B", "blue C")
    assert network.differentia_w.shape == (9, 2) and network.subconcept_v.shape == (6, 9)
    assert network.differentia_label(0) == "red A | blue A"
    for j in range(network.n_subconcepts):  # each training sample fires its own subconcept
        own = network.sample_subconcept == j
        assert (network.subconcepts(samples.points[own])[:, j] > 0).all()


def test_fixed_concept_weights_make_each_class_the_or_of_its_subconcepts() -> None:
    """tune_concepts=False: no gradient descent anywhere; concept_k = 10 * (sum over its subconcepts of
    (s + 1) / 2) - 5, stored on s itself."""
    samples = make_preset("clusters")
    network = build_essence(samples, FIXED, per_class=3)
    assert network.concept_epochs == 0
    np.testing.assert_array_equal(network.concept_w, np.repeat(np.eye(2), 3, axis=1) * 5.0)
    np.testing.assert_array_equal(network.concept_b, [10.0, 10.0])
    s = network.subconcepts(samples.points)
    firing = (s + 1.0) / 2.0
    expected = np.column_stack(
        [10.0 * firing[:, :3].sum(axis=1) - 5.0, 10.0 * firing[:, 3:].sum(axis=1) - 5.0]
    )
    np.testing.assert_allclose(network.concepts(samples.points), expected, atol=1e-9)
    tuned = build_essence(samples, per_class=3)  # theirs: SVMs on s, then gradient descent
    assert tuned.concept_epochs >= 1 and not np.array_equal(tuned.concept_w, network.concept_w)
    np.testing.assert_array_equal(tuned.sample_subconcept, network.sample_subconcept)
    np.testing.assert_array_equal(tuned.differentia_w, network.differentia_w)


def test_a_separable_set_keeps_one_subconcept_per_class() -> None:
    """Their splitting only splits a pair that separates worse than 2%: three red clusters in a row all
    below one blue cluster stay one red subconcept."""
    rng = np.random.default_rng(1)
    red = np.concatenate([rng.normal(c, 0.1, size=(10, 2)) for c in [(-6, 0), (0, 0), (6, 0)]])
    blue = rng.normal((0, 3), 0.1, size=(10, 2))
    samples = SampleSet(np.concatenate([red, blue]), np.repeat([RED, BLUE], [30, 10]))
    network = build_essence(samples)
    assert network.subconcept_names == ("red A", "blue A") and network.n_differentiae == 1
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)
    assert build_essence(samples, per_class=3).subconcept_names == (
        "red A", "red B", "red C", "blue A", "blue B", "blue C")  # fmt: skip


def test_the_splitting_stops_at_max_subconcepts() -> None:
    rng = np.random.default_rng(0)  # two classes drawn from one gaussian: no split ever separates them
    samples = SampleSet(rng.normal(size=(300, 2)), np.repeat([RED, BLUE], 150))
    network = build_essence(samples, EssenceSettings(max_subconcepts=7))
    assert network.n_subconcepts == 7


def test_building_is_deterministic() -> None:
    samples = make_preset("moons")
    a, b = build_essence(samples), build_essence(samples)
    arrays_a, arrays_b = a.to_arrays(), b.to_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert a.subconcept_names == b.subconcept_names and a.differentia_pairs == b.differentia_pairs


def test_moving_the_samples_changes_nothing_but_the_coordinates() -> None:
    """We fit on samples centred on their mean: the same SVMs as on the raw coordinates mathematically, and
    their splitting then does not depend on where the origin is (on the raw coordinates xor moved by 50,000
    would be half wrong)."""
    samples, network, _ = built("moons")
    shift = np.array([5e4, -3e3])
    other = build_essence(SampleSet(samples.points + shift, samples.labels))
    np.testing.assert_array_equal(other.sample_subconcept, network.sample_subconcept)
    probe = np.random.default_rng(2).uniform(-3, 3, size=(500, 2))
    np.testing.assert_allclose(other.predict_proba(probe + shift), network.predict_proba(probe), atol=1e-4)


def test_standardized_inputs_also_make_scaling_change_nothing_but_the_coordinates() -> None:
    """The default keeps the data's scale, as theirs (C weighs margin against errors in the data's units);
    with standardize_inputs each axis is scaled to spread 1 first, so the scale no longer matters."""
    samples = make_preset("moons")
    settings = EssenceSettings(standardize_inputs=True)
    network = build_essence(samples, settings)
    scale, shift = np.array([1000.0, 20.0]), np.array([5e4, -3e3])
    other = build_essence(SampleSet(samples.points * scale + shift, samples.labels), settings)
    assert other.subconcept_names == network.subconcept_names
    np.testing.assert_array_equal(other.sample_subconcept, network.sample_subconcept)
    probe = np.random.default_rng(2).uniform(-3, 3, size=(500, 2))
    np.testing.assert_allclose(
        other.predict_proba(probe * scale + shift), network.predict_proba(probe), atol=1e-3
    )


def test_explicit_number_of_subconcepts_per_class() -> None:
    samples = make_preset("moons")
    for n in (1, 2, 3):
        network = build_essence(samples, per_class=n)
        assert network.n_subconcepts == 2 * n
        np.testing.assert_array_equal(np.bincount(network.subconcept_class), [n, n])


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
        for name, count in (
            ("support", network.n_differentiae),
            ("subconcept_support", network.n_subconcepts),
        ):
            indices, coef = loaded[f"essence/{name}_indices"], loaded[f"essence/{name}_coef"]
            assert indices.dtype == np.int64 and coef.dtype == np.float64
            assert len(indices) == len(coef)
            at = 0
            for k in range(count):  # for each neuron its count, then that many values
                n = int(indices[at])
                assert coef[at] == n
                np.testing.assert_array_equal(
                    indices[at + 1 : at + 1 + n], getattr(network, f"{name}_indices")[k]
                )
                np.testing.assert_array_equal(coef[at + 1 : at + 1 + n], getattr(network, f"{name}_coef")[k])
                at += 1 + n
            assert at == len(indices)


def test_one_class_or_no_samples_is_refused() -> None:
    message = "The interpretable network needs samples of both classes."
    with pytest.raises(EssenceError, match=message):
        build_essence(SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([RED, RED])))
    with pytest.raises(EssenceError, match=message):
        build_essence(SampleSet.empty())
    assert issubclass(EssenceError, ValueError)


def test_a_class_with_fewer_samples_gets_one_subconcept_per_sample() -> None:
    samples = SampleSet(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), np.array([RED, BLUE, RED]))
    network = build_essence(samples, per_class=4)
    np.testing.assert_array_equal(np.bincount(network.subconcept_class), [2, 1])
    np.testing.assert_array_equal(network.predict(samples.points), samples.labels)
    with pytest.raises(EssenceError, match="at least one subconcept, not 0"):
        build_essence(samples, per_class=0)


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
    """A pair of single samples gets their perpendicular bisector (their SVM's use_exact), which rests on
    the two samples with coefficients +1 and -1."""
    samples = SampleSet(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([RED, BLUE]))
    network = build_essence(samples)
    assert network.subconcept_names == ("red A", "blue A")
    np.testing.assert_array_equal(network.predict(samples.points), [RED, BLUE])
    np.testing.assert_array_equal(network.differentia_w, [[-1.0, -1.0]])  # red minus blue
    np.testing.assert_array_equal(network.differentia_b, [1.0])  # through the midpoint (0.5, 0.5)
    np.testing.assert_array_equal(network.support_indices[0], [0, 1])
    np.testing.assert_array_equal(network.support_coef[0], [1.0, -1.0])
    np.testing.assert_array_equal(network.differentia_influence(), [[1.0], [1.0]])


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


def test_settings_defaults_are_the_authors() -> None:
    settings = EssenceSettings()
    assert (settings.m1, settings.m2, settings.c1, settings.c2) == (8.0, 8.0, 15.0, 1000.0)
    assert settings.tune_concepts and not settings.standardize_inputs
    assert (settings.concept_weight, settings.concept_bias) == (10.0, -5.0)
    assert settings.split_tolerance == 0.02 and settings.max_subconcepts == 30
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
    """Their tolerance (1e-30) stops every full fit at max_iter. Builds run in a background thread of the
    app, so the warning is silenced once for the process rather than by catch_warnings around each fit,
    which swaps the process-wide filters under other threads. Run as the app runs (pytest resets filters per
    test)."""
    import subprocess
    import sys

    code = (
        "import threading, numpy as np\n"
        "from app.core.essence_svm import fit_svm\n"
        "rng = np.random.default_rng(0)\n"
        "x, positive = rng.normal(size=(300, 2)), rng.random(300) > 0.5\n"  # no line separates these
        "worker = threading.Thread(target=fit_svm, args=(x, positive, 1e4, (1e-30, 5)))\n"
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
