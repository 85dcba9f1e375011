"""Session files as bytes, taken apart and put back together with one part changed: the hostile and damaged
files of the session tests (test_session.py, test_session_limits.py)."""

import io
import json
import zipfile

import numpy as np

from app.core.session import MANIFEST


def read_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


def load_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def with_manifest(data: bytes, edit) -> bytes:
    """The file with its manifest changed in place by `edit(manifest)`."""
    entries = read_entries(data)
    manifest = json.loads(entries[MANIFEST])
    edit(manifest)
    entries[MANIFEST] = json.dumps(manifest).encode()
    return zip_bytes(entries)


def with_array(data: bytes, name: str, edit) -> bytes:
    """The file with array entry `name` replaced by `edit(array)`."""
    entries = read_entries(data)
    entries[name] = npy(edit(load_npy(entries[name])))
    return zip_bytes(entries)
