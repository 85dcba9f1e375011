"""The one way files are written: checked first, then written whole beside the target and renamed, so that a
refused, failing or killed write never damages what was there."""

import os
import stat
import time

import pytest

from app.core.output_file import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    OutputRefused,
    check_output,
    remove_stale_temporaries,
    write_atomically,
    write_bytes_atomically,
)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_writes_the_whole_file_and_keeps_the_old_permissions(tmp_path):
    target = tmp_path / "out.png"
    write_bytes_atomically(target, b"first", (".png",))
    os.chmod(target, 0o640)
    write_bytes_atomically(target, b"second", (".png",))
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_failing_format_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.npz"
    target.write_bytes(b"previous")

    def failing(file):
        file.write(b"half of it")
        raise ValueError("the encoder failed")

    with pytest.raises(ValueError, match="encoder"):
        write_atomically(target, failing, (".npz",))
    assert target.read_bytes() == b"previous" and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "name, suffixes, reason",
    [
        ("", (), "no file name"),
        ("   ", (), "no file name"),
        ("notes.txt", (".png",), "must end in .png"),
        ("session.unboxed", (".npz",), "must end in .npz"),
    ],
)
def test_paths_refused_before_anything_is_written(tmp_path, name, suffixes, reason):
    path = str(tmp_path / name) if name.strip() else name
    if name.strip():
        (tmp_path / name).write_bytes(b"keep me")
    with pytest.raises(OutputRefused, match=reason):
        write_bytes_atomically(path, b"new", suffixes)
    if name.strip():
        assert (tmp_path / name).read_bytes() == b"keep me"
    assert leftovers(tmp_path) == []


def test_a_folder_a_missing_folder_and_a_device_are_refused(tmp_path):
    (tmp_path / "pictures.png").mkdir()
    with pytest.raises(OutputRefused, match="is a folder"):
        write_bytes_atomically(tmp_path / "pictures.png", b"x", (".png",))
    with pytest.raises(OutputRefused, match="does not exist"):
        write_bytes_atomically(tmp_path / "missing" / "a.png", b"x", (".png",))
    with pytest.raises(OutputRefused, match="not a regular file"):
        check_output("/dev/null")


def test_an_input_is_never_an_output(tmp_path):
    source = tmp_path / "data.csv"
    source.write_text("0,0,0\n")
    with pytest.raises(OutputRefused, match="also an input"):
        write_bytes_atomically(source, b"zip", inputs=(None, str(source)))
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    with pytest.raises(OutputRefused, match="also an input"):  # the same file by another name
        check_output(link, (".csv",), (source,))
    assert source.read_text() == "0,0,0\n"


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    write_bytes_atomically(link, b"new", (".png",))
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_a_read_only_folder_raises_and_changes_nothing(tmp_path, monkeypatch):
    """As root (CI), chmod does not stop writes: the folder's refusal is what creating a file there raises."""
    import app.core.output_file as module

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    target = tmp_path / "out.png"
    target.write_bytes(b"previous")
    monkeypatch.setattr(module.tempfile, "NamedTemporaryFile", refused)
    with pytest.raises(PermissionError):
        write_bytes_atomically(target, b"new", (".png",))
    assert target.read_bytes() == b"previous"


def test_a_rename_that_fails_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    import app.core.output_file as module

    def full(*args):
        raise OSError(28, "No space left on device")

    target = tmp_path / "out.gif"
    target.write_bytes(b"previous")
    monkeypatch.setattr(module.os, "replace", full)
    with pytest.raises(OSError, match="No space"):
        write_bytes_atomically(target, b"new", (".gif",))
    assert target.read_bytes() == b"previous" and leftovers(tmp_path) == []


def test_temporaries_left_by_a_killed_write_go_at_the_next_write(tmp_path):
    stale = tmp_path / f"{TEMP_PREFIX}killed{TEMP_SUFFIX}"
    fresh = tmp_path / f"{TEMP_PREFIX}underway{TEMP_SUFFIX}"
    other = tmp_path / ".unrelated.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"x" * 1000)
    hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (hours_ago, hours_ago))
    write_bytes_atomically(tmp_path / "out.png", b"picture", (".png",))
    assert not stale.exists() and fresh.exists() and other.exists()  # only ours, and only old ones
    assert remove_stale_temporaries(tmp_path, older_than=-1) == [fresh]
