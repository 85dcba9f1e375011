"""Every file the program writes goes through here: the path is checked first (a name, not a folder, the
suffix of the format written, not one of the program's inputs), then the bytes go to a temporary file beside
it that is renamed over the target, so a failed or killed write leaves the previous file or none, never a
torn one. Temporary files that a killed write left behind are removed at the next write in that folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

Paths = Iterable[str | os.PathLike[str] | None]  # input files, as given (None: not given)
TEMP_PREFIX = ".unboxed-"  # temporary files of ours: .unboxed-XXXXXXXX.tmp beside the target
TEMP_SUFFIX = ".tmp"
STALE_SECONDS = 3600.0  # a temporary file of ours this old is left from a killed write (none takes an hour)


class OutputRefused(OSError):
    """An output path refused before anything is written; its message says why in a few words."""


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file (the same inode where both exist; else the same resolved path)."""
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return Path(a).resolve() == Path(b).resolve()


def check_output(path: str | os.PathLike[str] | None, suffixes: Iterable[str] = (),
                 inputs: Paths = ()) -> Path:  # fmt: skip
    """The output path if it may be written: raises OutputRefused when it is empty, a folder, in a folder that
    does not exist, lacks one of `suffixes` (lower-case, with the dot), or is one of `inputs`."""
    if path is None or not str(path).strip():
        raise OutputRefused("no file name was given")
    target = Path(path)
    if target.is_symlink():  # the file the link names is written, and the link stays
        target = target.resolve()
    if target.is_dir():
        raise OutputRefused(f"{target} is a folder, not a file")
    if target.exists() and not target.is_file():
        raise OutputRefused(f"{target} is not a regular file")
    suffixes = tuple(suffixes)
    if suffixes and target.suffix.lower() not in suffixes:
        raise OutputRefused(
            f"the file name {target.name} must end in {' or '.join(suffixes)} for this format"
        )
    folder = target.absolute().parent
    if not folder.is_dir():
        raise OutputRefused(f"the folder {folder} does not exist")
    for source in inputs:
        if source is not None and str(source) and same_file(target, source):
            raise OutputRefused(f"{target.name} is also an input: writing it would destroy it")
    return target


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], None],
                     suffixes: Iterable[str] = (), inputs: Paths = ()) -> None:  # fmt: skip
    """Checks `path` (check_output), then calls `write(file)` on a temporary file beside it and renames that
    over `path` once complete and synced. Raises OutputRefused before writing anything, OSError when the file
    cannot be written (the previous file, if any, stays as it was), and whatever `write` raises (then too the
    previous file stays). The new file gets the old one's permissions, else the usual ones for a new file."""
    target = check_output(path, suffixes, inputs)
    folder = str(target.absolute().parent)
    remove_stale_temporaries(folder)
    mode = _file_mode(target)
    temporary = tempfile.NamedTemporaryFile(delete=False, dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with temporary:
            write(temporary)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.chmod(temporary.name, mode)
        os.replace(temporary.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary.name)
        raise
    _sync_folder(folder)


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes, suffixes: Iterable[str] = (),
                           inputs: Paths = ()) -> None:  # fmt: skip
    write_atomically(path, lambda file: file.write(data), suffixes, inputs)


def remove_stale_temporaries(folder: str | os.PathLike[str], older_than: float = STALE_SECONDS) -> list[Path]:
    """Removes temporary files of ours in `folder` that a killed write left (older than `older_than`
    seconds: a write under way elsewhere is younger); returns them. Errors are ignored: it only tidies."""
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for candidate in Path(folder).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if candidate.is_file() and now - candidate.stat().st_mtime > older_than:
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def _file_mode(path: Path) -> int:
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
