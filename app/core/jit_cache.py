"""Where numba keeps the compiled engine between runs.

numba's on-disk cache notices edits to a compiled function's own file only, but the engine's loops inline
helpers and constants from other files (exact_math's exp, engine_ops' activations, network's LEAKY_SLOPE):
an update that changed only one of those would go on running the old machine code. So the cache lives in a
folder named by a digest of every file the compiled code is made of; an edit to any of them starts an empty
one, and the folders of older digests (and what numba kept beside the sources before) are removed. A
NUMBA_CACHE_DIR set by the user is left alone."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

CORE = Path(__file__).resolve().parent
COMPILED_SOURCES = ("exact_math.py", "engine_ops.py", "engine.py", "engine_wide.py", "engine_multi.py",
                    "network.py", "regions.py", "region_polygons.py", "jit_cache.py")  # fmt: skip
PREFIX = "numba-"


def source_digest(paths: Iterable[Path]) -> str:
    """A short digest of the files' names and contents (a missing file counts as empty)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cache_folder(root: Path = CORE / "__pycache__") -> Path:
    """This code's cache folder: root/numba-<digest of COMPILED_SOURCES>."""
    return root / (PREFIX + source_digest(CORE / name for name in COMPILED_SOURCES))


def use_source_keyed_cache() -> None:
    """Points numba's cache at cache_folder() (before any cached function is compiled) and removes the
    folders of other digests; nothing when NUMBA_CACHE_DIR is set. Idempotent."""
    from numba import config

    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = cache_folder()
    if config.CACHE_DIR == str(folder):
        return
    config.CACHE_DIR = str(folder)
    for old in folder.parent.glob(PREFIX + "*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    for stale in (*folder.parent.glob("*.nbi"), *folder.parent.glob("*.nbc")):  # numba's own place, before
        stale.unlink(missing_ok=True)
