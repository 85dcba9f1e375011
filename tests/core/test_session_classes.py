"""The number of classes in session files: the network's (k > 2 round-trips, two classes are written as before
the field existed, no "classes", and a file without it opens with two classes) and the samples' class names
(format 2); a format 1 file (red and blue) opens as it did; samples and network must agree."""

import json
import zipfile

import numpy as np
import pytest
from session_bytes import with_manifest

from app.core.dataset import CLASS_NAMES, SampleSet, make_preset
from app.core.history import ARRAY_NAMES, TrainingHistory
from app.core.network import NetworkSpec, loss_and_accuracy
from app.core.session import (
    FORMAT_VERSION,
    MANIFEST,
    SUFFIX,
    Session,
    SessionError,
    load_session,
    save_session,
)
from app.core.training import TrainConfig, Trainer, train

CONFIG = TrainConfig(batch_size=10, seed=2)


def trained_session(spec: NetworkSpec, epochs: int = 60) -> Session:
    """Samples of spec.classes classes (moons, or 3 Gaussian blobs) trained on a network of as many."""
    samples = make_preset("moons" if spec.classes == 2 else "blobs3", seed=1)
    trainer = Trainer(spec, CONFIG)
    initial = loss_and_accuracy(spec, trainer.params, samples.points, samples.labels)
    history = TrainingHistory(spec, trainer.params, *initial)
    for chunk in train(trainer, lambda: samples, lambda: False, max_epochs=epochs):
        history.append(chunk)
    return Session(samples, spec, CONFIG, history, trainer.state(), {})


def saved(tmp_path, session: Session) -> bytes:
    path = tmp_path / f"run{SUFFIX}"
    save_session(path, session)
    return path.read_bytes()


def manifest_of(data: bytes, tmp_path) -> dict:
    path = tmp_path / "peek.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(MANIFEST))


def open_bytes(tmp_path, data: bytes) -> Session:
    path = tmp_path / f"edited{SUFFIX}"
    path.write_bytes(data)
    return load_session(path)


@pytest.fixture(scope="module")
def three_classes() -> Session:
    return trained_session(NetworkSpec((5, 4), "relu", 3))


def test_a_three_class_session_round_trips(tmp_path, three_classes):
    data = saved(tmp_path, three_classes)
    manifest = manifest_of(data, tmp_path)
    assert manifest["spec"] == {"widths": [5, 4], "activation": "relu", "classes": 3}
    assert manifest["format"] == FORMAT_VERSION == 2
    assert manifest["samples"] == {"version": 0, "class_names": ["red", "blue", "class 3"]}
    loaded = open_bytes(tmp_path, data)
    assert loaded.samples.class_names == ("red", "blue", "class 3") and loaded.samples.classes == 3
    np.testing.assert_array_equal(loaded.samples.labels, three_classes.samples.labels)
    assert loaded.spec == three_classes.spec and loaded.spec.classes == 3
    assert loaded.history.spec.n_params == 15 + 24 + 15
    arrays, expected = loaded.history.to_arrays(), three_classes.history.to_arrays()
    for name in ARRAY_NAMES:
        assert arrays[name].tobytes() == expected[name].tobytes(), name
    for name in ("params", "adam_m", "adam_v"):
        assert getattr(loaded.trainer, name).tobytes() == getattr(three_classes.trainer, name).tobytes()
    # training resumes from the file exactly as it would have gone on
    go_on = [
        Trainer.from_state(s.spec, s.config, s.trainer).run(s.samples, 5)[0] for s in (three_classes, loaded)
    ]
    np.testing.assert_array_equal(*go_on)


def test_two_classes_are_written_as_before_and_a_file_without_classes_has_two(tmp_path):
    session = trained_session(NetworkSpec((3,)), epochs=5)
    data = saved(tmp_path, session)
    assert manifest_of(data, tmp_path)["spec"] == {"widths": [3], "activation": "tanh"}  # as older files
    assert open_bytes(tmp_path, data).spec == NetworkSpec((3,), "tanh", 2)

    def say_two(manifest):
        manifest["spec"]["classes"] = 2

    assert open_bytes(tmp_path, with_manifest(data, say_two)).spec.classes == 2


def set_classes(value):
    def edit(manifest):
        manifest["spec"]["classes"] = value

    return edit


def drop_classes(manifest):
    del manifest["spec"]["classes"]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (set_classes(9), "network is invalid: the number of classes must be 2 to 8, not 9"),
        (set_classes(1), "number of classes must be 2 to 8, not 1"),
        (set_classes(True), "classes must be a whole number"),
        (set_classes("3"), "classes must be a whole number"),
        (set_classes(4), "do not match its network"),  # a three-class history under a four-class network
        (drop_classes, "do not match its network"),  # read as two classes: one output, not three
    ],
)
def test_wrong_numbers_of_classes_are_refused(tmp_path, three_classes, edit, words):
    with pytest.raises(SessionError, match=words):
        open_bytes(tmp_path, with_manifest(saved(tmp_path, three_classes), edit))


def as_format_1(manifest):
    """The manifest as Unboxed wrote it before class names (format 1): samples {"version"} only."""
    manifest["format"] = 1
    del manifest["samples"]["class_names"]


def test_a_format_1_session_opens_as_before_with_red_and_blue(tmp_path):
    session = trained_session(NetworkSpec((3,)), epochs=5)
    data = saved(tmp_path, session)
    assert manifest_of(data, tmp_path)["samples"] == {"version": 0, "class_names": ["red", "blue"]}
    old = with_manifest(data, as_format_1)
    assert manifest_of(old, tmp_path)["samples"] == {"version": 0}
    opened = open_bytes(tmp_path, old)
    assert opened.samples.class_names == CLASS_NAMES and opened.spec == session.spec
    np.testing.assert_array_equal(opened.samples.points, session.samples.points)
    np.testing.assert_array_equal(opened.samples.labels, session.samples.labels)
    for name in ARRAY_NAMES:
        assert opened.history.to_arrays()[name].tobytes() == session.history.to_arrays()[name].tobytes()
    # saved again, it is a format 2 file with the same content
    again = manifest_of(saved(tmp_path, opened), tmp_path)
    assert again["format"] == 2 and again["samples"]["class_names"] == ["red", "blue"]


def test_named_two_class_samples_keep_their_names(tmp_path):
    session = trained_session(NetworkSpec((3,)), epochs=5)
    named = SampleSet(session.samples.points, session.samples.labels, 4, ("cat", "dog"))
    session = Session(named, session.spec, session.config, session.history, session.trainer, {})
    opened = open_bytes(tmp_path, saved(tmp_path, session))
    assert opened.samples.class_names == ("cat", "dog") and opened.samples.version == 4


def test_samples_and_network_of_different_classes_make_no_session(three_classes):
    two = make_preset("moons")
    with pytest.raises(ValueError, match=r"its samples have 2 classes \(red, blue\), its network 3"):
        Session(two, three_classes.spec, CONFIG, three_classes.history)


def rename(names):
    def edit(manifest):
        manifest["samples"]["class_names"] = names

    return edit


def without_names(manifest):
    del manifest["samples"]["class_names"]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (rename(["a", "b", "c", "d"]), r"inconsistent: its samples have 4 classes \(a, b, c, d\), its"),
        (rename(["a", "b", "a"]), "samples are invalid: class names must differ"),
        (rename(["a", "b", 3]), "a class name must be text"),
        (rename("abc"), "class_names must be a list"),
        (rename(["a", "b", "2"]), "must not be a number"),
        (without_names, "the samples section lacks \\['class_names'\\]"),  # format 2 must name them
        (as_format_1, "samples are invalid: a label must be 0 \\(red\\) or 1 \\(blue\\)"),  # labels 0-2
    ],
)
def test_class_names_that_do_not_fit_are_refused(tmp_path, three_classes, edit, words):
    with pytest.raises(SessionError, match=words):
        open_bytes(tmp_path, with_manifest(saved(tmp_path, three_classes), edit))


def test_a_two_class_network_with_three_class_samples_is_refused(tmp_path):
    data = saved(tmp_path, trained_session(NetworkSpec((3,)), epochs=5))
    with pytest.raises(SessionError, match=r"samples have 3 classes \(red, blue, class 3\), its network 2"):
        open_bytes(tmp_path, with_manifest(data, rename(["red", "blue", "class 3"])))
