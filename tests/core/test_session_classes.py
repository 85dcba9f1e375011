"""The network's number of classes in session files: k > 2 round-trips, two classes are written as before the
field existed (no "classes"), and a file without it opens with two classes."""

import json
import zipfile

import numpy as np
import pytest
from session_bytes import with_manifest

from app.core.dataset import make_preset
from app.core.history import ARRAY_NAMES, TrainingHistory
from app.core.network import NetworkSpec, loss_and_accuracy
from app.core.session import MANIFEST, SUFFIX, Session, SessionError, load_session, save_session
from app.core.training import TrainConfig, Trainer, train

CONFIG = TrainConfig(batch_size=10, seed=2)


def trained_session(spec: NetworkSpec, epochs: int = 60) -> Session:
    """Red and blue samples (what SampleSet holds so far) trained on a network of spec.classes outputs."""
    samples = make_preset("moons", seed=1)
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
    assert manifest_of(data, tmp_path)["spec"] == {"widths": [5, 4], "activation": "relu", "classes": 3}
    loaded = open_bytes(tmp_path, data)
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
