"""Hostile session files (issue 19): what opening one may cost is bounded before it is spent (entry count,
compression methods, manifest and total sizes, .npy headers before their data, bounded reads), listed names
are cut short, every loaded value is one the window can show and train with, and the history's budget is
recomputed for its network instead of taken from the file."""

import dataclasses
import io
import struct
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from session_bytes import read_entries, with_array, with_manifest, zip_bytes

import app.core.dataset
import app.core.history
import app.core.session
from app.core.dataset import make_preset
from app.core.history import MIN_ROWS, TrainingHistory, default_max_rows
from app.core.network import NetworkSpec
from app.core.session import (
    MANIFEST,
    MAX_EPOCH,
    MAX_MANIFEST_BYTES,
    MAX_TOTAL_BYTES,
    SETTING_LIMITS,
    Session,
    SessionError,
    load_session,
    save_session,
)
from app.core.training import EpochChunk, TrainConfig, Trainer

SPEC = NetworkSpec((3, 2), "tanh")


def chunk(first: int, n: int, n_params: int, data_version: int = 0) -> EpochChunk:
    epochs = np.arange(first, first + n, dtype=np.float64)
    params = epochs[:, None] * 1e-3 + np.arange(n_params)
    return EpochChunk(first, params, 1.0 / (1 + epochs), np.full(n, 0.5), data_version)


def history_of(spec: NetworkSpec, epochs: int, budget: int = 0, marks=()) -> TrainingHistory:
    """A history of epochs 0..`epochs` appended in chunks of 10, with a data change at each epoch in `marks`
    (each the first epoch of a chunk)."""
    history = TrainingHistory(spec, np.zeros(spec.n_params), 1.0, 0.5, budget)
    for first in range(1, epochs + 1, 10):
        if first in marks:
            history.mark_data_change(first)
        history.append(chunk(first, min(10, epochs + 1 - first), spec.n_params))
    return history


def small_session(epochs: int = 30, trainer: bool = True, **history) -> Session:
    config = TrainConfig(batch_size=5, seed=2)
    state = None
    if trainer:
        state = dataclasses.replace(Trainer(SPEC, config).state(), step=90, epoch=epochs)
    return Session(make_preset("moons", seed=1), SPEC, config, history_of(SPEC, epochs, **history), state, {})


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("limits") / "small.unboxed"
    save_session(path, small_session(marks=(11,)))
    return path.read_bytes()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with the central directory's uncompressed size of entry `name` set to `size`."""
    data = bytearray(data)
    position = data.find(b"PK\x01\x02")
    while data[position + 46 : position + 46 + len(name)] != name.encode():
        position = data.find(b"PK\x01\x02", position + 1)
    data[position + 24 : position + 28] = struct.pack("<L", size)
    return bytes(data)


def open_bytes(tmp_path, data: bytes) -> Session:
    path = tmp_path / "hostile.unboxed"
    path.write_bytes(data)
    return load_session(path)


def refused(tmp_path, data: bytes, match: str) -> tuple[str, float, int]:
    """The SessionError's message, the seconds opening took and its peak of traced memory (bytes)."""
    path = tmp_path / "hostile.unboxed"
    path.write_bytes(data)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(SessionError, match=match) as caught:
            load_session(path)
        return str(caught.value), time.perf_counter() - start, tracemalloc.get_traced_memory()[1] - len(data)
    finally:
        tracemalloc.stop()


# --- the zip layer: entry counts, names, compression methods, sizes -----------------------------------------


def many_entries(n: int, count: int | None = None) -> bytes:
    """A zip of `n` empty stored entries, built directly (zipfile takes seconds for 200,000); zip64 end
    records when `n` needs them. `count`, when given, is the entry count the end record declares."""
    names = [b"entry-%d" % i for i in range(n)]
    local = [
        struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        for name in names
    ]
    offsets = np.concatenate([[0], np.cumsum([len(header) for header in local])[:-1]]).tolist()
    central = [
        struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, *[0] * 8, len(name), *[0] * 5, offset) + name
        for name, offset in zip(names, offsets, strict=True)
    ]  # fmt: skip
    body, directory = b"".join(local), b"".join(central)
    count = n if count is None else count
    end = b""
    if count > 0xFFFF:
        end = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory),
                          len(body))  # fmt: skip
        end += struct.pack("<4sLQL", b"PK\x06\x07", 0, len(body) + len(directory), 1)
    small = min(count, 0xFFFF)
    end += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, small, small, len(directory), len(body), 0)
    return body + directory + end


def test_the_hand_built_zip_is_one_zipfile_reads():
    with zipfile.ZipFile(io.BytesIO(many_entries(70_000))) as archive:
        assert len(archive.infolist()) == 70_000 and archive.read("entry-69999") == b""


def test_many_entries_are_refused_before_zipfile_reads_them(tmp_path):
    """A 1,000,000-entry zip took 14 s and made a 10.9-million-character message: the end record's count is
    checked first (here 200,000 entries, in zip64 records)."""
    data = many_entries(200_000)
    message, seconds, _ = refused(tmp_path, data, "lists 200,000 entries")
    assert seconds < 0.5 and len(message) < 200
    # zipfile takes the zip64 record's count and size over the plain end record's: so must the check
    understated = data[:-14] + struct.pack("<2HL", 12, 12, 1000) + data[-6:]
    message, seconds, _ = refused(tmp_path, understated, "lists 200,000 entries")
    assert seconds < 0.5 and len(message) < 200


def test_a_session_with_zip64_end_records_opens(tmp_path, monkeypatch):
    """zipfile writes zip64 end records (and entry extras) past 2 GiB: the entry count is read from them."""
    path = tmp_path / "zip64.unboxed"
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 64)  # as if every entry and offset were over 2 GiB
    save_session(path, small_session())
    monkeypatch.undo()
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    assert load_session(path).history.latest_epoch == 30


def test_an_end_record_that_understates_its_entries_is_refused_by_the_directory_size(tmp_path):
    message, seconds, _ = refused(tmp_path, many_entries(5_000, count=12), "lists 12 entries in 2")
    assert seconds < 0.5 and len(message) < 200
    # a directory small enough to read, understated too: counted once read
    refused(tmp_path, many_entries(100, count=12), "holds 100 entries")


def test_listed_names_are_cut_short(tmp_path, valid_file):
    entries = read_entries(valid_file)
    entries |= {f"extra/{i:02d}-" + "x" * 200: b"" for i in range(40)}
    entries.pop("history/loss.npy")
    message = refused(tmp_path, zip_bytes(entries), "unexpected entries")[0]
    assert "missing entries ['history/loss.npy']" in message and "and 35 more" in message
    assert message.count("extra/") == 5 and "x" * 58 not in message and len(message) < 600


def test_manifest_keys_are_cut_short_too(tmp_path, valid_file):
    extra = {f"k{i}": i for i in range(10_000)}
    message = refused(tmp_path, with_manifest(valid_file, lambda m: m.update(extra)), "unknown")[0]
    assert "and 9,995 more" in message and len(message) < 400


@pytest.mark.parametrize("section, key", [("config", "optimizer"), ("spec", "activation")])
def test_values_quoted_in_messages_are_cut_short(tmp_path, valid_file, section, key):
    """An unknown optimizer or activation is quoted in the message: one of a megabyte was quoted whole."""
    edit = lambda manifest: manifest[section].update({key: "x" * 2**20})  # noqa: E731
    message = refused(tmp_path, with_manifest(valid_file, edit), f"unknown {key}")[0]
    assert len(message) < 400


@pytest.mark.parametrize("method, words", [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "LZMA")])
def test_bzip2_and_lzma_entries_are_refused_before_decompressing(tmp_path, valid_file, method, words):
    """A 24 KB file with a bzip2 manifest of 1 GiB of whitespace loaded after 2.6 GB: zipfile decompresses
    bzip2 and LZMA without an output bound per read. Here a whole session in either method, its manifest
    padded with 8 MB of spaces: refused, nothing decompressed."""
    entries = read_entries(valid_file)
    entries[MANIFEST] += b" " * (8 * 2**20)
    message, seconds, peak = refused(tmp_path, zip_bytes(entries, method), f"compressed with {words}")
    assert seconds < 0.5 and peak < 2**20


def test_an_unknown_compression_method_is_refused(tmp_path, valid_file):
    data = bytearray(valid_file)
    position = data.find(b"PK\x01\x02")
    data[position + 10 : position + 12] = struct.pack("<H", 99)  # AES, say
    refused(tmp_path, bytes(data), "another method")


def padded_manifest(data: bytes, size: int) -> bytes:
    entries = read_entries(data)
    entries[MANIFEST] += b" " * (size - len(entries[MANIFEST]))
    return zip_bytes(entries)


def test_a_manifest_at_its_size_limit_opens_and_one_past_it_is_refused(tmp_path, valid_file):
    assert open_bytes(tmp_path, padded_manifest(valid_file, MAX_MANIFEST_BYTES)).history.latest_epoch == 30
    past = padded_manifest(valid_file, MAX_MANIFEST_BYTES + 1)
    message, seconds, peak = refused(tmp_path, past, "too large")
    assert "manifest.json" in message and seconds < 0.5 and peak < 2**20
    # the manifest of 1 GiB of whitespace: declared as such (the body holds 20 MB of it)
    declared = declare_size(padded_manifest(valid_file, 20 * 2**20), MANIFEST, 2**30)
    message, seconds, peak = refused(tmp_path, declared, "1,073,741,824 bytes uncompressed")
    assert seconds < 0.5 and peak < 2**20


def test_decompression_stops_at_the_declared_size(tmp_path, valid_file):
    """A deflated manifest that inflates to 50 MB while declaring its real size: zipfile's read() inflated
    everything (up to 2 GiB per call) before cutting it to the declared size; reads are bounded now."""
    entries = read_entries(valid_file)
    real = len(entries[MANIFEST])
    entries[MANIFEST] += b" " * (50 * 2**20)
    message, seconds, peak = refused(tmp_path, declare_size(zip_bytes(entries), MANIFEST, real), "damaged")
    assert seconds < 0.5 and peak < 4 * 2**20


def test_an_array_entry_inflating_past_its_declared_size_costs_no_memory(tmp_path, valid_file):
    entries = read_entries(valid_file)
    real = len(entries["samples/points.npy"])
    entries["samples/points.npy"] += bytes(64 * 2**20)
    data = declare_size(zip_bytes(entries), "samples/points.npy", real)
    message, seconds, peak = refused(tmp_path, data, "damaged")
    assert seconds < 0.5 and peak < 4 * 2**20


def test_declared_sizes_over_the_total_are_refused_before_reading(tmp_path, valid_file):
    data = zip_bytes(read_entries(valid_file))
    for name in ("history/params.npy", "samples/points.npy"):
        data = declare_size(data, name, MAX_TOTAL_BYTES // 2 + 1)
    message, seconds, peak = refused(tmp_path, data, "too large")
    assert f"at most {MAX_TOTAL_BYTES:,}" in message and seconds < 0.5 and peak < 2**20


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_a_huge_declared_shape_with_a_tiny_body_is_refused_without_allocating_it(
    tmp_path, valid_file, method
):
    """The header says 2**26 points (1 GiB) and the entry declares as much, but holds three points: refused
    when the data runs out, having allocated what was really there."""
    entries = read_entries(valid_file)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**26, 2)}
    )
    entries["samples/points.npy"] = header.getvalue() + np.zeros((3, 2)).tobytes()
    data = declare_size(zip_bytes(entries, method), "samples/points.npy", len(header.getvalue()) + 2**30)
    message, seconds, peak = refused(tmp_path, data, "damaged")
    assert seconds < 0.5 and peak < 4 * 2**20


def test_a_header_implying_another_size_than_declared_is_refused_before_the_data(tmp_path, valid_file):
    entries = read_entries(valid_file)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**26, 2)}
    )
    entries["samples/points.npy"] = header.getvalue() + bytes(32 * 2**20)  # 32 MB declared, 1 GiB implied
    message, seconds, peak = refused(tmp_path, zip_bytes(entries), "damaged")
    assert peak < 2**20


def test_fortran_order_and_big_endian_arrays_still_read(tmp_path, valid_file):
    entries = read_entries(valid_file)
    points = np.load(io.BytesIO(entries["samples/points.npy"]))
    for variant in (np.asfortranarray(points), points.astype(">f8")):
        buffer = io.BytesIO()
        np.save(buffer, variant)
        entries["samples/points.npy"] = buffer.getvalue()
        assert np.array_equal(open_bytes(tmp_path, zip_bytes(entries)).samples.points, points)


# --- values the window cannot hold --------------------------------------------------------------------------


def set_config(name, value):
    return lambda manifest: manifest["config"].update({name: value})


AT_THE_BOUNDS = [(name, value) for name, (low, high, _) in SETTING_LIMITS.items() for value in (low, high)]
PAST_THE_BOUNDS = [
    ("learning_rate", float(np.nextafter(1e-5, 0)), "learning rate"),
    ("learning_rate", float(np.nextafter(1e6, np.inf)), "learning rate"),
    ("learning_rate", 0.123456, "learning rate .* decimals"),
    ("batch_size", 100_001, "batch size"),
    ("batch_size", 2**31, "batch size"),
    ("l2", float(np.nextafter(10.0, np.inf)), "l2"),
    ("l2", 0.000001, "l2 .* decimals"),
    ("test_fraction", float(np.nextafter(0.9, 1.0)), "test fraction"),
    ("test_fraction", 0.255, "test fraction .* decimals"),
    ("seed", 2**31, "seed"),
    ("seed", 2**62, "seed"),
]


@pytest.mark.parametrize("name, value", AT_THE_BOUNDS)
def test_settings_at_the_bounds_open(tmp_path, valid_file, name, value):
    session = open_bytes(tmp_path, with_manifest(valid_file, set_config(name, value)))
    assert getattr(session.config, name) == value


@pytest.mark.parametrize("name, value, words", PAST_THE_BOUNDS)
def test_settings_past_the_bounds_are_refused_naming_the_setting(tmp_path, valid_file, name, value, words):
    refused(
        tmp_path,
        with_manifest(valid_file, set_config(name, value)),
        f"training settings are invalid: the {words}",
    )


@pytest.mark.parametrize("end", [0, 1])
def test_the_controls_hold_every_setting_the_loader_accepts_exactly(qtbot, end):
    """SETTING_LIMITS are the boxes' ranges and decimals: a config at either end shows unclipped and comes
    back from the controls as it went in (a clipped or rounded value would change training at the next
    edit)."""
    from app.ui.controls import QtTrainingControls

    config = TrainConfig(**{name: limits[end] for name, limits in SETTING_LIMITS.items()})
    controls = QtTrainingControls(SPEC, config)
    qtbot.addWidget(controls)
    assert controls.config() == config
    for name, (low, high, decimals) in SETTING_LIMITS.items():
        box = {"learning_rate": controls.learning_rate_box, "batch_size": controls.batch_box,
               "l2": controls.l2_box, "test_fraction": controls.test_fraction_box,
               "seed": controls.seed_box}[name]  # fmt: skip
        assert (box.minimum(), box.maximum()) == (low, high), name
        assert getattr(box, "decimals", lambda: 0)() == decimals, name


def with_last_epoch(epoch: int):
    def edit(epochs):
        epochs = epochs.copy()
        epochs[-1] = epoch
        return epochs

    return edit


def test_a_history_up_to_the_last_epoch_the_timeline_holds_opens(tmp_path, valid_file):
    session = open_bytes(tmp_path, with_array(valid_file, "history/epochs.npy", with_last_epoch(MAX_EPOCH)))
    assert session.history.latest_epoch == MAX_EPOCH == 2**31 - 1


def test_a_history_past_the_last_epoch_the_timeline_holds_is_refused(tmp_path, valid_file):
    refused(tmp_path, with_array(valid_file, "history/epochs.npy", with_last_epoch(MAX_EPOCH + 1)),
            "history is inconsistent: it reaches epoch 2,147,483,648")  # fmt: skip


def set_trainer(key, value):
    return lambda manifest: manifest["trainer"].update({key: value})


def test_a_trainer_epoch_past_the_bound_is_refused(tmp_path, valid_file):
    assert (
        open_bytes(tmp_path, with_manifest(valid_file, set_trainer("epoch", MAX_EPOCH))).trainer.epoch
        == MAX_EPOCH
    )
    refused(
        tmp_path,
        with_manifest(valid_file, set_trainer("epoch", MAX_EPOCH + 1)),
        "trainer state is invalid: its epoch",
    )


def test_a_huge_optimizer_step_count_still_opens(tmp_path, valid_file):
    """The step count is shown nowhere and the engine counts in int64: a long run of small batches can pass
    2**31 - 1 steps, so it is not bounded by the window's int32."""
    assert open_bytes(tmp_path, with_manifest(valid_file, set_trainer("step", 2**40))).trainer.step == 2**40


def set_changes(changes):
    return lambda manifest: manifest["history"].update({"data_changes": changes})


def test_data_changes_must_lie_within_the_history(tmp_path, valid_file):
    """The timeline paints a mark per data change at its epoch's place: one far beyond the last epoch made
    an x coordinate no int32 holds. The last may lie one past it (a change before an epoch that failed)."""
    assert open_bytes(tmp_path, with_manifest(valid_file, set_changes([11, 31]))).history.data_changes == [
        11,
        31,
    ]
    refused(tmp_path, with_manifest(valid_file, set_changes([11, 32])), "data change at epoch 32")
    refused(tmp_path, with_manifest(valid_file, set_changes([11, 2**62])), "data change")


@pytest.mark.skipif(
    not hasattr(app.core.dataset, "MAX_COORDINATE"),
    reason="app.core.dataset has no MAX_COORDINATE yet (issue 19's coordinate limit comes in another change)",
)
def test_samples_beyond_the_coordinate_limit_are_refused(tmp_path, valid_file):
    limit = app.core.dataset.MAX_COORDINATE

    def put(value):
        def edit(points):
            points = points.copy()
            points[0, 1] = value
            return points

        return edit

    assert (
        open_bytes(tmp_path, with_array(valid_file, "samples/points.npy", put(limit))).samples.points[0, 1]
        == limit
    )
    for value in (np.nextafter(limit, np.inf), -np.nextafter(limit, np.inf), 1e307):
        refused(tmp_path, with_array(valid_file, "samples/points.npy", put(value)), "samples are invalid")


# --- the history's budget -----------------------------------------------------------------------------------


def test_a_huge_max_rows_in_the_file_is_replaced_by_the_networks_budget(tmp_path, valid_file):
    """max_rows up to 2**62 was trusted: 3,000 more epochs of an 8x64 network held 2.6 GB."""
    edit = lambda manifest: manifest["history"].update({"max_rows": 2**62})  # noqa: E731
    history = open_bytes(tmp_path, with_manifest(valid_file, edit)).history
    assert history.max_rows == default_max_rows(SPEC) < 2**62
    assert history.fit_budget() is False  # already within it


def test_a_history_over_the_budget_is_thinned_on_opening(tmp_path, monkeypatch):
    """A file written with an inflated max_rows holds more rows than a history of its network keeps: it opens
    thinned as appending would have (epoch 0, the newest epochs and the data changes kept), arrays cut."""
    session = small_session(epochs=3000, trainer=False, budget=2**30, marks=(1001, 2001))
    assert len(session.history) == 3001 and session.history.max_rows > 3001
    monkeypatch.setattr(app.core.session, "HISTORY_SLACK", 8)  # a file within what is still read
    path = tmp_path / "big.unboxed"
    save_session(path, session)
    monkeypatch.setattr(app.core.history, "DEFAULT_BUDGET_BYTES", 0)  # a new history keeps MIN_ROWS rows
    history = load_session(path).history
    assert history.max_rows == MIN_ROWS and len(history) <= MIN_ROWS // 2
    assert history.recorded_epoch(0) == 0 and history.latest_epoch == 3000
    assert {1001, 2001} <= set(history.epochs.tolist()) and (np.diff(history.epochs) > 0).all()
    assert history.nbytes == len(history) * 8 * (SPEC.n_params + 5)
    assert np.array_equal(history.params_at(2001), session.history.params_at(2001))


def test_a_history_grown_by_its_data_changes_keeps_its_budget():
    """Thinning grows max_rows when the protected epochs (data changes) fill half of it; such a history, as
    the program makes it, is within the recomputed budget and opens as it was."""
    history = history_of(SPEC, 20_000, marks=range(1, 20_000, 40))
    assert history.max_rows > MIN_ROWS  # grown past its budget of 512 rows
    before = (history.max_rows, len(history), history.stride)
    assert history.fit_budget(0) is False and (history.max_rows, len(history), history.stride) == before


def test_a_history_far_over_the_budget_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """The header of every array is read first: a history of more rows than HISTORY_SLACK budgets is refused
    without decompressing it (a 1 MB file once held a 1 GiB history that was read in full)."""
    session = small_session(epochs=3000, trainer=False, budget=2**30, marks=(1001, 2001))
    path = tmp_path / "huge.unboxed"
    save_session(path, session)
    monkeypatch.setattr(app.core.history, "DEFAULT_BUDGET_BYTES", 0)  # a new history keeps MIN_ROWS rows
    read = []
    real = app.core.session._read_array  # noqa: SLF001 - counts the arrays whose data is read
    monkeypatch.setattr(app.core.session, "_read_array", lambda *args: read.append(args[1]) or real(*args))
    with pytest.raises(SessionError, match="more than the program keeps"):
        load_session(path)
    assert read == []


@pytest.mark.parametrize(
    "name, shape",
    [("samples/labels.npy", (7,)), ("history/loss.npy", (5,)), ("history/params.npy", (31, 3))],
)
def test_arrays_that_disagree_are_refused_before_any_is_read(tmp_path, valid_file, name, shape):
    data = with_array(valid_file, name, lambda a: np.zeros(shape, a.dtype))
    with pytest.raises(SessionError, match="invalid|inconsistent|do not match"):
        open_bytes(tmp_path, data)


def test_more_samples_than_the_program_takes_are_refused(tmp_path, valid_file, monkeypatch):
    monkeypatch.setattr(app.core.session, "MAX_SAMPLES", 10)
    with pytest.raises(SessionError, match="takes 10 at most"):
        open_bytes(tmp_path, valid_file)
