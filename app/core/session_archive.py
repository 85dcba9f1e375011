"""The zip layer of session files, bounded before anything is decompressed: the end record's counts, the
entries' methods and declared sizes, and reads of bounded size (see session.py)."""

from __future__ import annotations

import heapq
import io
import struct
import zipfile

MANIFEST = "manifest.json"
MAX_ENTRY_BYTES = 2**32  # an archive entry claiming more is refused before decompressing it
# The sum of the entries' declared sizes, checked before decompressing; what is allocated follows the bytes
# really decompressed (reads of READ_BYTES; deflate expands at most ~1032-fold, bzip2 and LZMA are refused).
MAX_TOTAL_BYTES = 2**32
MAX_MANIFEST_BYTES = 16 * 2**20  # a manifest is a few kB; its data-change list can reach a few MB
MAX_ENTRIES = 64  # a session has 12 at most; a few more are named as unexpected
MAX_DIRECTORY_BYTES = 2**16  # the zip's central directory: ~1 kB for a session
READ_BYTES = 2**20  # one read of an entry decompresses at most this much
COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}  # read: stored and deflated only
LISTED_NAMES, NAME_CHARS = 5, 60  # names listed in a message, characters shown of each
DAMAGED = "The file is damaged (truncated or not an Unboxed session)."


class SessionError(ValueError):
    """A session file that cannot be opened; the message says why, in words for the user."""


def check_directory(data: bytes) -> None:
    """Refuses an archive whose end record declares more entries or a larger central directory than a
    session has, before zipfile reads that directory. The record is found where zipfile looks for it: the
    last 22 bytes, else the last signature within a comment's reach; zip64's right before it."""
    end = len(data) - 22
    if end < 0 or data[end : end + 4] != b"PK\x05\x06" or data[-2:] != b"\0\0":
        end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 2**16))
    if end < 0 or end + 22 > len(data):
        raise SessionError(DAMAGED)
    count, size = struct.unpack_from("<HL", data, end + 10)
    zip64 = end - 76  # its record (56 bytes) and locator (20 bytes) lie right before the end record
    if zip64 >= 0 and data[zip64 : zip64 + 4] + data[end - 20 : end - 16] == b"PK\x06\x06PK\x06\x07":
        count, size = struct.unpack_from("<QQ", data, zip64 + 32)
    if count > MAX_ENTRIES or size > MAX_DIRECTORY_BYTES:
        raise SessionError(f"The file lists {count:,} entries in {size:,} bytes, too many for a session.")


def check_entries(infos: list[zipfile.ZipInfo]) -> None:
    """Compression methods and declared sizes, before anything is decompressed."""
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            method = COMPRESSION_NAMES.get(info.compress_type, "another method")
            raise SessionError(
                f"The file holds {listed([info.filename])} compressed with {method}: Unboxed reads stored "
                "and deflated entries only (the ones it writes)."
            )
        limit = MAX_MANIFEST_BYTES if info.filename == MANIFEST else MAX_ENTRY_BYTES
        if info.file_size > limit:
            raise SessionError(
                f"The file's entry {listed([info.filename])} is too large for an Unboxed session "
                f"({info.file_size:,} bytes uncompressed, at most {limit:,})."
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise SessionError(
            f"The file's entries are too large for an Unboxed session ({total:,} bytes uncompressed, "
            f"at most {MAX_TOTAL_BYTES:,})."
        )


def listed(names, empty: str = "none") -> str:
    """At most LISTED_NAMES of `names` (the first in order), each cut to NAME_CHARS characters, for a
    message: a hostile file can hold thousands of long names."""
    names = list(names)
    first = heapq.nsmallest(LISTED_NAMES, map(str, names))
    shown = [name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 3] + "..." for name in first]
    more = f" and {len(names) - len(shown):,} more" if len(names) > len(shown) else ""
    return f"{shown}{more}" if names else empty


def read_into(buffer: bytearray, stream: io.BufferedIOBase, size: int) -> bytearray:
    """`buffer` with the next `size` bytes of the open entry `stream` appended, in reads of at most
    READ_BYTES each (one read(-1) would decompress up to 2 GiB before cutting the output to the declared
    size); an entry that ends first is damaged."""
    end = len(buffer) + size
    while len(buffer) < end:
        chunk = stream.read(min(READ_BYTES, end - len(buffer)))
        if not chunk:
            raise SessionError(DAMAGED)
        buffer += chunk
    return buffer
