"""Session files: an exact round trip (history bit for bit, resumable training), atomic saving, and opening
that never fails with anything but SessionError (hand-edited, truncated, fuzzed files); CSV reading fuzzed
the same way. UNBOXED_FUZZ_EXAMPLES raises the number of examples per property (default 200)."""

import json
import os
import stat
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_bytes import read_entries, with_array, with_manifest, zip_bytes

from app.core.dataset import CsvError, SampleSet, make_preset, read_csv, write_csv
from app.core.history import ARRAY_NAMES, TrainingHistory
from app.core.network import NetworkSpec, bce_loss_and_accuracy
from app.core.session import (
    FORMAT_VERSION,
    MANIFEST,
    SUFFIX,
    Session,
    SessionError,
    load_session,
    save_session,
)
from app.core.training import EpochChunk, TrainConfig, Trainer, TrainerState, train

SPEC = NetworkSpec((5, 4), "tanh")
CONFIG = TrainConfig(batch_size=10, test_fraction=0.25, seed=3)
VIEW = {
    "epoch": 700,
    "live": False,
    "view_rect": [-3.0, 3.0, -2.5, 2.5],
    "selected": [1, 2],
    "panels": {"influence": True, "mode": "accumulated"},
    "note": "ünïcödé",
}
FUZZ = settings(
    max_examples=int(os.environ.get("UNBOXED_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=True,  # the same examples every run; raise UNBOXED_FUZZ_EXAMPLES to search further
    suppress_health_check=[HealthCheck.too_slow],
)


def never() -> bool:
    return False


def new_history(spec: NetworkSpec, samples: SampleSet, config: TrainConfig, params, budget: int):
    train_part, test_part = samples.split(config.test_fraction, config.seed)
    (loss, acc), (test_loss, test_acc) = (
        bce_loss_and_accuracy(spec, params, p.points, p.labels) for p in (train_part, test_part)
    )
    return TrainingHistory(
        spec, params, loss, acc, budget, initial_test_loss=test_loss, initial_test_acc=test_acc
    )


def trained_session(spec=SPEC, config=CONFIG, phases=(400, 400, 400), budget=0, view=VIEW) -> Session:
    """Trains in phases with a sample edit between them, recording as the main window does (a data change
    at the first epoch of a chunk on new data); budget 0 is the smallest history (512 rows), so 1200 epochs
    get thinned."""
    samples = make_preset("moons", seed=1)
    trainer = Trainer(spec, config)
    history = new_history(spec, samples, config, trainer.params, budget)
    last_version = samples.version
    for phase, n_epochs in enumerate(phases):
        if phase:
            samples = samples.with_sample(0.1 * phase, -0.2, phase % 2)
        for chunk in train(trainer, lambda s=samples: s, never, max_epochs=n_epochs):
            if chunk.data_version != last_version:
                history.mark_data_change(chunk.first_epoch)
                last_version = chunk.data_version
            history.append(chunk)
    return Session(samples, spec, config, history, trainer.state(), view)


@pytest.fixture(scope="module")
def session() -> Session:
    return trained_session()


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> bytes:
    """A small valid session file (a few kB), so that mutations often hit its headers and manifest."""
    path = tmp_path_factory.mktemp("small") / f"small{SUFFIX}"
    save_session(path, trained_session(NetworkSpec((2,)), TrainConfig(batch_size=5), phases=(3, 2), view={}))
    return path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A file path the property tests overwrite on every example."""
    return tmp_path_factory.mktemp("fuzz") / f"fuzz{SUFFIX}"


def assert_histories_identical(a: TrainingHistory, b: TrainingHistory) -> None:
    arrays_a, arrays_b = a.to_arrays(), b.to_arrays()
    for name in ARRAY_NAMES:
        assert arrays_a[name].dtype == arrays_b[name].dtype, name
        assert arrays_a[name].shape == arrays_b[name].shape, name
        assert arrays_a[name].tobytes() == arrays_b[name].tobytes(), name  # bit for bit, NaN included
    assert a.scalars() == b.scalars()
    assert a.spec == b.spec and len(a) == len(b) and a.latest_epoch == b.latest_epoch


def assert_states_identical(a: TrainerState, b: TrainerState) -> None:
    for name in ("params", "adam_m", "adam_v"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert (a.step, a.epoch, a.rng_state) == (b.step, b.epoch, b.rng_state)


def chunk_after(history: TrainingHistory, n_epochs: int, offset: float) -> EpochChunk:
    first = history.latest_epoch + 1
    epochs = np.arange(first, first + n_epochs, dtype=np.float64)
    params = epochs[:, None] * 1e-3 + offset + np.arange(history.spec.n_params)
    return EpochChunk(first, params, 1 / (1 + epochs), epochs / (epochs + 1), 0)


# --- round trip --------------------------------------------------------------------------------------------


def test_the_fixture_covers_thinning_data_changes_and_a_test_split(session):
    history = session.history
    assert history.thinnings > 0 and history.stride > 1 and len(history) < history.latest_epoch + 1
    assert len(history.data_changes) == 2
    assert np.isfinite(history.test_loss).all()
    assert session.trainer.epoch == 1200 and session.trainer.step > 0


def test_round_trip_restores_everything(tmp_path, session):
    path = tmp_path / f"run{SUFFIX}"
    save_session(path, session)
    opened = load_session(path)
    assert isinstance(opened, Session)
    assert_histories_identical(opened.history, session.history)
    for epoch in (0, 1, 17, 512, 700, 1199, 1200):
        assert opened.history.params_at(epoch).tobytes() == session.history.params_at(epoch).tobytes()
        assert opened.history.recorded_epoch(epoch) == session.history.recorded_epoch(epoch)
    np.testing.assert_array_equal(opened.samples.points, session.samples.points)
    np.testing.assert_array_equal(opened.samples.labels, session.samples.labels)
    assert opened.samples.labels.dtype == np.int64 and opened.samples.version == session.samples.version
    assert opened.spec == session.spec and opened.config == session.config
    assert opened.view == VIEW
    assert_states_identical(opened.trainer, session.trainer)


def test_training_resumed_from_an_opened_session_is_identical(tmp_path, session):
    samples = session.samples
    path = tmp_path / f"run{SUFFIX}"
    save_session(path, session)
    opened = load_session(path)
    original = Trainer.from_state(session.spec, session.config, session.trainer)
    resumed = Trainer.from_state(opened.spec, opened.config, opened.trainer)
    a, b = original.run(samples, 25), resumed.run(samples, 25)
    for x, y in zip(a[:3], b[:3], strict=True):
        assert x.tobytes() == y.tobytes()
    assert_states_identical(original.state(), resumed.state())


def test_a_session_without_a_trainer_round_trips(tmp_path):
    plain = trained_session(phases=(5,), view={})
    plain = Session(plain.samples, plain.spec, plain.config, plain.history, None, {})
    save_session(tmp_path / "a.unboxed", plain)
    opened = load_session(tmp_path / "a.unboxed")
    assert opened.trainer is None and opened.view == {}
    assert_histories_identical(opened.history, plain.history)


def test_an_empty_sample_set_round_trips(tmp_path):
    history = TrainingHistory(SPEC, np.zeros(SPEC.n_params), float("nan"), float("nan"))
    save_session(tmp_path / "e.unboxed", Session(SampleSet.empty(), SPEC, CONFIG, history, None, {}))
    opened = load_session(tmp_path / "e.unboxed")
    assert opened.samples.n == 0 and opened.samples.points.shape == (0, 2)
    assert_histories_identical(opened.history, history)


@pytest.mark.parametrize("backend", ["engine", "torch"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_trainer_state_resumes_exactly(backend, optimizer):
    """Train A, take its state, train A on; B from the state trains the same epochs bit for bit (torch,
    the slow reference, for fewer epochs)."""
    before, after = (30, 20) if backend == "engine" else (5, 4)
    samples = make_preset("xor")
    config = TrainConfig(optimizer=optimizer, batch_size=10, learning_rate=0.01)
    a = Trainer(NetworkSpec((4, 4)), config, backend=backend)
    a.run(samples, before)
    state = a.state()
    after_a = a.run(samples, after)
    b = Trainer.from_state(NetworkSpec((4, 4)), config, state, backend=backend)
    after_b = b.run(samples, after)
    assert b.epoch == a.epoch == before + after
    for x, y in zip(after_a[:3], after_b[:3], strict=True):
        assert x.tobytes() == y.tobytes()
    assert_states_identical(a.state(), b.state())


def test_trainer_state_is_a_copy_and_checks_itself():
    trainer = Trainer(SPEC, CONFIG)
    trainer.run(make_preset("xor"), 3)
    state = trainer.state()
    assert not state.params.flags.writeable and state.params is not trainer.params
    trainer.run(make_preset("xor"), 1)
    assert state.epoch == 3 and not np.array_equal(state.params, trainer.params)
    json.dumps(state.rng_state)  # JSON-able
    with pytest.raises(ValueError, match="parameters"):
        Trainer.from_state(NetworkSpec((3,)), CONFIG, state)
    bad = {
        "params": np.full(3, np.nan),
        "adam_v": -np.ones(3),
        "step": -1,
        "epoch": 1.5,
        "rng_state": {"bit_generator": "MT19937"},
    }
    good = {"params": np.zeros(3), "adam_m": np.zeros(3), "adam_v": np.zeros(3), "step": 0, "epoch": 0}
    for key, value in bad.items():
        fields = {**good, "rng_state": state.rng_state, key: value}
        with pytest.raises(ValueError):
            TrainerState(**fields)
    with pytest.raises(ValueError):
        TrainerState(np.zeros(3), np.zeros(2), np.zeros(3), 0, 0, state.rng_state)


def test_restored_history_appends_and_thins_like_the_original(session):
    original = session.history
    copy = TrainingHistory.from_arrays(original.spec, original.to_arrays(), **original.scalars())
    assert_histories_identical(copy, original)
    twin = TrainingHistory.from_arrays(original.spec, original.to_arrays(), **original.scalars())
    for i, n_epochs in enumerate([1, 200, 600, 3, 900]):  # enough to thin again
        if i == 3:
            copy.mark_data_change(copy.latest_epoch + 1)
            twin.mark_data_change(twin.latest_epoch + 1)
        copy.append(chunk_after(copy, n_epochs, i))
        twin.append(chunk_after(twin, n_epochs, i))
    assert twin.thinnings > original.thinnings
    assert_histories_identical(copy, twin)
    assert len(original) == len(session.history)  # the original is untouched: from_arrays copies


def test_history_from_arrays_rejects_inconsistent_arrays(session):
    arrays, scalars = session.history.to_arrays(), session.history.scalars()
    spec = session.history.spec
    cases = [
        ({"epochs": arrays["epochs"][::-1].copy()}, {}),
        ({"params": arrays["params"][:, :-1].copy()}, {}),
        ({"loss": arrays["loss"][:-1].copy()}, {}),
        ({"epochs": arrays["epochs"].astype(np.float64)}, {}),
        ({"accuracy": arrays["accuracy"] + 2}, {}),
        ({}, {"stride": 3}),
        ({}, {"max_rows": 10}),
        ({}, {"data_changes": [-1]}),
        ({}, {"thinnings": True}),
    ]
    for array_edits, scalar_edits in cases:
        with pytest.raises(ValueError):
            TrainingHistory.from_arrays(spec, arrays | array_edits, **(scalars | scalar_edits))
    with pytest.raises(ValueError, match="missing"):
        TrainingHistory.from_arrays(spec, {k: v for k, v in arrays.items() if k != "loss"}, **scalars)


# --- atomic saving -----------------------------------------------------------------------------------------


def fail_after_first(original):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)

    return failing


@pytest.mark.parametrize("target", ["np.save", "writestr"])
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, session, target):
    path = tmp_path / f"run{SUFFIX}"
    save_session(path, trained_session(phases=(3,)))
    before = path.read_bytes()
    if target == "np.save":
        monkeypatch.setattr(np, "save", fail_after_first(np.save))
    else:
        monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_after_first(zipfile.ZipFile.writestr))
    with pytest.raises(OSError) as caught:
        save_session(path, session)
    assert caught.value.errno == 28
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]
    monkeypatch.undo()
    load_session(path)  # still a valid session


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch, session):
    monkeypatch.setattr(np, "save", fail_after_first(np.save))
    with pytest.raises(OSError):
        save_session(tmp_path / "new.unboxed", session)
    assert os.listdir(tmp_path) == []


def test_a_view_that_is_not_json_fails_before_touching_the_disk(tmp_path, session):
    path = tmp_path / "run.unboxed"
    bad = Session(session.samples, session.spec, session.config, session.history, None, {"x": object()})
    with pytest.raises(TypeError):
        save_session(path, bad)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saving_gives_new_files_the_usual_permissions_and_keeps_old_ones(tmp_path, session):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "run.unboxed"
    save_session(path, session)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # as open() gives, not tempfile's 0o600
    path.chmod(0o640)
    save_session(path, session)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_session_checks_its_parts(session):
    with pytest.raises(ValueError):
        Session(session.samples, NetworkSpec((3,)), CONFIG, session.history, None, {})
    with pytest.raises(ValueError):
        Session(session.samples, SPEC, CONFIG, session.history, None, [1, 2])


# --- opening damaged and hand-edited files -----------------------------------------------------------------


def open_bytes(path, data: bytes):
    path.write_bytes(data)
    return load_session(path)


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory, session) -> bytes:
    path = tmp_path_factory.mktemp("valid") / f"run{SUFFIX}"
    save_session(path, session)
    return path.read_bytes()


def test_a_newer_format_is_named(tmp_path, valid_file):
    def newer(m):
        m["format"] = FORMAT_VERSION + 2
        m["something_new"] = {"a": 1}
        del m["spec"]

    with pytest.raises(SessionError, match="newer") as caught:
        open_bytes(tmp_path / "new.unboxed", with_manifest(valid_file, newer))
    assert f"format {FORMAT_VERSION + 2}" in str(caught.value)


def test_every_truncation_is_a_session_error(tmp_path, valid_file):
    for cut in np.linspace(0, len(valid_file) - 1, 30).astype(int):
        with pytest.raises(SessionError, match="damaged"):
            open_bytes(tmp_path / "cut.unboxed", valid_file[:cut])


@pytest.mark.parametrize(
    "data", [b"", b"x,y,label\n0,0,red\n", b"PK\x03\x04" + b"\0" * 100, "ünï".encode("utf-16")]
)
def test_files_that_are_not_sessions(tmp_path, data):
    with pytest.raises(SessionError, match="damaged"):
        open_bytes(tmp_path / "not.unboxed", data)


def test_a_zip_of_something_else_is_not_a_session(tmp_path):
    with pytest.raises(SessionError):
        open_bytes(tmp_path / "other.unboxed", zip_bytes({"readme.txt": b"hello"}))


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_session(tmp_path / "absent.unboxed")


def set_path(keys, value):
    def edit(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def delete_key(*keys):
    def edit(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return edit


MANIFEST_EDITS = {
    "format as text": (set_path(["format"], "1"), "damaged"),
    "format 0": (set_path(["format"], 0), "damaged"),
    "another app": (set_path(["app"], "Boxed"), "damaged"),
    "manifest not an object": (lambda m: m.clear(), "damaged"),
    "learning rate as text": (set_path(["config", "learning_rate"], "fast"), "learning_rate"),
    "learning rate negative": (set_path(["config", "learning_rate"], -1.0), "learning rate"),
    "batch size fraction": (set_path(["config", "batch_size"], 2.5), "batch_size"),
    "unknown optimizer": (set_path(["config", "optimizer"], "rmsprop"), "optimizer"),
    "seed negative": (set_path(["config", "seed"], -4), "seed"),
    "test fraction 1": (set_path(["config", "test_fraction"], 1.0), "test fraction"),
    "missing seed": (delete_key("config", "seed"), "seed"),
    "extra config key": (set_path(["config", "momentum"], 0.9), "momentum"),
    "negative width": (set_path(["spec", "widths"], [-1, 4]), "neurons"),
    "width true": (set_path(["spec", "widths"], [True, 4]), "width"),
    "widths not a list": (set_path(["spec", "widths"], "4,4"), "widths"),
    "unknown activation": (set_path(["spec", "activation"], "swish"), "activation"),
    "stride 3": (set_path(["history", "stride"], 3), "stride"),
    "max rows 1": (set_path(["history", "max_rows"], 1), "max_rows"),
    "data change text": (set_path(["history", "data_changes"], ["x"]), "data change"),
    "huge thinnings": (set_path(["history", "thinnings"], 10**40), "thinnings"),
    "negative step": (set_path(["trainer", "step"], -1), "step"),
    "bad rng state": (set_path(["trainer", "rng_state"], {"bit_generator": "MT19937"}), "shuffler"),
    "rng state float": (set_path(["trainer", "rng_state", "state", "state"], 1.5), "shuffler"),
    "trainer as list": (set_path(["trainer"], [1, 2]), "trainer"),
    "view as list": (set_path(["view"], [1, 2]), "view"),
    "samples version negative": (set_path(["samples", "version"], -1), "version"),
    "no trainer but its arrays": (set_path(["trainer"], None), "unexpected entries"),
}


@pytest.mark.parametrize("name", MANIFEST_EDITS)
def test_hand_edited_manifests_are_session_errors(tmp_path, valid_file, name):
    edit, words = MANIFEST_EDITS[name]
    with pytest.raises(SessionError, match=words):
        open_bytes(tmp_path / "edited.unboxed", with_manifest(valid_file, edit))


def test_non_finite_numbers_in_the_manifest_are_rejected(tmp_path, valid_file):
    for text in ("NaN", "Infinity", "1e999"):
        entries = read_entries(valid_file)
        manifest = entries[MANIFEST].decode().replace('"learning_rate": 0.03', f'"learning_rate": {text}')
        assert text in manifest
        entries[MANIFEST] = manifest.encode()
        with pytest.raises(SessionError):
            open_bytes(tmp_path / "nan.unboxed", zip_bytes(entries))


def test_a_number_too_large_for_a_float_is_rejected_in_the_view_too(tmp_path, valid_file):
    """1e999 reads as infinity: the window cannot show such a view rectangle, nor save the view again."""
    entries = read_entries(valid_file)
    manifest = entries[MANIFEST].decode()
    entries[MANIFEST] = manifest.replace(
        '"view_rect": [-3.0, 3.0, -2.5', '"view_rect": [-3.0, 3.0, -1e999'
    ).encode()
    assert b"-1e999" in entries[MANIFEST]
    with pytest.raises(SessionError, match="damaged"):
        open_bytes(tmp_path / "inf.unboxed", zip_bytes(entries))


@pytest.mark.parametrize("epoch", [3, 1201])
def test_a_trainer_state_off_the_last_epoch_still_loads(tmp_path, valid_file, epoch):
    """Files saved while training by an earlier version could hold a trainer a few epochs ahead of the history
    (or behind it, hand-edited): nothing in them is lost by refusing less; the window then goes on from the
    history's last epoch (tests/ui/test_sessions.py)."""
    entries = read_entries(valid_file)
    manifest = json.loads(entries[MANIFEST])
    manifest["trainer"]["epoch"] = epoch
    entries[MANIFEST] = json.dumps(manifest).encode()
    session = open_bytes(tmp_path / "off.unboxed", zip_bytes(entries))
    assert session.trainer.epoch == epoch and session.history.latest_epoch == 1200


def swap_epochs(epochs):
    epochs = epochs.copy()
    epochs[[3, 4]] = epochs[[4, 3]]
    return epochs


def with_nan(a):
    a = a.copy()
    a[len(a) // 2, 0] = np.nan
    return a


ARRAY_EDITS = {
    "params shape": ("history/params.npy", lambda a: a[:, :-1].copy(), "inconsistent"),
    "params 1-D": ("history/params.npy", lambda a: a[:, 0].copy(), "dimension"),
    "params as float32": ("history/params.npy", lambda a: a.astype(np.float32), "float32"),
    "NaN in params": ("history/params.npy", with_nan, "finite"),
    "epochs not increasing": ("history/epochs.npy", swap_epochs, "increasing"),
    "epochs not from 0": ("history/epochs.npy", lambda a: a + 1, "epoch 0"),
    "epochs as float": ("history/epochs.npy", lambda a: a.astype(np.float64), "float64"),
    "loss too short": ("history/loss.npy", lambda a: a[:-1].copy(), "inconsistent"),
    "accuracy above 1": ("history/accuracy.npy", lambda a: a + 1.5, "accuracy"),
    "label 2": ("samples/labels.npy", lambda a: a + 2, "label"),
    "labels too short": ("samples/labels.npy", lambda a: a[:-1].copy(), "labels"),
    "infinite point": ("samples/points.npy", lambda a: np.vstack([a, [[np.inf, 0.0]]]), "samples"),
    "trainer params short": ("trainer/params.npy", lambda a: a[:-1].copy(), "trainer"),
    "negative second moment": ("trainer/adam_v.npy", lambda a: -a - 1, "second moment"),
    "a pickled object array": ("history/loss.npy", lambda a: np.array([object()] * len(a)), "object"),
    "a structured array": ("history/loss.npy", lambda a: np.zeros(len(a), dtype="f8,f8"), "session"),
}


@pytest.mark.parametrize("name", ARRAY_EDITS)
def test_hand_edited_arrays_are_session_errors(tmp_path, valid_file, name):
    entry, edit, words = ARRAY_EDITS[name]
    with pytest.raises(SessionError, match=words):
        open_bytes(tmp_path / "edited.unboxed", with_array(valid_file, entry, edit))


def test_a_header_that_lies_about_the_array_size_is_damaged(tmp_path, valid_file):
    entries = read_entries(valid_file)
    entries["history/loss.npy"] = entries["history/loss.npy"][:-8]
    with pytest.raises(SessionError, match="damaged"):
        open_bytes(tmp_path / "short.unboxed", zip_bytes(entries))


def test_missing_and_extra_entries_are_named(tmp_path, valid_file):
    entries = read_entries(valid_file)
    del entries["history/test_loss.npy"]
    entries["notes.txt"] = b"hi"
    with pytest.raises(SessionError, match=r"missing entries \['history/test_loss.npy'\].*notes.txt"):
        open_bytes(tmp_path / "entries.unboxed", zip_bytes(entries))


# --- properties: opening never raises anything but SessionError -------------------------------------------


def opens_or_session_error(path, data: bytes) -> None:
    try:
        assert isinstance(open_bytes(path, data), Session)
    except SessionError:
        pass


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_but_session_error(scratch, data):
    opens_or_session_error(scratch, data)


@FUZZ
@given(
    cut=st.integers(min_value=0, max_value=10**6),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 7)), max_size=4),
    writes=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
)
def test_mutated_files_never_raise_anything_but_session_error(scratch, small_file, cut, flips, writes):
    data = bytearray(small_file)
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    for position, value in writes:
        data[position % len(data)] = value
    opens_or_session_error(scratch, bytes(data[: max(cut, len(data) // 2)] if cut < len(data) else data))


@FUZZ
@given(choice=st.data())
def test_mutated_entries_in_a_well_formed_zip_never_raise_anything_but_session_error(
    scratch, small_file, choice
):
    """The zip layer checks CRCs, so most byte mutations stop there; here the entries themselves are mutated
    and re-zipped, reaching the manifest parser, the .npy headers and the validation behind them."""
    entries = read_entries(small_file)
    name = choice.draw(st.sampled_from(sorted(entries)))
    data = bytearray(entries[name])
    for _ in range(choice.draw(st.integers(1, 4))):
        position = choice.draw(st.integers(0, len(data) - 1))
        data[position] = choice.draw(st.integers(0, 255))
    entries[name] = bytes(data[: choice.draw(st.integers(0, len(data)))])
    opens_or_session_error(scratch, zip_bytes(entries))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


@FUZZ
@given(choice=st.data())
def test_hand_edited_manifest_values_never_raise_anything_but_session_error(scratch, small_file, choice):
    entries = read_entries(small_file)
    manifest = json.loads(entries[MANIFEST])
    path = choice.draw(st.sampled_from(list(json_paths(manifest))[1:]))
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    if choice.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = choice.draw(JSON_VALUES)
    entries[MANIFEST] = json.dumps(manifest).encode()
    opens_or_session_error(scratch, zip_bytes(entries))


# --- properties: CSV files are read or rejected with CsvError ----------------------------------------------


def reads_or_csv_error(path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        assert isinstance(read_csv(path), SampleSet)
    except CsvError:
        pass


@pytest.fixture(scope="module")
def csv_scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("csv") / "fuzz.csv"


@pytest.fixture(scope="module")
def valid_csv(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("csv") / "valid.csv"
    samples = make_preset("xor")
    write_csv(SampleSet(samples.points[::16], samples.labels[::16]), path)
    return path.read_text(encoding="utf-8")


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_csv_read_or_raise_csv_error(csv_scratch, data):
    reads_or_csv_error(csv_scratch, data)


@FUZZ
@given(text=st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(",\n\r\"'- .e0123456789")))
def test_random_text_as_csv_reads_or_raises_csv_error(csv_scratch, text):
    reads_or_csv_error(csv_scratch, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(choice=st.data())
def test_mutated_csv_files_read_or_raise_csv_error(csv_scratch, valid_csv, choice):
    text = valid_csv
    for _ in range(choice.draw(st.integers(1, 5))):
        position = choice.draw(st.integers(0, len(text)))
        replacement = choice.draw(st.text(max_size=3) | st.sampled_from([",", "\n", '"', "nan", "1e999", ""]))
        text = text[:position] + replacement + text[position + choice.draw(st.integers(0, 3)) :]
    reads_or_csv_error(csv_scratch, text.encode("utf-8", "surrogatepass"))
