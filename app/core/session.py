"""Save and open a whole session: samples, network, training settings, history, trainer state and view.

A session file (``NAME.unboxed``) is a zip archive holding ``manifest.json`` and numpy ``.npy`` arrays, never
a pickle. Format 1:

- ``manifest.json``: {"app": "Unboxed", "format": 1, "spec": {"widths", "activation"}, "config": the
  TrainConfig fields, "samples": {"version"}, "history": TrainingHistory.scalars(), "trainer": null or
  {"step", "epoch", "rng_state"}, "view": any JSON object (the UI's state; the core does not read it)}
- ``samples/points.npy`` (n, 2) float64, ``samples/labels.npy`` (n,) int64
- ``history/NAME.npy`` for each of TrainingHistory.to_arrays()
- ``trainer/params.npy``, ``trainer/adam_m.npy``, ``trainer/adam_v.npy`` (P,) float64, when there is a trainer

Entries are deflated, except ``history/params.npy``, stored as it is (see STORED).

Saving is atomic: the archive is written beside the target under a temporary name, synced to disk, then
renamed over the target, so a failure (disk full, ...) raises its OSError, leaves any previous file as it was
and leaves no temporary file behind.

Opening checks everything and raises SessionError, with a message for the user, for any content that is not
a session this version can read. Only OSError from opening or reading the file itself (missing file, no
permission, I/O error) passes through as OSError.
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
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from app.core.dataset import SampleSet
from app.core.history import ARRAY_NAMES, TrainingHistory
from app.core.network import NetworkSpec
from app.core.training import TrainConfig, TrainerState

FORMAT_VERSION = 1
SUFFIX = ".unboxed"
APP_NAME = "Unboxed"
MANIFEST = "manifest.json"
MAX_FILE_BYTES = 2**32  # larger files are refused before reading them into memory
MAX_ENTRY_BYTES = 2**32  # an archive entry claiming more is refused before decompressing it
MAX_WHOLE = 2**62  # the largest count or number a manifest may hold (numpy int64 must hold it)

# Entries stored as they are: deflate shrinks the parameter history by only ~10% (float noise), at ~30 MB/s.
STORED = {"history/params.npy"}

DAMAGED = "The file is damaged (truncated or not an Unboxed session)."
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
# OSError here comes from the data, e.g. a bz2 stream, not from the disk).
_DAMAGE_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, struct.error, EOFError, KeyError,
    IndexError, ValueError, TypeError, OverflowError, RuntimeError, OSError,
)  # fmt: skip


class SessionError(ValueError):
    """A session file that cannot be opened; the message says why, in words for the user."""


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
    path = os.fspath(path)
    manifest = json.dumps(_manifest(session), allow_nan=False, default=_json_number).encode()
    arrays = _arrays(session)
    folder = os.path.dirname(os.path.abspath(path))
    mode = _file_mode(path)
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, prefix=".unboxed-", suffix=".tmp")
    try:
        with tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                archive.writestr(MANIFEST, manifest)
                for name, array in arrays.items():
                    buffer = io.BytesIO()
                    np.save(buffer, array, allow_pickle=False)
                    kind = zipfile.ZIP_STORED if name in STORED else None  # None: the archive's, deflate
                    archive.writestr(name, buffer.getbuffer(), compress_type=kind)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise
    _sync_folder(folder)


def _manifest(session: Session) -> dict:
    trainer = session.trainer
    return {
        "app": APP_NAME,
        "format": FORMAT_VERSION,
        "spec": {"widths": list(session.spec.widths), "activation": session.spec.activation},
        "config": dataclasses.asdict(session.config),
        "samples": {"version": session.samples.version},
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


def _file_mode(path: str) -> int:
    """The permissions to give the new file: the old file's, else what a newly created file gets (tempfile
    creates its files readable by their owner only)."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0o022)  # reading the umask means setting it; set it straight back
    os.umask(umask)
    return 0o666 & ~umask


def _sync_folder(folder: str) -> None:
    """Makes the rename durable where the platform allows syncing a folder (best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if MANIFEST not in names or len(set(names)) != len(names):
            raise SessionError(DAMAGED)
        if any(info.file_size > MAX_ENTRY_BYTES for info in infos):
            raise SessionError("The file holds an entry too large for an Unboxed session.")
        manifest = _parse_manifest(archive.read(MANIFEST))
        expected = (
            SAMPLE_ARRAYS | HISTORY_ARRAYS | (TRAINER_ARRAYS if manifest["trainer"] is not None else {})
        )
        if set(names) != {MANIFEST, *expected}:
            missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - {MANIFEST, *expected})
            raise SessionError(
                f"The session file is invalid: missing entries {missing or 'none'}, "
                f"unexpected entries {extra or 'none'}."
            )
        arrays = {name: _read_array(archive, name, *form) for name, form in expected.items()}
    return _build(manifest, arrays)


def _parse_manifest(raw: bytes) -> dict:
    """The manifest as a dict with every field of this format present and of the right JSON type (the
    values themselves are checked where the objects are built)."""
    manifest = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    if not isinstance(manifest, dict) or manifest.get("app") != APP_NAME:
        raise SessionError(DAMAGED)
    version = manifest.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionError(DAMAGED)
    if version > FORMAT_VERSION:
        raise SessionError(
            f"This file was written by a newer version of Unboxed (format {version}); "
            f"this version reads format {FORMAT_VERSION}."
        )
    _check_keys(
        manifest, {"app", "format", "spec", "config", "samples", "history", "trainer", "view"}, "file"
    )
    spec = _section(manifest, "spec", {"widths": list, "activation": str})
    _section(manifest, "config", CONFIG_TYPES)
    _section(manifest, "samples", {"version": int})
    _section(manifest, "history", {"data_changes": list, "thinnings": int, "stride": int, "max_rows": int})
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
        missing, extra = sorted(keys - set(mapping)), sorted(set(mapping) - keys)
        raise SessionError(
            f"The session file is invalid: the {where} lacks {missing or 'nothing'} and has unknown "
            f"{extra or 'nothing'}."
        )


def _section(manifest: dict, name: str, types: dict[str, type]) -> dict:
    section = manifest[name]
    if not isinstance(section, dict):
        raise SessionError(f"The session file is invalid: its {name} is not a JSON object.")
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


def _read_array(archive: zipfile.ZipFile, name: str, kind: str, ndim: int) -> np.ndarray:
    """One .npy entry, checked to be `ndim`-dimensional 8-byte numbers of `kind` ('f' float, 'i' integer)
    whose header matches its size, as a native-order C-contiguous array."""
    raw = archive.read(name)
    header = io.BytesIO(raw)
    try:
        shape, dtype = _npy_header(header)
    except Exception as e:  # numpy parses the header with ast/tokenize: any error means a damaged header
        raise SessionError(f"The session file is invalid: {name} is not a readable array.") from e
    if dtype.kind != kind or dtype.itemsize != 8 or len(shape) != ndim:
        raise SessionError(f"The session file is invalid: {name} holds {dtype} of {len(shape)} dimension(s).")
    if math.prod(shape) * 8 != len(raw) - header.tell():
        raise SessionError(DAMAGED)
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    return np.ascontiguousarray(array, dtype=np.float64 if kind == "f" else np.int64)


def _npy_header(header: io.BytesIO) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy header (formats 1.0 and 2.0, as np.save writes), leaving `header` at the
    data; numpy's own parser, with its warnings about odd headers silenced."""
    version = np.lib.format.read_magic(header)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shape, _, dtype = read(header)
    return shape, dtype


def _build(manifest: dict, arrays: dict[str, np.ndarray]) -> Session:
    """The objects from a checked manifest and arrays; SessionError naming the part that is wrong."""
    with _invalid("The session's network is invalid"):
        spec = NetworkSpec(tuple(manifest["spec"]["widths"]), manifest["spec"]["activation"])
    config_fields = {key: manifest["config"][key] for key in CONFIG_TYPES}
    if not 0 <= config_fields["seed"] < 2**63:
        raise SessionError(f"The session's training settings are invalid: the seed {config_fields['seed']}.")
    with _invalid("The session's training settings are invalid"):
        config = TrainConfig(**config_fields)
    with _invalid("The session's samples are invalid"):
        if manifest["samples"]["version"] < 0:
            raise ValueError("the version must not be negative")
        samples = SampleSet(
            arrays["samples/points.npy"], arrays["samples/labels.npy"], manifest["samples"]["version"]
        )
    with _invalid("The session's history is inconsistent"):
        history = TrainingHistory.from_arrays(
            spec, {name: arrays[f"history/{name}.npy"] for name in ARRAY_NAMES}, **manifest["history"]
        )
    trainer = None
    if manifest["trainer"] is not None:
        with _invalid("The session's trainer state is invalid"):
            trainer = TrainerState(
                *(arrays[f"trainer/{name}.npy"] for name in ("params", "adam_m", "adam_v")),
                **manifest["trainer"],
            )
            if len(trainer.params) != spec.n_params:
                raise ValueError(f"it holds {len(trainer.params)} parameters, the network {spec.n_params}")
    return Session(samples, spec, config, history, trainer, manifest["view"])


@contextlib.contextmanager
def _invalid(prefix: str):
    """Turns a ValueError from building an object into a SessionError: "<prefix>: <reason>."."""
    try:
        yield
    except SessionError:
        raise
    except ValueError as e:
        raise SessionError(f"{prefix}: {e}.") from e
