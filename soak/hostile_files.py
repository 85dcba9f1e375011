"""The hostile section's raw material: small valid sessions of any network, history and data-change marks;
sessions with one manifest value or array changed; zip archives assembled by hand (any compression method,
declared sizes that lie, zip64 extras, any number of entries), compressed streams of any length made without
holding them whole; CSV text of chosen rows; and a FIFO that streams endless bytes to a reader."""

from __future__ import annotations

import bz2
import contextlib
import io
import json
import os
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.dataset import SampleSet
from app.core.history import MIN_ROWS, TrainingHistory, default_max_rows
from app.core.network import NetworkSpec
from app.core.session import MANIFEST, Session, save_session
from app.core.training import TrainConfig, TrainerState

SPEC = NetworkSpec((3, 2), "tanh")
MIB = 2**20
METHODS = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


# --- valid sessions ----------------------------------------------------------------------------------------


def session(
    spec: NetworkSpec = SPEC,
    epochs: int = 5,
    marks: Iterable[int] = (3,),
    trainer: bool = True,
    rows: str = "all",
    points: np.ndarray | None = None,
    seed: int = 1,
) -> Session:
    """A session built without training: 12 samples (or `points`, labels alternating), a history of epochs
    0..`epochs` (rows "all": one row each; "ends": epochs 0 and `epochs` only), data changes at `marks`, a
    trainer state resuming after the last epoch (optionally) and a small view."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(12, 2)) if points is None else points
    samples = SampleSet(points, np.arange(len(points)) % 2, version=2)
    epoch_rows = np.arange(epochs + 1) if rows == "all" else np.array([0, epochs])
    n = len(epoch_rows)
    arrays = {
        "epochs": epoch_rows.astype(np.int64),
        "params": rng.normal(size=(n, spec.n_params)),
        "loss": rng.uniform(0.1, 1.0, n),
        "accuracy": rng.uniform(0.0, 1.0, n),
        "test_loss": rng.uniform(0.1, 1.0, n),
        "test_accuracy": rng.uniform(0.0, 1.0, n),
    }
    history = TrainingHistory.from_arrays(
        spec, arrays, list(marks), 0, 1, max(MIN_ROWS, n, default_max_rows(spec))
    )
    state = None
    if trainer:
        rng_state = np.random.default_rng(3).bit_generator.state
        moments = rng.normal(size=spec.n_params), rng.uniform(0.0, 1.0, spec.n_params)
        state = TrainerState(arrays["params"][-1], *moments, 3 * epochs, epochs, rng_state)
    view = {"displayed_epoch": int(epoch_rows[-1]), "live": False, "view_rect": [-3.0, 3.0, -2.0, 2.0]}
    config = TrainConfig(batch_size=4, test_fraction=0.25, seed=3)
    return Session(samples, spec, config, history, state, view)


def session_bytes(folder: Path, value: Session) -> bytes:
    path = folder / "made.unboxed"
    save_session(path, value)
    data = path.read_bytes()
    path.unlink()
    return data


def entries_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_manifest(data: bytes, path: tuple, value: object) -> bytes:
    """The session with the manifest value at `path` (keys and indices) set to `value`."""
    entries = entries_of(data)
    manifest = json.loads(entries[MANIFEST])
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    entries[MANIFEST] = json.dumps(manifest).encode()
    return zipped(entries)


def with_arrays(data: bytes, arrays: dict[str, np.ndarray]) -> bytes:
    """The session with these array entries (full names, e.g. samples/points.npy) replaced."""
    entries = entries_of(data)
    for name, array in arrays.items():
        entries[name] = npy(array)
    return zipped(entries)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A .npy header declaring an array of this shape (its data not included)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


# --- zip archives by hand ----------------------------------------------------------------------------------


@dataclass
class Entry:
    """One archive entry: its compressed bytes, CRC and true uncompressed size; `declared` is the size the
    headers claim (None: the true one), `zip64` puts the sizes in a zip64 extra field."""

    name: str
    method: int
    payload: bytes
    crc: int
    size: int
    declared: int | None = None
    zip64: bool = False


def compress(method: int, parts: Iterable[bytes]) -> tuple[bytes, int, int]:
    """(compressed bytes as zipfile reads them, CRC-32, uncompressed size) of the concatenated `parts`,
    compressed as they come (gigabytes of them never exist at once)."""
    if method == zipfile.ZIP_STORED:
        compressor = None
    elif method == zipfile.ZIP_DEFLATED:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    elif method == zipfile.ZIP_BZIP2:
        compressor = bz2.BZ2Compressor(9)
    else:
        compressor = zipfile.LZMACompressor()
    out, crc, size = [], 0, 0
    for part in parts:
        crc, size = zlib.crc32(part, crc), size + len(part)
        out.append(part if compressor is None else compressor.compress(part))
    if compressor is not None:
        out.append(compressor.flush())
    return b"".join(out), crc, size


def entry(
    name: str,
    parts: Iterable[bytes],
    method: int = zipfile.ZIP_DEFLATED,
    declared: int | None = None,
    crc_of_declared: bool = False,
    zip64: bool = False,
) -> Entry:
    """An entry of the concatenated `parts`. With `declared` and `crc_of_declared`, the CRC is that of the
    first `declared` bytes only, so that a reader that stops at the declared size finds it right."""
    parts = list(parts) if crc_of_declared else parts  # (repeated() yields one block again and again)
    payload, crc, size = compress(method, parts)
    if crc_of_declared and declared is not None:
        crc = _prefix_crc(parts, declared)
    return Entry(name, method, payload, crc, size, declared, zip64)


def _prefix_crc(parts: list[bytes], n: int) -> int:
    crc = 0
    for part in parts:
        if n <= 0:
            break
        crc, n = zlib.crc32(part[:n], crc), n - len(part)
    return crc


def assemble(entries: list[Entry], count: int | None = None) -> bytes:
    """The zip archive of these entries; `count` (when given) is the entry count the end record declares.
    Zip64 end records when the count needs them."""
    local, central, offset = [], [], 0
    for item in entries:
        name = item.name.encode()
        size = item.size if item.declared is None else item.declared
        version = 63 if item.method == zipfile.ZIP_LZMA else 46 if item.method == zipfile.ZIP_BZIP2 else 20
        sizes, extra = (len(item.payload), size), b""
        if item.zip64:
            version, sizes = max(version, 45), (0xFFFFFFFF, 0xFFFFFFFF)
            extra = struct.pack("<2H2Q", 1, 16, size, len(item.payload))
        header = (
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                version,
                0,
                item.method,
                0,
                33,
                item.crc,
                *sizes,
                len(name),
                len(extra),
            )
            + name
            + extra
        )
        local.append(header + item.payload)
        central.append(
            struct.pack(
                "<4s4B4HL2L5H2L",
                b"PK\x01\x02",
                version,
                3,
                version,
                0,
                0,
                item.method,
                0,
                33,
                item.crc,
                *sizes,
                len(name),
                len(extra),
                0,
                0,
                0,
                0,
                offset,
            )
            + name
            + extra
        )
        offset += len(local[-1])
    return _with_end(b"".join(local), b"".join(central), len(entries) if count is None else count)


def _with_end(body: bytes, directory: bytes, count: int) -> bytes:
    end = b""
    if count > 0xFFFF:
        end = struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), len(body)
        )
        end += struct.pack("<4sLQL", b"PK\x06\x07", 0, len(body) + len(directory), 1)
    small = min(count, 0xFFFF)
    return (
        body
        + directory
        + end
        + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, small, small, len(directory), len(body), 0)
    )


def many_entries(n: int, count: int | None = None, name_chars: int = 0) -> bytes:
    """A zip of `n` empty stored entries (names padded to `name_chars`), built directly: zipfile takes
    seconds for 100,000."""
    names = [(b"entry-%07d-" % i).ljust(name_chars, b"x") for i in range(n)]
    local = [
        struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        for name in names
    ]
    central, offset = [], 0
    for name, header in zip(names, local, strict=True):
        central.append(
            struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, *[0] * 8, len(name), *[0] * 5, offset)
            + name
        )
        offset += len(header)
    return _with_end(b"".join(local), b"".join(central), n if count is None else count)


def repeated(byte: bytes, n: int, chunk: int = MIB) -> Iterator[bytes]:
    """`n` copies of `byte`, a chunk at a time."""
    block = byte * chunk
    for _ in range(n // chunk):
        yield block
    yield byte * (n % chunk)


# --- CSV ---------------------------------------------------------------------------------------------------


def csv_rows(rng: np.random.Generator, n: int, names: bool = True) -> list[tuple[str, str, str]]:
    """`n` rows (x, y, label) of both classes with coordinates up to 1,000 in repr precision."""
    points = rng.normal(size=(n, 2)) * 10.0 ** rng.integers(-3, 4, size=(n, 1))
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    words = ("red", "blue") if names else ("0", "1")
    return [(repr(x), repr(y), words[label]) for (x, y), label in zip(points.tolist(), labels, strict=True)]


def csv_text(
    rows: list[tuple[str, str, str]], header: bool = True, separator: str = ",", end: str = "\n"
) -> str:
    lines = ([separator.join(("x", "y", "label"))] if header else []) + [separator.join(row) for row in rows]
    return end.join(lines) + end


# --- endless input through a FIFO -------------------------------------------------------------------------


@contextlib.contextmanager
def fifo(folder: Path, chunks: Iterable[bytes]):
    """A named pipe in `folder` that a thread fills with `chunks` until they end or the reader closes it;
    yields its path and a list that receives the bytes written once the thread ends."""
    path = folder / "stream.csv"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.mkfifo(path)
    written = []

    def feed() -> None:
        total = 0
        with contextlib.suppress(BrokenPipeError, OSError), open(path, "wb", buffering=0) as pipe:
            for chunk in chunks:
                pipe.write(chunk)
                total += len(chunk)
        written.append(total)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield path, written
    finally:
        if thread.is_alive():  # the reader never opened it, or stopped without closing: open and close it
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        thread.join(10)
        path.unlink()
