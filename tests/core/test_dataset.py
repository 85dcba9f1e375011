"""SampleSet immutability and validation, the presets' shape and difficulty, and CSV reading and writing."""

import itertools
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from app.core.dataset import (
    BLUE,
    MAX_COORDINATE,
    MULTICLASS_PRESETS,
    PRESET_LABELS,
    PRESETS,
    RED,
    CsvError,
    SampleSet,
    make_preset,
    read_csv,
    test_mask,
    write_csv,
)


@pytest.fixture
def two() -> SampleSet:
    return SampleSet(np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([RED, BLUE]))


def test_arrays_have_fixed_dtypes_and_are_read_only(two):
    assert two.points.dtype == np.float64 and two.points.shape == (2, 2)
    assert two.labels.dtype == np.int64 and two.labels.shape == (2,)
    with pytest.raises(ValueError):
        two.points[0, 0] = 5.0
    with pytest.raises(ValueError):
        two.labels[0] = BLUE


def test_constructor_copies_its_input():
    points = np.zeros((1, 2))
    samples = SampleSet(points, [RED])
    points[0, 0] = 9.0
    assert samples.points[0, 0] == 0.0


def test_edits_return_new_versions_and_leave_the_original_alone(two):
    added = two.with_sample(4.0, 5.0, BLUE)
    assert added is not two and added.n == 3 and added.version == two.version + 1
    assert added.points[-1].tolist() == [4.0, 5.0] and added.labels[-1] == BLUE

    removed = added.without_sample(0)
    assert removed.points.tolist() == [[2.0, 3.0], [4.0, 5.0]] and removed.version == 2

    cleared = two.cleared()
    assert cleared.n == 0 and cleared.version == 1

    assert two.points.tolist() == [[0.0, 1.0], [2.0, 3.0]] and two.labels.tolist() == [RED, BLUE]
    assert two.version == 0


def test_edits_check_indices(two):
    with pytest.raises(IndexError):
        two.without_sample(2)
    with pytest.raises(IndexError):
        two.without_sample(-3)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_coordinates_are_rejected(two, bad):
    with pytest.raises(ValueError, match="finite"):
        two.with_sample(bad, 0.0, RED)
    with pytest.raises(ValueError, match="finite"):
        two.with_sample(0.0, bad, RED)
    with pytest.raises(ValueError, match="finite"):
        SampleSet([[bad, 0.0]], [RED])


def test_coordinates_beyond_the_limit_are_refused_by_every_edit(two):
    """Issue 19: samples near 1e307 were accepted and then crashed plotting, geometry and influence."""
    beyond = np.nextafter(MAX_COORDINATE, np.inf)
    at_the_limit = SampleSet([[MAX_COORDINATE, -MAX_COORDINATE]], [RED])
    assert at_the_limit.points.tolist() == [[MAX_COORDINATE, -MAX_COORDINATE]]
    for value in (beyond, -beyond, 1e307, -1e305):
        with pytest.raises(ValueError, match="within ±1e\\+15"):
            SampleSet([[0.0, value]], [RED])
        with pytest.raises(ValueError, match="within"):
            two.with_sample(value, 0.0, BLUE)
        with pytest.raises(ValueError, match="within"):
            two.with_samples(np.array([[0.0, 0.0], [0.0, value]]), [RED, BLUE])
    with pytest.raises(ValueError, match="within"):
        at_the_limit.shifted_samples([0], 1.0, 0.0)  # a move past the limit
    assert at_the_limit.shifted_samples([0], -2 * MAX_COORDINATE, 0.0).points[0, 0] == -MAX_COORDINATE


def test_the_coordinate_limit_leaves_room_for_the_soaks_largest_data():
    """The soak's extremes section trains on the clusters preset times 1e12 (up to about 3e12)."""
    clusters = make_preset("clusters")
    assert SampleSet(clusters.points * 1e12, clusters.labels).n == clusters.n
    assert 1e13 <= MAX_COORDINATE < 2.0**53  # integers typed into a file stay exact


def test_labels_and_shapes_are_validated(two):
    with pytest.raises(ValueError):
        two.with_sample(0.0, 0.0, 8)
    with pytest.raises(ValueError):
        SampleSet([[0.0, 0.0]], [0.5])
    with pytest.raises(ValueError):
        SampleSet([[0.0, 0.0, 0.0]], [RED])
    with pytest.raises(ValueError):
        SampleSet([[0.0, 0.0]], [RED, BLUE])


def test_counts_and_extent(two):
    assert two.n == 2 and two.class_counts == (1, 1)
    assert two.extent() == (0.0, 2.0, 1.0, 3.0)
    assert SampleSet.empty().extent() == (-1.0, 1.0, -1.0, 1.0)
    assert SampleSet([[3.0, 4.0]], [RED]).extent() == (2.0, 4.0, 3.0, 5.0)
    assert SampleSet([[3.0, 4.0], [5.0, 4.0]], [RED, BLUE]).extent() == (3.0, 5.0, 3.0, 5.0)


def test_training_problem_names_what_is_missing(two):
    assert two.training_problem() is None
    assert "empty" in SampleSet.empty().training_problem()
    only_red = SampleSet.empty().with_sample(0.0, 0.0, RED)
    assert "add a blue sample" in only_red.training_problem()
    only_blue = SampleSet.empty().with_sample(0.0, 0.0, BLUE)
    assert "add a red sample" in only_blue.training_problem()


def test_training_problem_messages_without_a_split_are_unchanged(two):
    only_red = SampleSet.empty().with_sample(0.0, 0.0, RED)
    only_blue = SampleSet.empty().with_sample(0.0, 0.0, BLUE)
    for fraction in (0.0, 0.5):  # a whole-set problem is named first, split or not
        assert (
            SampleSet.empty().training_problem(fraction) == "Add some samples to train: the canvas is empty."
        )
        assert only_red.training_problem(fraction) == (
            "Training needs both classes: add a blue sample (right-click)."
        )
        assert only_blue.training_problem(fraction) == (
            "Training needs both classes: add a red sample (left-click)."
        )
    assert two.training_problem(0.0, seed=5) is None


def test_training_problem_of_a_split_names_the_missing_class(two):
    n = 12
    held_out = test_mask(n, 0.5)
    points = np.column_stack([np.arange(n), np.zeros(n)]).astype(float)
    blue_only_held_out = SampleSet(points, held_out.astype(int))  # red trains, blue is all held out
    assert blue_only_held_out.training_problem() is None
    assert blue_only_held_out.training_problem(0.5) == (
        "With a test fraction of 0.5, the training part has no blue sample: "
        "add samples or lower the test fraction."
    )
    red_only_held_out = SampleSet(points, (~held_out).astype(int))
    assert "the training part has no red sample" in red_only_held_out.training_problem(0.5)
    mixed = SampleSet(points, np.arange(n) % 3 == 0)
    assert mixed.training_problem(0.5) is None
    # two samples at 0.9: both held out, nothing left to train on
    assert test_mask(2, 0.9).all()
    assert two.training_problem(0.9) == (
        "With a test fraction of 0.9, the training part is empty: add samples or lower the test fraction."
    )


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, math.nan])
def test_test_fraction_out_of_range_is_rejected(two, fraction):
    with pytest.raises(ValueError, match="test fraction must be at least 0 and below 1"):
        test_mask(10, fraction)
    with pytest.raises(ValueError, match="test fraction"):
        two.training_problem(fraction)


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.7, 0.9])
def test_test_mask_is_stable_under_appends_and_holds_out_the_fraction(fraction, seed):
    full = test_mask(3000, fraction, seed)
    assert full.dtype == bool and full.shape == (3000,)
    for n in (0, 1, 2, 9, 10, 57, 1000, 2999):
        np.testing.assert_array_equal(test_mask(n, fraction, seed), full[:n])
    # every prefix holds out within one sample of the fraction
    counts = np.cumsum(full)
    assert np.abs(counts - fraction * np.arange(1, 3001)).max() < 1.0


def test_test_mask_depends_on_the_seed_and_is_empty_at_fraction_zero():
    assert not test_mask(500, 0.0, 3).any() and test_mask(500, 0.0).shape == (500,)
    masks = [test_mask(200, 0.3, seed) for seed in range(5)]
    for a, b in itertools.combinations(masks, 2):
        assert not np.array_equal(a, b)
    # deterministic, and not a fixed period: at 0.5 every pair gives one, but not always the same one
    np.testing.assert_array_equal(test_mask(200, 0.3, 2), masks[2])
    pairs = test_mask(200, 0.5).reshape(100, 2)
    assert np.all(pairs.sum(axis=1) == 1) and 20 < pairs[:, 0].sum() < 80
    with pytest.raises(ValueError):
        test_mask(200, 0.5).__setitem__(0, True)  # read-only: it is shared through a cache


def test_split_partitions_the_samples_by_the_mask():
    samples = make_preset("moons").with_sample(0.0, 0.0, RED)
    train, test = samples.split(0.25, seed=3)
    held_out = test_mask(samples.n, 0.25, 3)
    assert train.n + test.n == samples.n and abs(test.n - 0.25 * samples.n) < 1
    np.testing.assert_array_equal(test.points, samples.points[held_out])
    np.testing.assert_array_equal(train.labels, samples.labels[~held_out])
    assert train.version == test.version == samples.version
    whole, nothing = samples.split()
    np.testing.assert_array_equal(whole.points, samples.points)
    assert nothing.n == 0 and nothing.points.shape == (0, 2)


def test_preset_names_and_labels():
    assert list(PRESETS) == ["clusters", "xor", "circles", "moons", "spirals", "blobs"]
    assert set(PRESET_LABELS) == set(PRESETS) | set(MULTICLASS_PRESETS)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_trainable_bounded_and_deterministic(name):
    samples = make_preset(name, seed=3)
    assert 100 <= samples.n <= 250
    assert min(samples.class_counts) > 0 and samples.training_problem() is None
    assert np.abs(samples.points).max() <= 4.0
    again = make_preset(name, seed=3)
    assert np.array_equal(samples.points, again.points) and np.array_equal(samples.labels, again.labels)
    assert not np.array_equal(samples.points, make_preset(name, seed=4).points)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_need_more_than_a_line_but_a_small_network_will_do(seed):
    samples = make_preset("clusters", seed)
    linear = LogisticRegression(C=1e6, max_iter=10000).fit(samples.points, samples.labels)
    assert linear.score(samples.points, samples.labels) < 1.0
    best = max(
        MLPClassifier((4, 4), activation="tanh", solver="lbfgs", max_iter=2000, random_state=r)
        .fit(samples.points, samples.labels)
        .score(samples.points, samples.labels)
        for r in range(5)
    )
    assert best == 1.0


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="unknown preset 'nope'; choose from clusters, xor, circles"):
        make_preset("nope")


@pytest.mark.parametrize("name", list(PRESETS))
def test_csv_round_trip_is_exact(tmp_path, name):
    samples = make_preset(name).with_sample(1 / 3, -1e-17, BLUE)
    path = tmp_path / "samples.csv"
    write_csv(samples, path)
    assert path.read_text().splitlines()[0] == "x,y,label"
    back = read_csv(path)
    assert np.array_equal(back.points, samples.points) and np.array_equal(back.labels, samples.labels)


def test_header_is_optional(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0.5,1.5,1\n-2,3,0\n\n")
    samples = read_csv(path)
    assert samples.points.tolist() == [[0.5, 1.5], [-2.0, 3.0]] and samples.labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("blue", "red"), [BLUE, RED]),
        (("Red", "BLUE"), [RED, BLUE]),
        (("dog", "cat"), [1, 0]),
        (("1", "1"), [1, 1]),
        # issue 19: {red, 1} made red blue (the names were sorted); names of a class keep their meaning
        (("red", "1"), [RED, BLUE]),
        (("1", "red"), [BLUE, RED]),
        (("0", "Blue"), [RED, BLUE]),
        (("1.0", "0.0"), [BLUE, RED]),
        (("red", "dog"), [RED, BLUE]),  # beside a class name, another name is the other class
        (("cat", "BLUE"), [RED, BLUE]),
        (("2", "1"), [RED, BLUE]),
        (("-1", "1"), [RED, BLUE]),
        (("10", "2"), [BLUE, RED]),  # two other numbers: sorted by value, not as text
        (("b", "a"), [BLUE, RED]),
    ],
)
def test_string_labels(tmp_path, names, expected):
    path = tmp_path / "named.csv"
    path.write_text(f"x,y,class\n0,0,{names[0]}\n1,1,{names[1]}\n")
    assert read_csv(path).labels.tolist() == expected


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("x,y,label\n0,0,0\n1,1\n", 3, "columns"),
        ("0,0,0\n1,1,1,1\n", 2, "columns"),
        ("x,y,label\n0,0,0\n1,abc,1\n", 3, "numbers"),
        ("0,0,0\nx,y,label\n", 2, "numbers"),
        ("x,y,label\n0,0,0\nnan,1,1\n", 3, "finite"),
        ("x,y,label\n0,inf,0\n", 2, "finite"),
        ("".join(f"{k},{k},{name}\n" for k, name in enumerate("abcdefghi")), 9, "'i' would be a 9th class"),
        ("".join(f"{k},{k},{k}\n" for k in (0, 1, 2, 3, 4, 5, 6, 1.0, 7, 8)), 10, "at most 8 classes"),
        ("0,0,red\n1,1, \n", 2, "the label is empty"),
    ],
)
def test_malformed_rows_name_their_line(tmp_path, text, line, reason):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CsvError, match=f"line {line}: .*{reason}"):
        read_csv(path)


@pytest.mark.parametrize("text", ["", "\n\n", "x,y,label\n"])
def test_files_without_samples_are_rejected(tmp_path, text):
    path = tmp_path / "empty.csv"
    path.write_text(text)
    with pytest.raises(CsvError, match="no samples"):
        read_csv(path)


def test_binary_garbage_is_rejected(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CsvError, match="line 1: not .*text"):
        read_csv(path)


def test_spellings_of_the_two_classes_are_two_classes(tmp_path):
    path = tmp_path / "spellings.csv"
    path.write_text("0,0,red\n1,1,0\n2,2,RED\n3,3,blue\n4,4,1\n5,5,1.0\n")
    assert read_csv(path).labels.tolist() == [RED, RED, RED, BLUE, BLUE, BLUE]


def test_csv_error_is_a_value_error():
    assert issubclass(CsvError, ValueError)
