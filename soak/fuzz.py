"""Fuzzed session and CSV files (random, truncated, bit-flipped, field-mutated) must load validly or raise the
documented error; a few refused sessions also go to a real main window, which must keep its session."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.core.dataset import CsvError, SampleSet, read_csv, write_csv
from app.core.history import TrainingHistory
from app.core.network import ACTIVATIONS, MAX_LAYERS, MAX_WIDTH, NetworkSpec
from app.core.session import MANIFEST, Session, SessionError, load_session, save_session
from app.core.training import EpochChunk, TrainConfig, TrainerState
from soak.common import Hang, deadline

CASES = {True: 500, False: 10_000}  # quick, full
WINDOW_CASES = {True: 10, False: 50}
SEED = 20_240_601
HANG_SECONDS = 10.0  # a case that takes longer counts as a hang

# Manifest values that are wrong somewhere: wrong types, out of range, huge, negative, empty, nested.
BAD_VALUES = [
    None, True, False, 0, -1, 1, 3, 0.5, -0.0, 1e308, -1e308, 2**62, 2**62 + 1, 2**63, 10**30, -(10**30),
    "", "x", "1", "tanh", "adam", [], [0], [65], [4] * 9, [1.5], [True], [[]], {}, {"a": 1},
]  # fmt: skip
# JSON text that json.dumps cannot write: non-finite numbers, numbers too long or too large, deep nesting.
BAD_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, "[" * 5000 + "]" * 5000]
TOKEN = "@@token@@"
# Values written into arrays: non-finite, huge, negative, outside {0, 1}, fractional.
BAD_NUMBERS = [np.nan, np.inf, -np.inf, 1e308, -1e308, -1.0, 2.0, 0.5, 2.0**62, -(2.0**63), 5e-324]
BAD_WHOLES = [-1, 2, 7, 2**62, 2**63 - 1, -(2**63)]
BAD_DTYPES = ["<f4", "<i4", "<i8", "<f8", ">f8", ">i8", "<u8", "|b1", "<c16", "<f2", "<U3", "<M8[s]"]
BAD_DESCRS = ["'<f4'", "'|O'", "'<U8'", "'>f8'", "'V8'", "'<c16'", "'<M8[s]'", "[('a', '<f8')]", "'x'", "7"]
# CSV cells: non-finite, huge, out-of-range, odd spellings float() accepts, empty, text.
CSV_NUMBERS = [
    "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e309", "1e-400", "", " ", "abc", "0x10",
    "1_000", "\u0661\u0662", " 3 ", "--1", "1e", ".",
]  # fmt: skip
CSV_LABELS = ["2", "-1", "0.5", "green", "", " ", "RED", "Blue", "1 ", "0\u00a0", "red", "blue", "0", "1"]


# --- valid base files ---------------------------------------------------------------------------------------


def _base_session(with_trainer: bool) -> Session:
    """A small session built without training (fast): 12 samples, a 2-3-2-1 network, 6 recorded epochs with a
    data change, a view, and (optionally) a trainer state to resume from."""
    rng = np.random.default_rng(1)
    spec = NetworkSpec((3, 2), "tanh")
    config = TrainConfig(batch_size=4, test_fraction=0.25, seed=3)
    samples = SampleSet(rng.normal(size=(12, 2)), np.arange(12) % 2, version=2)
    params = rng.normal(size=(6, spec.n_params))
    loss, accuracy = rng.uniform(0.1, 1.0, 6), rng.uniform(0.0, 1.0, 6)
    test_loss, test_accuracy = rng.uniform(0.1, 1.0, 6), rng.uniform(0.0, 1.0, 6)
    history = TrainingHistory(spec, params[0], loss[0], accuracy[0], 0,
                              initial_test_loss=test_loss[0], initial_test_acc=test_accuracy[0])  # fmt: skip
    history.mark_data_change(3)
    history.append(EpochChunk(1, params[1:], loss[1:], accuracy[1:], 2,
                              test_loss=test_loss[1:], test_accuracy=test_accuracy[1:]))  # fmt: skip
    trainer = None
    if with_trainer:
        adam_m, adam_v = rng.normal(size=spec.n_params), rng.uniform(0.0, 1.0, spec.n_params)
        rng_state = np.random.default_rng(3).bit_generator.state
        trainer = TrainerState(params[-1], adam_m, adam_v, 15, history.latest_epoch, rng_state)
    view = {"displayed_epoch": 4, "live": False, "view_rect": [-3.0, 3.0, -2.0, 2.0], "selected": [1, 0]}
    return Session(samples, spec, config, history, trainer, view)


def _base_files(folder: Path) -> dict[str, list[bytes]]:
    """Valid files written by the real writers: sessions with and without a trainer; CSV files with a header
    and 0/1 labels (write_csv) and without a header with red/blue labels."""
    sessions = []
    for with_trainer in (True, False):
        path = folder / f"base-{with_trainer}.unboxed"
        save_session(path, _base_session(with_trainer))
        sessions.append(path.read_bytes())
    samples = _base_session(False).samples
    write_csv(samples, folder / "base.csv")
    named = "".join(f"{x!r},{y!r},{('red', 'blue')[label]}\n" for (x, y), label in
                    zip(samples.points.tolist(), samples.labels.tolist(), strict=True))  # fmt: skip
    return {"session": sessions, "csv": [(folder / "base.csv").read_bytes(), named.encode()]}


# --- zip and .npy helpers -----------------------------------------------------------------------------------


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of these entries, duplicates included (zipfile warns about them; that is the point here)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)  # a pickled object array is one of the cases
    return buffer.getvalue()


def _load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


# --- session cases: each returns (file bytes, what was done) ------------------------------------------------


def session_random_bytes(rng, base: bytes) -> tuple[bytes, str]:
    """Random bytes (up to 4 kB), half of them behind a zip signature."""
    data = rng.bytes(int(rng.integers(0, 4096)))
    return (b"PK\x03\x04" + data, "zip signature + random") if rng.random() < 0.5 else (data, "random")


def session_truncated(rng, base: bytes) -> tuple[bytes, str]:
    """A valid file cut short at a random byte."""
    cut = int(rng.integers(0, len(base)))
    return base[:cut], f"cut at {cut} of {len(base)}"


def session_bit_flips(rng, base: bytes) -> tuple[bytes, str]:
    """A valid file with 1 to 8 random bits flipped (the zip layer's CRCs catch most)."""
    return _flip_bits(rng, base)


def session_entry_bit_flips(rng, base: bytes) -> tuple[bytes, str]:
    """One entry (manifest or array) with bits flipped or cut short, re-zipped so that its CRC is right and
    the damage reaches the JSON parser, the .npy header or the values behind them."""
    entries = _entries(base)
    i = int(rng.integers(len(entries)))
    name, data = entries[i]
    if rng.random() < 0.3:
        cut = int(rng.integers(0, len(data) + 1))
        entries[i] = (name, data[:cut])
        return _zip(entries), f"{name} cut at {cut}"
    flipped, detail = _flip_bits(rng, data)
    entries[i] = (name, flipped)
    return _zip(entries), f"{name}: {detail}"


def session_manifest_field(rng, base: bytes) -> tuple[bytes, str]:
    """One manifest field set to a wrong value (wrong type, NaN, infinity, huge, negative, a number too long
    to read, deep nesting), deleted, or joined by an unknown key."""
    entries = _entries(base)
    manifest = json.loads(dict(entries)[MANIFEST])
    paths = list(_json_paths(manifest))[1:]
    path = _pick(rng, paths)
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
        detail = f"{_dotted(path)} deleted"
    elif action < 0.25:
        target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
        target = target if isinstance(target, dict) else manifest
        target["extra"] = _pick(rng, BAD_VALUES)
        detail = f"extra key beside {_dotted(path)}"
    else:
        token = rng.random() < 0.25
        value = TOKEN if token else _pick(rng, BAD_VALUES)
        parent[path[-1]] = value
        text = _pick(rng, BAD_TOKENS) if token else value
        detail = f"{_dotted(path)} = {str(text)[:20]}"
    raw = json.dumps(manifest)
    if TOKEN in raw:
        raw = raw.replace(json.dumps(TOKEN), text)
    return _zip([(n, raw.encode() if n == MANIFEST else d) for n, d in entries]), detail


def session_array(rng, base: bytes) -> tuple[bytes, str]:
    """One .npy array changed: a row dropped or added, transposed, flattened, emptied, a wrong dtype, an
    object array (pickled), Fortran order, rows shuffled, or a value set to NaN/inf/huge/negative/out of
    range."""
    entries = _entries(base)
    arrays = [i for i, (name, _) in enumerate(entries) if name.endswith(".npy")]
    i = _pick(rng, arrays)
    name, data = entries[i]
    array = _load_npy(data)
    how = _pick(rng, ["drop row", "add row", "transpose", "flatten", "add axis", "empty", "dtype", "object",
                      "fortran", "shuffle", "value", "value", "value"])  # fmt: skip
    if how == "drop row":
        array = array[:-1]
    elif how == "add row":
        array = np.concatenate([array, array[-1:]]) if len(array) else array
    elif how == "transpose":
        array = array.T
    elif how == "flatten":
        array = array.ravel()
    elif how == "add axis":
        array = array[None]
    elif how == "empty":
        array = array[:0]
    elif how == "dtype":
        dtype = _pick(rng, BAD_DTYPES)
        how = f"dtype {dtype}"
        with contextlib.suppress(TypeError, ValueError), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = array.astype(dtype)
    elif how == "object":
        array = array.astype(object)
    elif how == "fortran":
        array = np.asfortranarray(array if array.ndim > 1 else array[:, None])
    elif how == "shuffle":
        array = rng.permutation(array)
    elif array.size:
        number = _pick(rng, BAD_WHOLES if array.dtype.kind == "i" else BAD_NUMBERS)
        how = f"value {number!r}"
        array.flat[int(rng.integers(array.size))] = number
    entries[i] = (name, _npy(array))
    return _zip(entries), f"{name}: {how}"


def session_npy_header(rng, base: bytes) -> tuple[bytes, str]:
    """One .npy header corrupted: the magic, the version, the length field, or the header text (shape,
    dtype, order, unparsable Python)."""
    entries = _entries(base)
    arrays = [i for i, (name, _) in enumerate(entries) if name.endswith(".npy")]
    i = _pick(rng, arrays)
    name, data = entries[i]
    length = int.from_bytes(data[8:10], "little")
    header, body = data[10 : 10 + length].decode("latin-1"), data[10 + length :]
    how = _pick(rng, ["magic", "version", "length", "shape", "descr", "order", "text"])
    if how == "magic":
        data = b"\x93NUMPZ" + data[6:]
    elif how == "version":
        major = _pick(rng, [0, 2, 3, 255])
        data = data[:6] + bytes([major, 0]) + data[8:]
        how = f"version {major}"
    elif how == "length":
        length = int(rng.integers(0, 65536))
        data = data[:8] + length.to_bytes(2, "little") + data[10:]
        how = f"length {length}"
    else:
        if how == "shape":
            shape = _pick(
                rng, ["(-1,)", "(0,)", "(10**18,)", "(2, 3, 4)", "()", "(1.5,)", "None", "(-8, -1)"]
            )
            header = header[: header.index("'shape':")] + f"'shape': {shape}, }}"
            how = f"shape {shape}"
        elif how == "descr":
            descr = _pick(rng, BAD_DESCRS)
            header = header.replace(header[header.index("'descr':") : header.index(",")], f"'descr': {descr}")
            how = f"descr {descr}"
        elif how == "order":
            header = header.replace("False", "True")
        else:
            cut = int(rng.integers(0, len(header)))
            header = header[:cut] + _pick(rng, ["__import__('os')", "{", "}", "'", ":", "\x00", "é"])
            how = f"text changed at {cut}"
        raw = header.rstrip().encode("latin-1") + b"\n"
        data = data[:8] + len(raw).to_bytes(2, "little") + raw + body
    entries[i] = (name, data)
    return _zip(entries), f"{name}: {how}"


def session_entries(rng, base: bytes) -> tuple[bytes, str]:
    """The archive's entries changed: one missing, duplicated (same or other content), renamed, joined by an
    extra entry, or two entries' contents swapped."""
    entries = _entries(base)
    i, j = (int(k) for k in rng.choice(len(entries), 2, replace=False))
    name = entries[i][0]
    how = _pick(rng, ["missing", "duplicated", "duplicated other", "renamed", "extra", "swapped"])
    if how == "missing":
        del entries[i]
    elif how == "duplicated":
        entries.append(entries[i])
    elif how == "duplicated other":
        entries.append((name, entries[j][1]))
    elif how == "renamed":
        new = _pick(rng, [name.upper(), name.split("/")[-1], name + ".bak", "history/extra.npy", "a/" + name])
        entries[i] = (new, entries[i][1])
        how = f"renamed to {new}"
    elif how == "extra":
        extra = _pick(rng, ["notes.txt", "history/extra.npy", "../escape.npy", "samples/", "/abs.npy"])
        entries.append((extra, entries[j][1]))
        how = f"extra {extra}"
    else:
        other = entries[j][0]
        entries[i], entries[j] = (name, entries[j][1]), (other, entries[i][1])
        how = f"swapped with {other}"
    return _zip(entries), f"{name}: {how}"


# --- CSV cases ----------------------------------------------------------------------------------------------


def csv_random_bytes(rng, base: bytes) -> tuple[bytes, str]:
    """Random bytes (up to 2 kB)."""
    return rng.bytes(int(rng.integers(0, 2048))), "random"


def csv_random_text(rng, base: bytes) -> tuple[bytes, str]:
    """Random text from CSV-ish characters: digits, signs, commas, quotes, line ends, letters, non-ASCII."""
    alphabet = list("0123456789,,,\n\n\r\"'-+.eE naifINF\t;") + ["é", "\u00a0", "\ufeff", "\u0661"]
    return "".join(rng.choice(alphabet, int(rng.integers(0, 400)))).encode(), "random text"


def csv_truncated(rng, base: bytes) -> tuple[bytes, str]:
    """A valid file cut short at a random byte."""
    cut = int(rng.integers(0, len(base)))
    return base[:cut], f"cut at {cut} of {len(base)}"


def csv_bit_flips(rng, base: bytes) -> tuple[bytes, str]:
    """A valid file with 1 to 8 random bits flipped (non-UTF-8 bytes, NUL bytes, odd characters)."""
    return _flip_bits(rng, base)


def csv_rows(rng, base: bytes) -> tuple[bytes, str]:
    """One to three rows edited: a wrong column count, a coordinate NaN/inf/huge/unreadable, a label other
    than 0/1, a stray or unterminated quote, blank or comma-only lines, a very long line, or the whole file
    with CR or CRLF line ends."""
    lines = base.decode().splitlines()
    done = []
    for _ in range(int(rng.integers(1, 4))):
        k = int(rng.integers(len(lines)))
        cells = lines[k].split(",")
        how = _pick(
            rng, ["columns", "number", "number", "label", "label", "quote", "blank", "long", "endings"]
        )
        if how == "columns":
            cells = cells[:-1] if rng.random() < 0.5 else [*cells, "0"]
        elif how == "number":
            cells[int(rng.integers(min(2, len(cells))))] = _pick(rng, CSV_NUMBERS)
        elif how == "label":
            cells[-1] = _pick(rng, CSV_LABELS)
        elif how == "quote":
            cells[int(rng.integers(len(cells)))] = _pick(rng, ['"', '"1', '"1,2"', '"a\nb"', '1"'])
        elif how == "blank":
            lines.insert(k, _pick(rng, ["", ",,", "   ", ",", "\t"]))
        elif how == "long":
            cells[int(rng.integers(len(cells)))] = "1" * int(rng.integers(1000, 200_000))
        lines[k if how != "blank" else k + 1] = ",".join(cells)
        done.append(f"line {k + 1} {how}")
    end = _pick(rng, ["\n", "\n", "\r\n", "\r"]) if "endings" in " ".join(done) else "\n"
    return (end.join(lines) + end).encode("utf-8", "surrogatepass"), ", ".join(done)


def csv_special(rng, base: bytes) -> tuple[bytes, str]:
    """Whole files that are special: empty, a header only, blank lines only, a BOM, UTF-16, Latin-1 or
    NUL bytes, many rows, or one label only."""
    text = base.decode()
    body = "\n".join(text.splitlines()[1:]) + "\n"
    files = {
        "empty": b"",
        "header only": b"x,y,label\n",
        "blank lines": b"\n\n  \n\r\n",
        "bom": b"\xef\xbb\xbf" + base,
        "utf-16": text.encode("utf-16"),
        "latin-1": text.replace("label", "labél").encode("latin-1"),
        "nul": base[:20] + b"\x00" + base[20:],
        "many rows": (text + body * 400).encode(),
        "one label": "".join(f"{i},{i},1\n" for i in range(5)).encode(),
        "two headers": ("x,y,label\n" + text).encode(),
    }
    name = _pick(rng, sorted(files))
    return files[name], name


# --- helpers for the cases ---------------------------------------------------------------------------------


def _flip_bits(rng, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "empty"
    flipped = bytearray(data)
    positions = rng.integers(0, len(data), int(rng.integers(1, 9)))
    for position in positions:
        flipped[position] ^= 1 << int(rng.integers(8))
    return bytes(flipped), f"bits flipped at {sorted(positions.tolist())}"


def _json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_paths(item, (*prefix, index))


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


SESSION_CASES: dict[str, Callable] = {
    "random bytes": session_random_bytes,
    "truncated": session_truncated,
    "bit flips": session_bit_flips,
    "entry bit flips": session_entry_bit_flips,
    "manifest field": session_manifest_field,
    "array": session_array,
    "npy header": session_npy_header,
    "entries": session_entries,
}
CSV_CASES: dict[str, Callable] = {
    "random bytes": csv_random_bytes,
    "random text": csv_random_text,
    "truncated": csv_truncated,
    "bit flips": csv_bit_flips,
    "rows": csv_rows,
    "special": csv_special,
}
# Field-level edits get a second turn: what they reach (the manifest's fields, the rows) is the most varied.
EXTRA_TURNS = [("session", "manifest field"), ("session", "array"), ("csv", "rows")]


# --- checking what the loaders return ----------------------------------------------------------------------


def _samples_problem(samples: SampleSet) -> str | None:
    points, labels = samples.points, samples.labels
    if points.dtype != np.float64 or points.ndim != 2 or points.shape[1:] != (2,):
        return f"points of {points.dtype} {points.shape}"
    if labels.dtype != np.int64 or labels.shape != (len(points),):
        return f"labels of {labels.dtype} {labels.shape} for {len(points)} points"
    if not np.isfinite(points).all():
        return "non-finite coordinates"
    k = len(samples.class_names)
    if not 2 <= k <= 8 or samples.classes != k:
        return f"{k} class names"
    if not np.isin(labels, range(k)).all():
        return f"labels {sorted(set(labels.tolist()) - set(range(k)))} outside 0 to {k - 1}"
    return None


def session_problem(session: Session) -> str | None:
    """What breaks the loader's invariants in a loaded session: samples, network, settings, a history of
    consistent rows from epoch 0, a trainer state that fits the network and resumes after the history's latest
    epoch, and a view that can be saved again; None when all hold."""
    problem = _samples_problem(session.samples)
    if problem:
        return f"samples: {problem}"
    spec, config, history, trainer = session.spec, session.config, session.history, session.trainer
    if not (1 <= len(spec.widths) <= MAX_LAYERS and all(1 <= w <= MAX_WIDTH for w in spec.widths)):
        return f"network widths {spec.widths}"
    if spec.activation not in ACTIVATIONS:
        return f"activation {spec.activation!r}"
    if not (0 < config.learning_rate < math.inf and 0 <= config.test_fraction < 1 and config.batch_size >= 0):
        return f"settings {config}"
    arrays = history.to_arrays()
    rows = len(arrays["epochs"])
    if rows == 0 or arrays["epochs"][0] != 0 or (np.diff(arrays["epochs"]) <= 0).any():
        return "history epochs not increasing from 0"
    if arrays["params"].shape != (rows, spec.n_params) or not np.isfinite(arrays["params"]).all():
        return f"history params {arrays['params'].shape}, not finite or not {spec.n_params} per row"
    if any(a.shape != (rows,) for name, a in arrays.items() if name not in ("epochs", "params")):
        return "history arrays of different lengths"
    if trainer is not None:
        if trainer.params.shape != (spec.n_params,) or not np.isfinite(trainer.params).all():
            return f"trainer params {trainer.params.shape}"

    try:
        json.dumps(session.view, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as e:
        return f"view cannot be saved again ({e})"
    return None


def csv_problem(samples: SampleSet) -> str | None:
    """What breaks the CSV reader's invariants: at least one sample, finite coordinates, labels 0 to k - 1 of
    2 to 8 classes."""
    if samples.n == 0:
        return "no samples"
    return _samples_problem(samples)


def try_load(load, path: Path, error: type[Exception], check) -> tuple[bool, str | None]:
    """(refused, problem): refused is True when `load` raised `error`; problem says what went wrong when it
    raised anything else, hung, or returned a value `check` finds a problem in."""
    try:
        with deadline(HANG_SECONDS):
            value = load(path)
    except error:
        return True, None
    except Hang as e:
        return False, f"hang: {e}"
    except Exception as e:  # noqa: BLE001 - any other exception is what the fuzzing looks for
        return False, repr(e)[:300]
    problem = check(value)
    return False, problem and f"invalid load: {problem}"


# --- the open window keeps its session after a refused file ------------------------------------------------


@contextlib.contextmanager
def _quiet_dialogs(shown: list):
    """QMessageBox's static dialogs answer at once (Discard for "save changes?", OK otherwise) and record
    what they would have shown."""
    from PySide6.QtWidgets import QMessageBox

    saved = {name: QMessageBox.__dict__[name] for name in ("warning", "critical", "question", "information")}

    def answer(*args, **kwargs):
        shown.append(args[2] if len(args) > 2 else "")
        return QMessageBox.StandardButton.Ok

    def discard(*args, **kwargs):
        return QMessageBox.StandardButton.Discard

    for name in saved:
        setattr(QMessageBox, name, staticmethod(discard if name == "question" else answer))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(QMessageBox, name, method)


@contextlib.contextmanager
def _settings_in(folder: Path):
    """The window's settings and recent files go to `folder`, never the user's, while the check runs."""
    from PySide6.QtCore import QSettings

    default = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, str(folder))
    try:
        yield
    finally:
        for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(kind, QSettings.Scope.UserScope, default)


def _window_state(window) -> tuple:
    model = window.model
    history, samples = model.history, model.samples
    latest = history.latest_epoch
    return (
        samples.points.tobytes(),
        samples.labels.tobytes(),
        samples.version,
        model.spec,
        model.config,
        latest,
        history.params_at(latest).tobytes(),
        len(history),
        window.files.path,
    )


def _open(app, window, path: Path) -> bool | str:
    """What window.files.open_session answers (True or False), or the repr of what it raised."""
    try:
        opened = window.files.open_session(str(path))
        app.processEvents()
    except Exception as e:  # noqa: BLE001 - reported as a failure
        return repr(e)[:300]
    return opened


def check_window(folder: Path, base: Path, refused: list[tuple[str, Path]]) -> list[str]:
    """Opens a valid session in a real main window, then each refused file: every one must be refused with
    a message, leaving samples, network, settings and history as they were. Returns the failures."""
    from app.ui.app import make_application
    from app.ui.main_window import MainWindow

    app = make_application()
    shown: list[str] = []
    failures = []
    with _settings_in(folder / "settings"), _quiet_dialogs(shown):
        window = MainWindow()
        try:
            opened = _open(app, window, base)
            if opened is not True:
                return [f"window: the valid base session did not open: {opened or shown}"]
            for label, path in refused:
                before, shown[:] = _window_state(window), []
                opened = _open(app, window, path)
                if isinstance(opened, str):
                    failures.append(f"window, session {label}: open_session raised {opened}")
                elif opened:
                    failures.append(f"window, session {label}: opened a file the loader refused")
                elif _window_state(window) != before:
                    failures.append(f"window, session {label}: the open session changed")
                elif not shown:
                    failures.append(f"window, session {label}: refused without a message")
        finally:
            window.model.set_modified(False)
            window.close()
            window.deleteLater()
            app.processEvents()
    return failures


# --- the section -------------------------------------------------------------------------------------------


def _in_turn(lists: list[list], n: int) -> list:
    """The first n items taken one from each list in turn (a few refused files of every kind)."""
    return [items[i] for i in range(n) for items in lists if i < len(items)][:n]


def run(quick: bool) -> dict:
    """Fuzzes both loaders (CASES[quick] inputs, taking turns by kind), then the window check."""
    rng = np.random.default_rng(SEED)
    n_cases, n_window = CASES[quick], WINDOW_CASES[quick]
    turns = (
        [("session", kind) for kind in SESSION_CASES] + [("csv", kind) for kind in CSV_CASES] + EXTRA_TURNS
    )
    loaders = {
        "session": (load_session, SessionError, session_problem, SESSION_CASES, ".unboxed"),
        "csv": (read_csv, CsvError, csv_problem, CSV_CASES, ".csv"),
    }
    failures: list[str] = []
    refused: dict[str, list[tuple[str, Path]]] = {}  # session kind: refused files kept for the window check
    with tempfile.TemporaryDirectory(prefix="unboxed-fuzz-") as name:
        folder = Path(name)
        bases = _base_files(folder)
        for case in range(n_cases):
            loader, kind = turns[case % len(turns)]
            load, error, check, makers, suffix = loaders[loader]
            data, detail = makers[kind](rng, _pick(rng, bases[loader]))
            path = folder / f"case{suffix}"
            path.write_bytes(data)
            was_refused, problem = try_load(load, path, error, check)
            if problem:
                failures.append(f"{loader} {kind} case {case} ({detail[:100]}): {problem}")
            elif was_refused and loader == "session" and len(refused.setdefault(kind, [])) < n_window:
                kept = path.rename(folder / f"refused-{case}{suffix}")
                refused[kind].append((f"{kind} case {case} ({detail[:60]})", kept))
        chosen = _in_turn(list(refused.values()), n_window)
        failures += check_window(folder, folder / "base-True.unboxed", chosen)
    return {"fuzzed_inputs": n_cases, "loader_failures": len(failures), "failures": failures}
