"""The headless command line: files out, exit codes, one-line errors. Some tests run it as a user would, a
real process; the others call the same entry point (app.cli.main) in this process, which spares the seconds
a new process takes to load torch and Qt."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=120):
    """main.py in a new process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip


def test_export_png_and_data(tmp_path):
    png, npz = tmp_path / "w.png", tmp_path / "w.npz"
    result = run("--preset", "xor", "--layers", "4,3", "--epochs", "40", "--seed", "3",
                 "--export", str(png), "--export-data", str(npz))  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = QImage(str(png))
    assert image.width() > 800 and image.height() > 500
    data = np.load(npz)
    assert data["points"].shape == (160, 2) and data["labels"].shape == (160,)
    assert data["layers.0.weight"].shape == (41, 4, 2)
    assert data["layers.0.bias"].shape == (41, 4)
    assert data["layers.1.weight"].shape == (41, 3, 4)
    assert data["layers.2.weight"].shape == (41, 1, 3)
    assert data["loss"].shape == data["accuracy"].shape == data["test_loss"].shape == (41,)
    assert np.isnan(data["test_loss"]).all()
    assert data["loss"][-1] < data["loss"][0]
    assert data["influence/layer1"].shape == (160, 4) and data["influence/layer2"].shape == (160, 3)
    assert int(data["influence_epoch"]) == 40 and (data["influence/layer1"] >= 0).all()


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--preset", "nonsense"], "unknown preset"),
        (["--layers", "4,x"], "whole numbers"),
        (["--layers", "4,100"], "1 to 64"),
        (["--activation", "swish"], "unknown activation"),
        (["--export", "/no/such/folder/out.png"], "does not exist"),
        (["--export-data", "/no/such/folder/out.npz"], "does not exist"),
        (["--epochs", "-3"], "--epochs must be between 0"),
        (["--epochs", "5", "--epoch", "6"], "outside the trained epochs"),
        (["--zoom", "0"], "outside 0.001 to 10000"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, phrase):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert phrase in lines[0]


def test_export_at_an_earlier_epoch(tmp_path, run_here):
    png = tmp_path / "early.png"
    result = run_here("--epochs", "30", "--epoch", "7", "--export", str(png))
    assert result.returncode == 0, result.stderr
    assert QImage(str(png)).width() > 800


def test_export_zoomed_out(tmp_path, run_here):
    png = tmp_path / "far.png"
    result = run_here("--epochs", "30", "--zoom", "100", "--export", str(png))
    assert result.returncode == 0, result.stderr
    assert QImage(str(png)).width() > 800


def test_saved_session_reproduces_the_same_picture(tmp_path):
    """Two new processes, as a user saves a session and opens it later (a picture drawn in the test's own
    process differed from a new process's by a few grey levels in the background's gradients)."""
    session, a, b = tmp_path / "s.unboxed", tmp_path / "a.png", tmp_path / "b.png"
    made = run("--preset", "xor", "--epochs", "200", "--save", str(session), "--export", str(b))
    assert made.returncode == 0, made.stderr
    assert run(str(session), "--export", str(a)).returncode == 0
    first, second = QImage(str(a)), QImage(str(b))
    assert first.size() == second.size() and first == second


def test_a_bad_session_file_is_refused_with_one_line(tmp_path):
    bad = tmp_path / "bad.unboxed"
    bad.write_text("hello")
    result = run(str(bad), "--export", str(tmp_path / "x.png"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "damaged" in lines[0]


def test_essence_export(tmp_path, run_here):
    png, npz = tmp_path / "e.png", tmp_path / "e.npz"
    result = run_here(
        "--preset", "moons", "--epochs", "100", "--essence", "--export", str(png), "--export-data", str(npz)
    )
    assert result.returncode == 0, result.stderr
    data = np.load(npz)
    assert data["essence/sample_subconcept"].shape == (200,)
    assert data["essence/differentia_w"].shape[1] == 2
    assert 0.0 <= float(data["comparison/far_agreement_models"]) <= 1.0
    assert float(data["comparison/training_accuracy_enn"]) >= 0.98  # as the authors build it: 0.985


def test_regions_export(tmp_path, run_here):
    """--regions draws the overlay; --export-data holds the exported epoch's regions over the data."""
    png, npz = tmp_path / "r.png", tmp_path / "r.npz"
    result = run_here("--preset", "xor", "--layers", "6,6", "--activation", "relu", "--epochs", "60",
                 "--regions", "--export", str(png), "--export-data", str(npz))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert QImage(str(png)).width() > 800
    data = np.load(npz)
    vertices, flat, patterns = data["regions/vertices"], data["regions/faces"], data["regions/patterns"]
    assert bool(data["regions/exact"]) and bool(data["regions/complete"])
    faces, k = [], 0
    while k < len(flat):
        faces.append(flat[k + 1 : k + 1 + flat[k]])
        k += 1 + flat[k]
    assert len(faces) == len(patterns) > 1 and patterns.shape[1] == 12
    # the network's own signs at each face's centroid are that face's pattern
    from app.core.network import NetworkSpec, pre_activations

    spec = NetworkSpec((6, 6), "relu")
    params = np.concatenate([data[name][-1].ravel() for name in
                             ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                              "layers.2.weight", "layers.2.bias")])  # fmt: skip
    centres = np.array([vertices[face].mean(axis=0) for face in faces])
    signs = np.hstack([z > 0 for z in pre_activations(spec, params, centres)[:-1]])
    assert (signs == patterns).all()
    xmin, xmax, ymin, ymax = data["regions/rect"]
    assert xmin < data["points"][:, 0].min() and xmax > data["points"][:, 0].max()


# --- hostile arguments (issue #19): no file lost, one line and exit 2, never a traceback or an abort --------
@pytest.fixture
def saved_session(tmp_path, run_here):
    session = tmp_path / "s.unboxed"
    assert run_here("--epochs", "5", "--save", str(session)).returncode == 0
    return session


@pytest.mark.parametrize(
    "outputs",
    [
        ["--export", "{session}"],  # emptied the session (0 bytes, exit 134)
        ["--export-data", "{session}"],  # replaced it with an npz
        ["--save", "{session}"],  # the input, written over
        ["--export", "{notes}"],  # emptied notes.txt
        ["--save", "{csv}"],  # replaced the CSV with a zip
        ["--export-data", "{csv}"],
        ["--export", "{folder}"],  # a folder: exit 134 once the window existed
        ["--export", ""],  # said "cannot write : permission denied"
        ["--export-data", "{tmp}/same.npz", "--save", "{tmp}/same.npz"],
    ],
)
def test_an_output_that_would_destroy_a_file_is_refused_and_nothing_changes(tmp_path, run_here, saved_session,
                                                                           outputs):  # fmt: skip
    notes, csv, folder = tmp_path / "notes.txt", tmp_path / "x.csv", tmp_path / "pictures.png"
    notes.write_text("my notes\n")
    csv.write_text("0,0,0\n1,1,1\n0,1,0\n1,0,1\n")
    folder.mkdir()
    before = {path: path.read_bytes() for path in (saved_session, notes, csv)}
    names = {"session": saved_session, "notes": notes, "csv": csv, "folder": folder, "tmp": tmp_path}
    inputs = [str(saved_session)] if "{session}" in " ".join(outputs) else ["--data", str(csv)]
    result = run_here(*inputs, *(arg.format(**names) for arg in outputs))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in before} == before
    assert not (tmp_path / "same.npz").exists()


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--seed", "-5"], "--seed must be a whole number from 0"),  # numpy ValueError
        (["--seed", "3000000000"], "--seed must be a whole number from 0"),  # OverflowError
        (["--epoch", "-1"], "must not be negative"),  # exported epoch 0
        (["--layers", "４,４"], "whole numbers"),  # full-width digits were accepted
        (["--epochs", "99999999999"], "--epochs must be between 0"),
        (["--seed", "４"], "not a whole number"),  # int() takes full-width digits
        (["--epochs", "9" * 5000], "'99999999999999999999…' is not a whole number"),  # a 5,040-character line
    ],
)
def test_more_bad_arguments_give_one_line_and_exit_2(run_here, args, phrase):
    result = run_here(*args, "--export-data", "/tmp/never-written-by-this-test.npz")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"unboxed: error: {result.stderr.split('error: ')[1].strip()}"
    ]
    assert phrase in result.stderr
    assert not Path("/tmp/never-written-by-this-test.npz").exists()


def test_a_failure_after_the_window_exists_exits_2_not_134(tmp_path):
    """A run that failed once the window existed left its threads to Qt: "QThread: Destroyed while thread is
    still running", SIGABRT. A real process, so that an abort shows as one."""
    csv = tmp_path / "red.csv"
    csv.write_text("0,0,0\n1,1,0\n0.5,0.2,0\n")
    result = run("--data", str(csv), "--epochs", "10", "--export-data", str(tmp_path / "out.npz"))
    assert result.returncode == 2, result.stderr
    assert "both classes" in result.stderr and "QThread" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_training_stops_writes_nothing_and_exits_130(tmp_path, run_here, monkeypatch):
    import app.ui.app as module

    def interrupted(window, epochs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "train_synchronously", interrupted)
    out = tmp_path / "out.unboxed"
    result = run_here("--epochs", "100000", "--save", str(out))
    assert result.returncode == 130
    assert result.stderr.strip().splitlines() == [
        "unboxed: interrupted (a file is written whole or not at all)"
    ]
    assert list(tmp_path.iterdir()) == []
