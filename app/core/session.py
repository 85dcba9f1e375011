"""Save and open a whole session: samples, network, training settings, history, trainer state and view.

A session file (``NAME.unboxed``) is a zip archive holding ``manifest.json`` and numpy ``.npy`` arrays, never
a pickle. Format 2:

- ``manifest.json``: {"app": "Unboxed", "format": 2, "spec": NetworkSpec.to_json(), "config": the
  TrainConfig fields, "samples": {"version", "class_names"}, "history": TrainingHistory.scalars(), "trainer":
  null or {"step", "epoch", "rng_state"}, "view": any JSON object (the UI's state; the core does not read
  it)}. Format 1 (read as it was) has no "class_names": red and blue. The samples' classes are the network's.
- ``samples/points.npy`` (n, 2) float64, ``samples/labels.npy`` (n,) int64
- ``history/NAME.npy`` for each of TrainingHistory.to_arrays()
- ``trainer/params.npy``, ``trainer/adam_m.npy``, ``trainer/adam_v.npy`` (P,) float64, when there is a trainer

Entries are deflated, except ``history/params.npy``, stored as it is (see STORED).

Saving is atomic: the archive is written beside the target under a temporary name, synced to disk, then
renamed over the target, so a failure (disk full, ...) raises its OSError, leaves any previous file as it was
and leaves no temporary file behind.

Opening checks everything and raises SessionError, with a message for the user, for any content that is not
a session this version can read. Only OSError from opening or reading the file itself (missing file, no
permission, I/O error) passes through as OSError. A hostile file's cost is bounded before it is spent (entry
count, compression methods, declared sizes, each .npy header before its data, reads of bounded size: see the
MAX_ constants), and every value must be one the window can show and train with (SETTING_LIMITS, MAX_EPOCH);
the history's budget is recomputed for its network (TrainingHistory.fit_budget).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import lzma
import math
import os
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from app.core.dataset import CLASS_NAMES, MAX_SAMPLES, SampleSet
from app.core.history import ARRAY_NAMES, TrainingHistory, default_max_rows
from app.core.network import NetworkSpec
from app.core.output_file import write_atomically
from app.core.session_archive import (  # the limits are read through this module too
    DAMAGED,
    MANIFEST,
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,  # noqa: F401
    MAX_MANIFEST_BYTES,  # noqa: F401
    MAX_TOTAL_BYTES,  # noqa: F401
    SessionError,
    check_directory,
    check_entries,
    listed,
    read_into,
)
from app.core.training import MAX_EPOCH, TrainConfig, TrainerState

FORMAT_VERSION = 2  # 2: the samples' class names
SUFFIX = ".unboxed"
APP_NAME = "Unboxed"
MAX_FILE_BYTES = 2**32  # larger files are refused before reading them into memory
# A history holds at most its budget's rows (a file's is thinned to it); this many times that is still read.
HISTORY_SLACK = 4
NPY_HEADER_BYTES = 2**14  # an array's header is read from this much of its entry (numpy allows 10,000 bytes)
MAX_WHOLE = 2**62  # the largest count or number a manifest may hold (numpy int64 must hold it)
# The settings the window's boxes hold (app/ui/controls.py): name: (lowest, highest, decimals). A box clips a
# value beyond (or overflows past int32) and rounds more decimals, changing training at the next edit: refuse.
SETTING_LIMITS = {
    "learning_rate": (1e-5, 1e6, 5),
    "batch_size": (0, 100_000, 0),
    "l2": (0.0, 10.0, 5),
    "test_fraction": (0.0, 0.9, 2),
    "seed": (0, 2**31 - 1, 0),
}

# Entries stored as they are: deflate shrinks the parameter history by only ~10% (float noise), at ~30 MB/s.
STORED = {"history/params.npy"}

CONFIG_TYPES = {
    "optimizer": str,
    "learning_rate": float,
    "batch_size": int,
    "l2": float,
    "seed": int,
    "test_fraction": float,
}
SAMPLE_ARRAYS = {"samples/points.npy": ("f", 2), "samples/labels.npy": ("i", 1)}  # name: (kind, ndim)
HISTORY_ARRAYS = {
    f"history/{name}.npy": ("i" if name == "epochs" else "f", 2 if name == "params" else 1)
    for name in ARRAY_NAMES
}
TRAINER_ARRAYS = {f"trainer/{name}.npy": ("f", 1) for name in ("params", "adam_m", "adam_v")}

# What reading damaged bytes can raise, anywhere from the zip layer to numpy (all data is in memory, so an
# OSError here comes from the data, not from the disk; NotImplementedError, from zipfile, is a RuntimeError).
_DAMAGE_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, struct.error, EOFError, KeyError,
    IndexError, ValueError, TypeError, OverflowError, RuntimeError, OSError,
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Session:
    """Everything needed to reopen the app where it was. ``trainer`` is None when there is nothing to resume
    (the UI then starts a fresh Trainer); ``view`` is the UI's JSON-able state, which the core only stores."""

    samples: SampleSet
    spec: NetworkSpec
    config: TrainConfig
    history: TrainingHistory
    trainer: TrainerState | None = None
    view: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.view, dict):
            raise ValueError(f"the view state must be a dict, not {type(self.view).__name__}")
        if self.samples.classes != self.spec.classes:
            raise ValueError(_classes_differ(self.samples, self.spec))
        if self.history.spec != self.spec:
            raise ValueError(f"the history is of network {self.history.spec}, the session's is {self.spec}")
        if self.trainer is not None and len(self.trainer.params) != self.spec.n_params:
            raise ValueError(
                f"the trainer holds {len(self.trainer.params)} parameters, not {self.spec.n_params}"
            )


# --- saving ------------------------------------------------------------------------------------------------


def save_session(path: str | os.PathLike[str], session: Session) -> None:
    """Writes the session to `path` atomically (see the module docstring). Raises OSError when the file
    cannot be written (the previous file, if any, stays as it was), ValueError or TypeError when the view
    is not JSON-able (before touching the disk)."""
    manifest = json.dumps(_manifest(session), allow_nan=False, default=_json_number).encode()
    arrays = _arrays(session)

    def write(file) -> None:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.writestr(MANIFEST, manifest)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                kind = zipfile.ZIP_STORED if name in STORED else None  # None: the archive's, deflate
                archive.writestr(name, buffer.getbuffer(), compress_type=kind)

    write_atomically(path, write)


def _manifest(session: Session) -> dict:
    trainer = session.trainer
    return {
        "app": APP_NAME,
        "format": FORMAT_VERSION,
        "spec": session.spec.to_json(),
        "config": dataclasses.asdict(session.config),
        "samples": {"version": session.samples.version, "class_names": list(session.samples.class_names)},
        "history": session.history.scalars(),
        "trainer": None
        if trainer is None
        else {"step": trainer.step, "epoch": trainer.epoch, "rng_state": trainer.rng_state},
        "view": session.view,
    }


def _arrays(session: Session) -> dict[str, np.ndarray]:
    arrays = {"samples/points.npy": session.samples.points, "samples/labels.npy": session.samples.labels}
    arrays |= {f"history/{name}.npy": a for name, a in session.history.to_arrays().items()}
    if session.trainer is not None:
        arrays |= {
            f"trainer/{name}.npy": getattr(session.trainer, name) for name in ("params", "adam_m", "adam_v")
        }
    return arrays


def _json_number(value: object) -> int | float:
    """Numpy scalars in the manifest (e.g. a view value) as plain JSON numbers."""
    if isinstance(value, np.integer | np.floating):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be saved in a session (not JSON)")


# --- opening -----------------------------------------------------------------------------------------------


def load_session(path: str | os.PathLike[str]) -> Session:
    """Reads and checks a session file; SessionError for any content that is not a valid session of this
    format or an older one, OSError when the file itself cannot be read."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
            raise SessionError("The file is too large to be an Unboxed session.")
        data = f.read()
    try:
        return _read(data)
    except SessionError:
        raise
    except _DAMAGE_ERRORS as e:
        raise SessionError(DAMAGED) from e


def _read(data: bytes) -> Session:
    check_directory(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:  # the end record understated them
            raise SessionError(f"The file holds {len(infos):,} entries, too many for an Unboxed session.")
        names = [info.filename for info in infos]
        if MANIFEST not in names or len(set(names)) != len(names):
            raise SessionError(DAMAGED)
        check_entries(infos)
        with archive.open(MANIFEST) as stream:
            manifest = _parse_manifest(read_into(bytearray(), stream, archive.getinfo(MANIFEST).file_size))
        expected = (
            SAMPLE_ARRAYS | HISTORY_ARRAYS | (TRAINER_ARRAYS if manifest["trainer"] is not None else {})
        )
        if set(names) != {MANIFEST, *expected}:
            missing, extra = set(expected) - set(names), set(names) - {MANIFEST, *expected}
            raise SessionError(
                f"The session file is invalid: missing entries {listed(missing)}, "
                f"unexpected entries {listed(extra)}."
            )
        shapes = {name: _array_shape(archive, name, *form)[0] for name, form in expected.items()}
        _check_shapes(manifest, shapes)  # every array's size is known and bounded before any is read
        arrays = {name: _read_array(archive, name, *form) for name, form in expected.items()}
    return _build(manifest, arrays)


def _parse_manifest(raw: bytes) -> dict:
    """The manifest as a dict with every field of this format present and of the right JSON type (the
    values themselves are checked where the objects are built)."""
    manifest = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    if not isinstance(manifest, dict) or manifest.get("app") != APP_NAME:
        raise SessionError(DAMAGED)
    version = manifest.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_WHOLE:
        raise SessionError(DAMAGED)
    if version > FORMAT_VERSION:
        raise SessionError(
            f"This file was written by a newer version of Unboxed (format {version}); "
            f"this version reads format {FORMAT_VERSION}."
        )
    _check_keys(
        manifest, {"app", "format", "spec", "config", "samples", "history", "trainer", "view"}, "file"
    )
    spec = _section(manifest, "spec", {"widths": list, "activation": str, "classes": int}, ("classes",))
    _section(manifest, "config", CONFIG_TYPES)
    names = {"class_names": list} if version >= 2 else {}  # format 1: red and blue
    for name in _section(manifest, "samples", {"version": int} | names).get("class_names", []):
        _check_type(name, str, "a class name")
    _section(manifest, "history", {"data_changes": list, "thinnings": int, "stride": int, "max_rows": int,
                                   "restarts": list}, ("restarts",))  # fmt: skip
    if manifest["trainer"] is not None:
        _section(manifest, "trainer", {"step": int, "epoch": int, "rng_state": dict})
    for width in spec["widths"]:
        _check_type(width, int, "a layer width")
    if not isinstance(manifest["view"], dict):
        raise SessionError("The session file is invalid: its view state is not a JSON object.")
    return manifest


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a session manifest")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one too large for a float (1e999 reads as infinity) is refused, in the view
    too, which nothing else checks and which could not be saved again."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a session manifest")
    return value


def _check_keys(mapping: dict, keys: set[str], where: str) -> None:
    if set(mapping) != keys:
        missing, extra = keys - set(mapping), set(mapping) - keys
        raise SessionError(
            f"The session file is invalid: the {where} lacks {listed(missing, 'nothing')} and has unknown "
            f"{listed(extra, 'nothing')}."
        )


def _section(manifest: dict, name: str, types: dict[str, type], optional: tuple[str, ...] = ()) -> dict:
    section = manifest[name]
    if not isinstance(section, dict):
        raise SessionError(f"The session file is invalid: its {name} is not a JSON object.")
    types = {key: kind for key, kind in types.items() if key in section or key not in optional}
    _check_keys(section, set(types), f"{name} section")
    for key, kind in types.items():
        _check_type(section[key], kind, f"the {name}'s {key}")
    return section


def _check_type(value: object, kind: type, what: str) -> None:
    """JSON types: int means a whole number (not true/false) up to MAX_WHOLE, float any finite number."""
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_WHOLE
    else:
        ok = isinstance(value, kind)
    if not ok:
        expected = {int: "a whole number", float: "a finite number", str: "text", list: "a list"}
        raise SessionError(
            f"The session file is invalid: {what} must be {expected.get(kind, 'a JSON object')}, "
            f"not {json.dumps(value)[:40]}."
        )


def _array_shape(archive: zipfile.ZipFile, name: str, kind: str, ndim: int):
    """(shape, fortran_order, dtype, header bytes, data offset) of one .npy entry, from its header alone (read
    from the entry's start): `ndim`-dimensional 8-byte numbers of `kind` ('f' float, 'i' integer) whose
    header implies the entry's declared size."""
    size = archive.getinfo(name).file_size
    with archive.open(name) as stream:
        raw = read_into(bytearray(), stream, min(size, NPY_HEADER_BYTES))
    header = io.BytesIO(raw)
    try:
        shape, fortran_order, dtype = _npy_header(header)
    except Exception as e:  # numpy parses the header with ast/tokenize: any error means a damaged header
        raise SessionError(f"The session file is invalid: {name} is not a readable array.") from e
    if dtype.kind != kind or dtype.itemsize != 8 or len(shape) != ndim:
        raise SessionError(f"The session file is invalid: {name} holds {dtype} of {len(shape)} dimension(s).")
    if header.tell() + math.prod(shape) * 8 != size:
        raise SessionError(DAMAGED)
    return shape, fortran_order, dtype, raw, header.tell()


def _check_shapes(manifest: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    """The arrays' shapes agree with each other and the network, and stay within what the program holds
    (MAX_SAMPLES samples, HISTORY_SLACK times the rows a history of this network keeps) before any is read."""
    with _invalid("The session's network is invalid"):
        spec = NetworkSpec.from_json(manifest["spec"])
    n = shapes["samples/points.npy"][0]
    if shapes["samples/points.npy"] != (n, 2) or shapes["samples/labels.npy"] != (n,):
        raise SessionError("The session's samples are invalid: points and labels do not match.")
    if n > MAX_SAMPLES:
        raise SessionError(f"The session holds {n:,} samples; the program takes {MAX_SAMPLES:,} at most.")
    rows = shapes["history/epochs.npy"][0]
    if any(shape != ((rows, spec.n_params) if name == "history/params.npy" else (rows,))
           for name, shape in shapes.items() if name.startswith("history/")):  # fmt: skip
        raise SessionError("The session's history is inconsistent: its arrays do not match its network.")
    marks = manifest["history"].get("data_changes", [])
    most = HISTORY_SLACK * max(default_max_rows(spec), 4 * len(marks) + 8 if isinstance(marks, list) else 0)
    if rows > most:
        raise SessionError(f"The session's history holds {rows:,} epochs, more than the program keeps.")
    if any(shape != (spec.n_params,) for name, shape in shapes.items() if name.startswith("trainer/")):
        raise SessionError("The session's trainer state is invalid: it does not match its network.")


def _read_array(archive: zipfile.ZipFile, name: str, kind: str, ndim: int) -> np.ndarray:
    """One .npy entry (its header checked first, see _array_shape) as a native-order C-contiguous array."""
    size = archive.getinfo(name).file_size
    shape, fortran_order, dtype, raw, offset = _array_shape(archive, name, kind, ndim)
    with archive.open(name) as stream:
        stream.read(len(raw))
        read_into(raw, stream, size - len(raw))
    array = np.frombuffer(raw, dtype=dtype, offset=offset)
    array = array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
    return np.ascontiguousarray(array, dtype=np.float64 if kind == "f" else np.int64)


def _npy_header(header: io.BytesIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from a .npy header (formats 1.0 and 2.0, as np.save writes), leaving
    `header` at the data; numpy's own parser, with its warnings about odd headers silenced."""
    version = np.lib.format.read_magic(header)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(header)


def _build(manifest: dict, arrays: dict[str, np.ndarray]) -> Session:
    """The objects from a checked manifest and arrays; SessionError naming the part that is wrong."""
    with _invalid("The session's network is invalid"):
        spec = NetworkSpec.from_json(manifest["spec"])
    config_fields = {key: manifest["config"][key] for key in CONFIG_TYPES}
    with _invalid("The session's training settings are invalid"):
        _check_settings(config_fields)
        config = TrainConfig(**config_fields)
    with _invalid("The session's samples are invalid"):
        if manifest["samples"]["version"] < 0:
            raise ValueError("the version must not be negative")
        samples = SampleSet(
            arrays["samples/points.npy"],
            arrays["samples/labels.npy"],
            manifest["samples"]["version"],
            tuple(manifest["samples"].get("class_names", CLASS_NAMES)),
        )
    if samples.classes != spec.classes:
        raise SessionError(f"The session is inconsistent: {_classes_differ(samples, spec)}.")
    with _invalid("The session's history is inconsistent"):
        history = TrainingHistory.from_arrays(
            spec, {name: arrays[f"history/{name}.npy"] for name in ARRAY_NAMES}, **manifest["history"]
        )
        latest = history.latest_epoch
        if latest > MAX_EPOCH:
            raise ValueError(f"it reaches epoch {latest:,}, beyond {MAX_EPOCH:,}, the timeline's last")
        beyond = [epoch for epoch in history.data_changes if epoch > latest + 1]
        if beyond:
            raise ValueError(f"a data change at epoch {beyond[0]:,} lies beyond its last epoch, {latest:,}")
    history.fit_budget()  # max_rows as a new history of this network gets, not as the file says
    trainer = None
    if manifest["trainer"] is not None:
        with _invalid("The session's trainer state is invalid"):
            if manifest["trainer"]["epoch"] > MAX_EPOCH:
                raise ValueError(f"its epoch {manifest['trainer']['epoch']:,} is beyond {MAX_EPOCH:,}")
            trainer = TrainerState(
                *(arrays[f"trainer/{name}.npy"] for name in ("params", "adam_m", "adam_v")),
                **manifest["trainer"],
            )
            if len(trainer.params) != spec.n_params:
                raise ValueError(f"it holds {len(trainer.params)} parameters, the network {spec.n_params}")
    return Session(samples, spec, config, history, trainer, manifest["view"])


def _classes_differ(samples: SampleSet, spec: NetworkSpec) -> str:
    return (
        f"its samples have {samples.classes} classes ({', '.join(samples.class_names)}), its network "
        f"{spec.classes}"
    )


def _check_settings(config: dict) -> None:
    """ValueError naming the first setting that its box in the window cannot hold exactly (SETTING_LIMITS)."""
    for name, (lowest, highest, decimals) in SETTING_LIMITS.items():
        value, words = config[name], name.replace("_", " ")
        if not lowest <= value <= highest:
            raise ValueError(f"the {words} {value} is outside {lowest:,} to {highest:,}")
        if round(value, decimals) != value:
            raise ValueError(f"the {words} {value} has more than {decimals} decimals")


@contextlib.contextmanager
def _invalid(prefix: str):
    """Turns a ValueError from building an object into a SessionError: "<prefix>: <reason>.", the reason cut
    short (it can quote a value of the file, e.g. an optimizer name of megabytes)."""
    try:
        yield
    except SessionError:
        raise
    except ValueError as e:
        reason = str(e) if len(str(e)) <= 200 else f"{str(e)[:200]}..."
        raise SessionError(f"{prefix}: {reason}.") from e
