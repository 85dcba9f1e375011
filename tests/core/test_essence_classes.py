"""The interpretable network for more than two classes (issue 23), built as the Lin lab builds it for any
number: a line for every pair of subconcepts of different classes, one concept neuron a class, the class of
the largest concept; and the measures that compare it with a trained network of k classes."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from app.core.comparison import compare_models
from app.core.dataset import MAX_CLASSES, SampleSet, default_class_names, make_preset
from app.core.essence import EssenceError, EssenceNetwork, EssenceSettings, build_essence
from app.core.history import TrainingHistory
from app.core.network import NetworkSpec, predict_classes
from app.core.thesis import enn_thesis, far_field, mlp_predictor, mlp_thesis, thesis_arrays
from app.core.training import EpochChunk, TrainConfig, Trainer


def ring_of_blobs(classes: int, per_class: int = 25, seed: int = 3) -> SampleSet:
    """`classes` tight blobs on a circle, each its own class."""
    angles = 2 * np.pi * np.arange(classes) / classes
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(c, 0.35, size=(per_class, 2)) for c in centres])
    return SampleSet(points, np.repeat(np.arange(classes), per_class), 0, default_class_names(classes))


@cache
def built(name: str, per_class: int | None = None) -> tuple[SampleSet, EssenceNetwork]:
    samples = ring_of_blobs(6) if name == "six" else make_preset(name)
    return samples, build_essence(samples, EssenceSettings(), per_class)


def accuracy(enn: EssenceNetwork, samples: SampleSet) -> float:
    return float(np.mean(enn.predict(samples.points) == samples.labels))


@pytest.mark.parametrize("name", ["blobs3", "spirals3", "blobs5", "six"])
def test_one_concept_neuron_a_class_and_a_line_for_each_pair_of_subconcepts_of_different_classes(name):
    samples, enn = built(name)
    k = samples.classes
    assert enn.n_classes == k and enn.concept_w.shape == (k, enn.n_subconcepts) and len(enn.concept_b) == k
    assert enn.class_names == samples.class_names
    assert sorted(set(enn.subconcept_class.tolist())) == list(range(k))  # every class has subconcepts
    counts = np.bincount(enn.subconcept_class, minlength=k)
    assert enn.n_differentiae == (counts.sum() ** 2 - (counts**2).sum()) // 2
    assert all(enn.subconcept_class[a] < enn.subconcept_class[b] for a, b in enn.differentia_pairs)
    assert enn.n_neurons == enn.n_differentiae + enn.n_subconcepts + k
    for j, name_j in enumerate(enn.subconcept_names):  # named after their class: "class 3 A"
        assert name_j.rsplit(" ", 1)[0] == samples.class_names[enn.subconcept_class[j]]
    np.testing.assert_array_equal(enn.subconcept_class[enn.sample_subconcept], samples.labels)
    xmin, xmax, ymin, ymax = samples.extent()
    grid = np.random.default_rng(0).uniform((xmin - 5, ymin - 5), (xmax + 5, ymax + 5), size=(2000, 2))
    predicted = enn.predict(grid)
    assert predicted.dtype == np.int64 and set(predicted.tolist()) == set(range(k))  # each class has ground
    probabilities = enn.probabilities(grid)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(probabilities, axis=1), predicted)
    with pytest.raises(ValueError, match="two classes"):
        enn.predict_proba(grid)  # P(blue) means nothing here


@pytest.mark.parametrize("name", ["blobs3", "blobs5", "six", "spirals3"])
def test_the_training_samples_are_classified_right(name):
    samples, enn = built(name)
    assert accuracy(enn, samples) >= 0.95


def test_ward_subconcepts_per_class_and_fixed_concepts_take_more_classes_too():
    samples = make_preset("blobs3")
    enn = build_essence(samples, EssenceSettings(tune_concepts=False), per_class=2)
    assert np.bincount(enn.subconcept_class).tolist() == [2, 2, 2] and enn.n_differentiae == 12
    assert enn.concept_epochs == 0 and accuracy(enn, samples) >= 0.95
    # fixed weights: each concept listens to its own class's subconcepts only
    np.testing.assert_array_equal(enn.concept_w != 0, enn.subconcept_class[None, :] == np.arange(3)[:, None])


def test_eight_classes_the_most_a_set_has():
    samples = ring_of_blobs(MAX_CLASSES, per_class=12)
    enn = build_essence(samples)
    assert enn.n_classes == MAX_CLASSES and accuracy(enn, samples) == 1.0


def test_the_explanation_names_the_class_and_its_probability():
    samples, enn = built("blobs3")
    centre = samples.points[samples.labels == 2].mean(axis=0)
    text = enn.explain(centre)
    assert text.startswith("Fires: class 3 A") and text.endswith("Prediction: class 3 (1.00)")


def test_a_class_without_samples_is_refused_naming_it():
    samples = make_preset("blobs5")
    keep = samples.labels != 3
    without = SampleSet(samples.points[keep], samples.labels[keep], 0, samples.class_names)
    with pytest.raises(EssenceError, match="every class.*class 4"):
        build_essence(without)


def test_the_export_names_the_classes():
    samples, enn = built("blobs3")
    arrays = enn.to_arrays()
    assert arrays["essence/class_names"].tolist() == ["red", "blue", "class 3"]
    assert arrays["essence/concept_w"].shape == (3, enn.n_subconcepts)


# --- the comparison and the article's measures for three classes -------------------------------------


@cache
def trained_three() -> tuple[NetworkSpec, TrainingHistory, SampleSet]:
    samples = make_preset("blobs3")
    spec = NetworkSpec((4, 4), "relu", classes=3)
    trainer = Trainer(spec, TrainConfig())
    history = TrainingHistory(spec, trainer.params.copy(), 1.1, 0.3)
    params, loss, accuracy_, diverged = trainer.run(samples, 300)
    assert not diverged
    history.append(EpochChunk(1, params, loss, accuracy_, samples.version, False))
    return spec, history, samples


def test_the_measures_of_three_classes_are_finite_and_in_range():
    spec, history, samples = trained_three()
    enn = build_essence(samples)
    params = history.params_at(300)
    assert np.mean(predict_classes(spec, params, samples.points) == samples.labels) > 0.9
    mlp, interpretable = mlp_thesis(spec, params, samples, enn), enn_thesis(enn, samples)
    for thesis in (mlp, interpretable):
        assert (
            np.isfinite(thesis.focus).all() and ((thesis.focus > 0.0) & (thesis.focus <= 1.0 + 1e-12)).all()
        )
        assert 0.0 < thesis.network_focus <= 1.0 and 0.0 < thesis.chance_focus <= 1.0
        assert 0.0 <= thesis.far10 <= 1.0 and 0.0 <= thesis.far100 <= 1.0
    assert interpretable.network_focus == pytest.approx(1.0)  # each line rests on its two subconcepts
    match = mlp.role_match
    assert ((match.index >= 0) & (match.index < enn.n_differentiae)).all()
    assert np.isfinite(match.distance).all() and ((match.angle >= 0.0) & (match.angle <= 90.0)).all()
    # far out, three blobs on a circle: each network keeps the nearest blob's class along most of the circle
    assert min(far_field(mlp_predictor(spec, params), samples)) > 0.5
    assert min(far_field(enn.predict, samples)) > 0.5
    arrays = thesis_arrays(spec, history, 300, samples, enn, count=5)
    assert all(np.isfinite(np.asarray(a, dtype=np.float64)).all() for a in arrays.values())

    comparison = compare_models(samples, SampleSet.empty(samples.class_names), mlp_predictor(spec, params),
                                enn.predict, sum(spec.widths) + spec.output_units, enn.n_neurons,
                                concepts_tuned=True, thesis=(mlp, interpretable), epoch=300)  # fmt: skip
    assert comparison.training_accuracy_enn == 1.0 and comparison.training_accuracy_mlp > 0.9
    assert comparison.n_neurons_mlp == 4 + 4 + 3
    measured = "far_agreement_models far_agreement_mlp_nearest far_agreement_enn_nearest focus_mlp focus_enn"
    measured += " focus_chance far10_mlp_nearest far10_enn_nearest role_match_median"
    for name in measured.split():
        value = getattr(comparison, name)
        assert value is not None and np.isfinite(value), name
    rows = dict((row[0], row[1:]) for row in comparison.rows())
    assert rows["Training accuracy"][1] == "100.0%" and rows["Neurons"] == ("11", str(enn.n_neurons))
