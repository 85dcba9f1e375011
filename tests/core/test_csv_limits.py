"""CSV files a hostile or unlucky user opens (issue 19): coordinates beyond the limit, endless lines, more
samples than the program takes, memory near the samples' own size, progress and cancel, UTF-16 and other
encodings, semicolons and tabs, unclosed quotes, mixed labels, line ends; and write_csv's safe writing.

The constants are read through the module (dataset.X), so that each test fails on its own where they are
missing."""

import codecs
import os
import threading
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

import app.core.csv_io as dataset  # the CSV limits live there (monkeypatched below)
from app.core.dataset import BLUE, RED, CsvError, make_preset, read_csv, write_csv
from app.core.output_file import OutputRefused


def write(tmp_path, data: str | bytes, name: str = "samples.csv"):
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, newline="")
    else:
        path.write_bytes(data)
    return path


# --- coordinates (defect 3) -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e307", "-1.7976931348623157e308", "1e16", "1000000000000001"])
def test_coordinates_beyond_the_limit_are_refused_naming_the_line(tmp_path, value):
    """Finite values near 1e305-1e307 crashed the command line and, in the window, replaced the samples
    before failing."""
    path = write(tmp_path, f"x,y,label\n0,0,red\n1,{value},blue\n2,2,red\n")
    with pytest.raises(
        CsvError, match=rf"^line 3: coordinates must lie within ±1e\+15, found '1', '{value}'$"
    ):
        read_csv(path)


def test_coordinates_at_the_limit_are_read(tmp_path):
    path = write(tmp_path, "1e15,-1000000000000000,red\n0,0,blue\n")
    assert read_csv(path).points.tolist() == [[dataset.MAX_COORDINATE, -dataset.MAX_COORDINATE], [0.0, 0.0]]


# --- size: long lines, many samples, memory, progress (defect 9) ----------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_an_endless_line_is_refused_after_reading_a_bounded_amount(tmp_path):
    """One 1 GB line used 7.4 GB before it was refused. A pipe whose second line never ends shows how much
    is read: the writer stops (broken pipe) soon after the reader gives up, far below its 64 MiB."""
    path = tmp_path / "endless.csv"
    os.mkfifo(path)
    written = []

    def feed():
        total = 0
        try:
            with open(path, "wb") as pipe:
                pipe.write(b"x,y,label\n")
                while total < 64 * 2**20:
                    pipe.write(b"1" * 65536)
                    total += 65536
        except BrokenPipeError:
            pass
        written.append(total)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with pytest.raises(CsvError, match="^line 2: longer than 65,536 characters$"):
            read_csv(path)
    finally:
        writer.join(30)
    assert written and written[0] < 2**20


def test_a_long_line_is_named_in_a_file(tmp_path):
    short = "".join(f"{i},{i},red\n" for i in range(20_000))  # the long line starts in a later block
    path = write(tmp_path, short + "1," + "2" * 70_000 + ",blue\n0,0,blue\n")
    with pytest.raises(CsvError, match="^line 20001: longer than 65,536 characters$"):
        read_csv(path)
    assert dataset.MAX_LINE_CHARS < 131_072  # the csv module's field limit would speak first


def test_more_samples_than_the_cap_are_refused_naming_the_line(tmp_path, monkeypatch):
    """Ten million rows took 67 s and 4.7 GB; now the file is refused at the first sample too many."""
    assert dataset.MAX_SAMPLES >= 50_000  # the soak's extremes section trains on 50,000
    monkeypatch.setattr(dataset, "MAX_SAMPLES", 1000)
    rows = "0,0,red\n1,1,blue\n" * 500
    assert read_csv(write(tmp_path, "x,y,label\n" + rows)).n == 1000
    path = write(tmp_path, "x,y,label\n" + rows + "\n2,2,red\n3,3,blue\n")
    for block in (dataset.BLOCK_BYTES, 100):  # the count carries across blocks
        monkeypatch.setattr(dataset, "BLOCK_BYTES", block)
        with pytest.raises(CsvError, match="^line 1003: more than 1,000 samples"):
            read_csv(path)


def test_memory_stays_near_the_samples_own_size(tmp_path):
    """The import held 7-22 times the file: a Python tuple per row, the whole text twice. Now the peak is
    the arrays (24 bytes a sample: a copy or two) and one block. Before: 11.8 times the arrays here."""
    n = 30_000
    path = write(tmp_path, "".join(f"{i % 7},{i % 5},{'red' if i % 2 else 'blue'}\n" for i in range(n)))
    tracemalloc.start()
    try:
        samples = read_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    arrays = samples.points.nbytes + samples.labels.nbytes
    assert samples.n == n and arrays == 24 * n
    assert peak < 3 * arrays + 1.5 * 2**20


def test_progress_is_reported_and_returning_false_cancels(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset, "BLOCK_BYTES", 1024)
    path = write(tmp_path, "x,y,label\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(2000)))
    fractions = []
    assert read_csv(path, progress=lambda fraction: fractions.append(fraction) or True).n == 2000
    assert len(fractions) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0
    asked = []

    def cancel_at_half(fraction: float) -> bool:
        asked.append(fraction)
        return fraction < 0.5

    with pytest.raises(dataset.CsvCancelled, match="cancelled"):
        read_csv(path, progress=cancel_at_half)
    assert asked[-1] >= 0.5 and len(asked) < len(fractions)
    assert issubclass(dataset.CsvCancelled, CsvError)  # callers that only know CsvError still catch it


# --- encodings, separators, quotes, labels, line ends (defect 11) ---------------------------------------

TEXT = "x,y,label\n0.5,-1,red\n2,3e-3,blue\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-16"),  # with a BOM, as Windows programs write "Unicode text"
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-16-le"),  # without a BOM: every other byte is NUL
        TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
        codecs.BOM_UTF8 + TEXT.encode(),
    ],
    ids=["utf-16 bom", "utf-16-be bom", "utf-16-le", "utf-16-be", "utf-32 bom", "utf-8 bom"],
)
def test_utf16_and_other_unicode_files_are_read(tmp_path, monkeypatch, data):
    """A UTF-16 file was called "not text (a NUL byte)"."""
    path = write(tmp_path, data)
    for block in (dataset.BLOCK_BYTES, 7):  # characters split across blocks too
        monkeypatch.setattr(dataset, "BLOCK_BYTES", block)
        samples = read_csv(path)
        assert samples.points.tolist() == [[0.5, -1.0], [2.0, 0.003]]
        assert samples.labels.tolist() == [RED, BLUE]


def test_text_that_is_not_text_is_named_with_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset, "BLOCK_BYTES", 256)  # the lines are counted across blocks
    rows = "".join(f"{i},{i},red\n" for i in range(700))
    with pytest.raises(CsvError, match="^line 701: not text"):
        read_csv(write(tmp_path, rows.encode() + b"1,\x00,blue\n"))
    with pytest.raises(CsvError, match="^line 701: not UTF-8 text"):
        read_csv(write(tmp_path, rows.encode() + "1,1,bl\xe9\n".encode("latin-1")))
    broken = codecs.BOM_UTF16_LE + rows.encode("utf-16-le") + b"\x00\xd8" + "1,1,blue\n".encode("utf-16-le")
    with pytest.raises(CsvError, match="^line 701: not UTF-16 text"):
        read_csv(write(tmp_path, broken))


@pytest.mark.parametrize(
    "text",
    [
        "x;y;label\n0.5;1;red\n2;-1.25;blue\n",
        "x\ty\tlabel\n0.5\t1\tred\n2\t-1.25\tblue\n",
        "0.5;1;red\n2;-1.25;blue\n",
        "x;y;label\n0,5;1;red\n2;-1,25;blue\n",  # decimal commas, as spreadsheets write with semicolons
        '"x";"y";"label"\n"0.5";1;"red"\n2;-1.25;blue\n',
    ],
)
def test_semicolon_and_tab_separated_files_are_read(tmp_path, text):
    """A semicolon file said "expected 3 columns, found 1" with no hint."""
    samples = read_csv(write(tmp_path, text))
    assert samples.points.tolist() == [[0.5, 1.0], [2.0, -1.25]] and samples.labels.tolist() == [RED, BLUE]


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [("1;2;3;4\n", 1, ";"), ("1\t2\t3\t4\n", 1, "\\t"), ("0,0,red\n1;1;blue\n", 2, ";")],
)
def test_an_unexpected_separator_is_named(tmp_path, text, line, hint):
    expected = f"line {line}: expected 3 columns (x, y, label) separated by commas, found 1: "
    expected += f"is the file separated by '{hint}'?"
    with pytest.raises(CsvError) as error:
        read_csv(write(tmp_path, text))
    assert str(error.value) == expected


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('x,y,label\n0,0,red\n1,1,"blue\n2,2,red\n3,3,blue\n', 3),  # swallowed the rest of the file
        ('0,0,red\n1,1,"blue\n', 2),
        ('0,0,red\n"1,1,blue\n2,2,red"\n3,3,blue\n', 2),  # closed two lines later: still refused
    ],
)
def test_an_unclosed_quote_is_refused_at_the_line_where_it_opens(tmp_path, monkeypatch, text, line):
    """An unterminated quote swallowed the file and ended as "Training needs both classes"."""
    path = write(tmp_path, text)
    for block in (dataset.BLOCK_BYTES, 16):  # within a block, and running past its end
        monkeypatch.setattr(dataset, "BLOCK_BYTES", block)
        with pytest.raises(CsvError, match=f"^line {line}: a quote opened on this line is not closed on it$"):
            read_csv(path)


def test_quoted_fields_that_end_on_their_line_are_read(tmp_path):
    samples = read_csv(write(tmp_path, '"x","y","label"\n"1",2,"a, b"\n3,"4","c ""d"""\n'))
    assert samples.points.tolist() == [[1.0, 2.0], [3.0, 4.0]] and samples.labels.tolist() == [RED, BLUE]


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("0,0,red\n1,1,1\n", [RED, BLUE]),  # {red, 1} made red blue: "1" sorts before "red"
        ("0,0,1\n1,1,red\n", [BLUE, RED]),
        ("0,0,Blue\n1,1,0\n", [BLUE, RED]),
        ("0,0,dog\n1,1,red\n", [BLUE, RED]),
        ("0,0,1\n1,1,2\n", [BLUE, RED]),  # 1 always means blue
        ("0,0,10\n1,1,9\n", [BLUE, RED]),  # other numbers are sorted by value
        ("0,0,cat\n1,1,Cat\n", [BLUE, RED]),  # other names are sorted as text (upper case first)
    ],
)
def test_mixed_labels_keep_their_meaning(tmp_path, text, labels):
    assert read_csv(write(tmp_path, text)).labels.tolist() == labels


@pytest.mark.parametrize("end", ["\r\n", "\r", "\n"])
def test_line_ends_of_every_kind_are_read(tmp_path, monkeypatch, end):
    path = write(tmp_path, end.join(["x,y,label", "0,1,red", "", "  ", "2,3,blue"]))  # none after the last
    for block in (dataset.BLOCK_BYTES, 10, 3):  # \r\n split across blocks, \r at a block's end
        monkeypatch.setattr(dataset, "BLOCK_BYTES", block)
        samples = read_csv(path)
        assert samples.points.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        assert samples.labels.tolist() == [RED, BLUE]
    with pytest.raises(CsvError, match="^line 4: x and y must be numbers"):
        read_csv(write(tmp_path, end.join(["x,y,label", "0,1,red", "", "a,3,blue"])))


# --- write_csv ----------------------------------------------------------------------------------------------


def test_write_csv_refuses_an_input_or_a_folder_and_a_failed_write_keeps_the_old_file(tmp_path):
    samples = make_preset("xor")
    session = write(tmp_path, b"precious", "s.unboxed")
    with pytest.raises(OutputRefused, match="also an input"):
        write_csv(samples, session, inputs=[session])
    assert session.read_bytes() == b"precious"
    with pytest.raises(OutputRefused, match="folder"):
        write_csv(samples, tmp_path)
    target = tmp_path / "out.csv"
    write_csv(samples, target)
    before = target.read_bytes()
    broken = SimpleNamespace(points=np.zeros((3, 2)), labels=np.zeros(2, dtype=int),  # fails mid-write
                             class_names=("red", "blue"), classes=2)  # fmt: skip
    with pytest.raises(ValueError):
        write_csv(broken, target)
    assert target.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv", "s.unboxed"]
