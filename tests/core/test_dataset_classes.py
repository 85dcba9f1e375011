"""Sample sets of more than two classes (issue 23): labels 0..k-1 with k class names, edits that keep them,
the presets of three classes or more, CSV files with any number of classes, and the export's class names."""

import numpy as np
import pytest

from app.core.dataset import (
    BLUE,
    CLASS_NAMES,
    MAX_CLASSES,
    MULTICLASS_PRESETS,
    PRESET_CLASSES,
    PRESETS,
    RED,
    CsvError,
    SampleSet,
    default_class_names,
    make_preset,
    read_csv,
    write_csv,
)

THREE = ("cat", "dog", "emu")


@pytest.fixture
def three() -> SampleSet:
    return SampleSet([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], [0, 1, 2, 2], 0, THREE)


def test_two_classes_are_the_default_and_k_is_the_number_of_names(three):
    two = SampleSet([[0.0, 0.0]], [BLUE])
    assert two.class_names == CLASS_NAMES == ("red", "blue") and two.classes == 2
    assert (RED, BLUE) == (0, 1) and MAX_CLASSES == 8
    assert three.classes == 3 and three.class_counts == (1, 1, 2)
    assert SampleSet([[0.0, 0.0]], [0], 0, ["a", "b", "c", "d"]).class_names == ("a", "b", "c", "d")
    assert default_class_names(2) == CLASS_NAMES
    assert default_class_names(8) == ("red", "blue", *(f"class {k}" for k in range(3, 9)))
    eight = SampleSet(np.zeros((8, 2)), range(8), 0, default_class_names(8))
    assert eight.class_counts == (1,) * 8


@pytest.mark.parametrize(
    ("labels", "names", "words"),
    [
        ([2], CLASS_NAMES, r"a label must be 0 \(red\) or 1 \(blue\)"),  # two classes: as before
        ([3], THREE, "a label must be 0 to 2 \\(one of 3 classes\\)"),
        ([-1], THREE, "0 to 2"),
        ([0.5], THREE, "0 to 2"),
        ([0], ("red",), "2 to 8 classes, not 1"),
        ([0], default_class_names(8) + ("class 9",), "2 to 8 classes, not 9"),
        ([0], ("a", "b", "a"), "must differ"),
        ([0], ("a", ""), "text without spaces"),
        ([0], ("a", " b"), "text without spaces"),
        ([0], ("a", "b\nc"), "line ends"),
        ([0], ("a", 2), "text"),
        ([0], ("a", "2"), "must not be a number"),
        ([0], ("blue", "red"), "'blue' names class 1, not class 0"),
        ([0], ("a", "b", "Red"), "'Red' names class 0, not class 2"),
        ([0], "ab", "a tuple of names"),
    ],
)
def test_labels_and_names_are_validated(labels, names, words):
    with pytest.raises(ValueError, match=words):
        SampleSet([[0.0, 0.0]] * len(labels), labels, 0, names)


def test_every_edit_keeps_the_class_names(three):
    edits = [
        three.with_sample(5.0, 5.0, 2),
        three.without_sample(0),
        three.cleared(),
        three.with_samples(np.zeros((2, 2)), [2, 1]),
        three.without_samples([0, 1]),
        three.shifted_samples([3], 1.0, 1.0),
        *three.split(0.5, seed=1),
    ]
    assert all(edit.class_names == THREE for edit in edits)
    assert three.with_sample(5.0, 5.0, 2).class_counts == (1, 1, 3)
    assert SampleSet.empty(THREE).class_names == THREE and SampleSet.empty().class_names == CLASS_NAMES
    assert three.with_sample(0.0, 0.0, 3).class_names == (*THREE, "class 4")  # a new class: named for it
    with pytest.raises(ValueError, match="0 to 7"):
        three.with_samples(np.zeros((1, 2)), [8])


def test_training_needs_two_classes_of_k_and_says_which_one_is_alone(three):
    assert three.training_problem() is None
    assert three.without_samples([0]).training_problem() is None  # a class without samples is allowed
    emus = SampleSet([[0.0, 0.0], [1.0, 1.0]], [2, 2], 0, THREE)
    assert emus.training_problem() == (
        "Training needs two classes or more: every sample is emu; add another class's samples."
    )
    assert "empty" in SampleSet.empty(THREE).training_problem()
    # the training part of a split must hold two classes too: pairs (2k, 2k+1) give one test sample each
    pairs = SampleSet(np.zeros((4, 2)), [0, 0, 1, 1], 0, THREE)
    problem = pairs.training_problem(0.5, seed=0)
    assert problem is None or "training part has samples of one class only" in problem
    lonely = SampleSet(np.zeros((2, 2)), [0, 1], 0, THREE)
    assert "training part has samples of one class only" in lonely.training_problem(0.5, seed=0)
    # two classes: the messages as before
    only_red = SampleSet([[0.0, 0.0]], [RED])
    assert only_red.training_problem() == "Training needs both classes: add a blue sample (right-click)."


def test_a_sample_of_a_new_class_adds_the_classes_up_to_it_and_with_classes_sets_their_number():
    moons = make_preset("moons")
    third = moons.with_sample(0.0, 0.0, 2)
    assert third.class_names == ("red", "blue", "class 3")
    assert third.class_counts == (100, 100, 1)
    fifth = moons.with_samples([[0.0, 0.0], [1.0, 1.0]], [1, 4])  # classes 3 and 4 come empty
    assert fifth.class_names == ("red", "blue", "class 3", "class 4", "class 5")
    assert fifth.class_counts == (100, 101, 0, 0, 1)
    with pytest.raises(ValueError, match="class must be 0 to 7, not 8"):
        moons.with_sample(0.0, 0.0, 8)
    assert third.cleared().class_names == third.class_names  # clearing keeps the classes
    back = fifth.with_classes(2)  # fewer classes drop the samples of the others
    assert back.class_names == ("red", "blue") and back.n == 201 and back.version == fifth.version + 1
    named = SampleSet(np.zeros((3, 2)), [0, 1, 2], 0, ("cat", "dog", "emu")).with_classes(4)
    assert named.class_names == ("cat", "dog", "emu", "class 4") and named.n == 3
    with pytest.raises(ValueError, match="2 to 8 classes, not 9"):
        moons.with_classes(9)


# --- presets ------------------------------------------------------------------------------------------------


def test_presets_of_more_classes_are_known_but_not_among_the_two_class_ones():
    assert list(MULTICLASS_PRESETS) == ["blobs3", "blobs5", "spirals3", "wedges6"]
    assert not set(MULTICLASS_PRESETS) & set(PRESETS)
    assert PRESET_CLASSES == {**{name: 2 for name in PRESETS}, "blobs3": 3, "blobs5": 5, "spirals3": 3,
                              "wedges6": 6}  # fmt: skip
    for name, classes in PRESET_CLASSES.items():
        assert make_preset(name).classes == classes, name
    with pytest.raises(ValueError, match="choose from clusters, .*, blobs3, blobs5, spirals3, wedges6"):
        make_preset("blobs9")


@pytest.mark.parametrize("name", list(MULTICLASS_PRESETS))
def test_multiclass_presets_are_balanced_bounded_trainable_and_deterministic(name):
    samples = make_preset(name, seed=3)
    k = PRESET_CLASSES[name]
    assert samples.class_names == default_class_names(k)
    assert 100 <= samples.n <= 250 and len(set(samples.class_counts)) == 1 and min(samples.class_counts) > 0
    assert samples.training_problem() is None and np.abs(samples.points).max() <= 4.0
    again = make_preset(name, seed=3)
    assert np.array_equal(samples.points, again.points) and np.array_equal(samples.labels, again.labels)
    assert not np.array_equal(samples.points, make_preset(name, seed=4).points)


def test_blob_centres_lie_apart_in_class_order():
    samples = make_preset("blobs5", seed=0)
    centres = np.array([samples.points[samples.labels == k].mean(axis=0) for k in range(5)])
    angles = np.degrees(np.arctan2(centres[:, 1], centres[:, 0])) % 360
    np.testing.assert_allclose(angles, [90, 162, 234, 306, 18], atol=12)


# --- CSV ----------------------------------------------------------------------------------------------------


def write(tmp_path, text: str, name: str = "samples.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("labels", "classes", "names"),
    [
        # three labels or more, all red/blue or whole numbers 0 to 7: each is its class
        (["0", "1", "2"], [0, 1, 2], default_class_names(3)),
        (["2", "red", "BLUE", "1.0"], [2, 0, 1, 1], default_class_names(3)),
        (["0", "1", "5"], [0, 1, 5], default_class_names(6)),  # classes 2 to 4 have no sample
        ([str(k) for k in (7, 6, 5, 4, 3, 2, 1, 0)], [7, 6, 5, 4, 3, 2, 1, 0], default_class_names(8)),
        # names: red and blue keep their classes, the others take the free ones in sorted order
        (["dog", "cat", "emu"], [1, 0, 2], ("cat", "dog", "emu")),
        (["blue", "dog", "cat"], [1, 2, 0], ("cat", "blue", "dog")),
        (["dog", "Red", "cat", "1"], [3, 0, 2, 1], ("red", "blue", "cat", "dog")),
        (["10", "2", "30"], [1, 0, 2], default_class_names(3)),  # numbers beyond 7: sorted by value
        (["1", "2", "dog"], [1, 0, 2], ("red", "blue", "dog")),  # 2 is red, as in {1, 2}
        (["10", "10.0", "20"], [0, 0, 1], CLASS_NAMES),  # equal numbers are one class
        # two labels: as before, with the names the file gives
        (["dog", "cat"], [BLUE, RED], ("cat", "dog")),
        (["red", "dog"], [RED, BLUE], ("red", "dog")),
        (["1", "2"], [BLUE, RED], CLASS_NAMES),
        (["blue", "red"], [BLUE, RED], CLASS_NAMES),
    ],
)
def test_labels_give_classes_and_names(tmp_path, labels, classes, names):
    text = "x,y,label\n" + "".join(f"{k},0,{label}\n" for k, label in enumerate(labels))
    samples = read_csv(write(tmp_path, text))
    assert samples.labels.tolist() == classes and samples.class_names == names


def test_a_ninth_class_is_refused_naming_its_line(tmp_path):
    labels = [*"abcdefgh", "b", "a", "i"]
    path = write(tmp_path, "".join(f"{k},0,{label}\n" for k, label in enumerate(labels)))
    with pytest.raises(CsvError, match="line 11: 'i' would be a 9th class; at most 8 classes are allowed"):
        read_csv(path)


@pytest.mark.parametrize("names", [("cat", "dog", "emu"), ("red", "blue", "ünï 🐍"), tuple("abcdefgh")])
def test_named_classes_round_trip_through_their_names(tmp_path, names):
    k = len(names)
    rng = np.random.default_rng(k)
    samples = SampleSet(rng.normal(size=(40, 2)), np.arange(40) % k, 0, names)
    path = tmp_path / "named.csv"
    write_csv(samples, path)
    rows = path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "x,y,label" and rows[1].endswith(f",{names[0]}") and rows[k].endswith(f",{names[-1]}")
    back = read_csv(path)
    assert back.class_names == names
    assert np.array_equal(back.points, samples.points) and np.array_equal(back.labels, samples.labels)


@pytest.mark.parametrize("k", [3, 8])
def test_default_named_classes_round_trip_through_their_numbers(tmp_path, k):
    samples = SampleSet(np.arange(2 * k * 2, dtype=float).reshape(-1, 2) / 3, np.arange(2 * k) % k, 0,
                        default_class_names(k))  # fmt: skip
    path = tmp_path / "numbers.csv"
    write_csv(samples, path)
    written = [row.rsplit(",", 1)[1] for row in path.read_text().splitlines()[1:]]
    assert written == [str(i % k) for i in range(2 * k)]
    back = read_csv(path)
    assert back.class_names == default_class_names(k)
    assert np.array_equal(back.points, samples.points) and np.array_equal(back.labels, samples.labels)


def test_two_class_files_are_written_as_before(tmp_path):
    samples = SampleSet([[0.5, 1.0], [2.0, -1.0]], [RED, BLUE])
    write_csv(samples, tmp_path / "two.csv")
    assert (tmp_path / "two.csv").read_bytes() == b"x,y,label\r\n0.5,1.0,0\r\n2.0,-1.0,1\r\n"
    named = read_csv(write(tmp_path, "0,0,dog\n1,1,cat\n", "pets.csv"))
    write_csv(named, tmp_path / "pets_out.csv")
    assert (tmp_path / "pets_out.csv").read_text().splitlines()[1:] == ["0.0,0.0,dog", "1.0,1.0,cat"]
    again = read_csv(tmp_path / "pets_out.csv")
    assert again.labels.tolist() == named.labels.tolist() == [BLUE, RED]
    assert again.class_names == ("cat", "dog")


def test_the_export_holds_the_class_names(tmp_path):
    """Two named classes for now: the export's influence and regions are two-class (issue 23, later)."""
    from app.core.export_npz import export_data
    from app.core.history import TrainingHistory
    from app.core.network import NetworkSpec, loss_and_accuracy
    from app.core.training import TrainConfig, Trainer

    moons = make_preset("moons")
    samples = SampleSet(moons.points, moons.labels, 0, ("cat", "dog"))
    spec = NetworkSpec((3,), "relu")
    trainer = Trainer(spec, TrainConfig(seed=1))
    history = TrainingHistory(
        spec, trainer.params, *loss_and_accuracy(spec, trainer.params, samples.points, samples.labels)
    )
    path = tmp_path / "out.npz"
    export_data(str(path), samples, history, 0)
    with np.load(path, allow_pickle=False) as data:
        assert data["class_names"].tolist() == ["cat", "dog"]
        assert data["labels"].tolist() == samples.labels.tolist() and set(data["labels"].tolist()) == {0, 1}


def test_the_command_line_takes_more_classes_with_a_network_of_as_many_outputs(tmp_path):
    from app.cli import parse

    csv_path = str(write(tmp_path, "0,0,cat\n1,1,dog\n2,2,emu\n"))
    _, spec, samples = parse(["--data", csv_path, "--layers", "5"])
    assert samples.class_names == ("cat", "dog", "emu") and spec.classes == 3 and spec.widths == (5,)
    _, spec, samples = parse(["--preset", "blobs5"])
    assert samples.classes == spec.classes == 5 and spec.output_units == 5
    _, spec, samples = parse(["--preset", "blobs"])
    assert samples.classes == spec.classes == 2 and spec.output_units == 1


def test_the_six_wedges_lie_each_in_its_sixty_degrees_of_the_disc():
    samples = make_preset("wedges6")
    angles = np.degrees(np.arctan2(samples.points[:, 1], samples.points[:, 0])) % 360.0
    assert (angles // 60 == samples.labels).all()
    assert np.hypot(*samples.points.T).max() <= 2.5 and samples.class_counts == (40,) * 6
