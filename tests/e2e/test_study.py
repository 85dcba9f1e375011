"""`python -m app.study`: the issue's example spec on the process pool, the Dask LocalCluster path equal to
the pool's bit for bit, and specs or clusters it cannot use refused with one line before anything runs."""

from __future__ import annotations

import pytest

from app import study
from app.core.study_table import RUNS, read_rows
from tests.core.test_study_runs import EXAMPLE  # the spec, word for word

SMALL = """
[study]
presets = ["xor", "moons"]
layers = ["4,4", "3"]
optimizer = ["adam", "sgd"]
seeds = [0, 1]
epochs = 60
"""


def test_the_example_spec_runs_on_the_process_pool(tmp_path, capsys):
    spec = tmp_path / "example.toml"
    spec.write_text(EXAMPLE, encoding="utf-8")
    assert study.main([str(spec), "--workers", "2"]) == 0
    out = tmp_path / "example-study"
    rows = read_rows(out / RUNS)
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok"}
    assert {r["preset"] for r in rows} == {"xor", "moons"} and {r["layers"] for r in rows} == {"4,4", "8"}
    for r in rows:
        assert 0.0 <= float(r["far10"]) <= 1.0 and 0.0 <= float(r["far100"]) <= 1.0 and int(r["regions"]) >= 1
        assert 0.0 < float(r["focus"]) <= 1.0 and 0.0 <= float(r["role_match"]) < 1.0 and r["error"] == ""
    assert len(read_rows(out / "summary.csv")) == 4
    assert {(r["status"], r["focus"]) for r in read_rows(out / "interpretable.csv")} == {("ok", "1.0")}
    for name in ("far10.png", "far100.png", "accuracy.png", "focus.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr()
    assert "| xor | 4,4 | tanh | adam |" in printed.out and "12/12 runs, 0 failed" in printed.err


@pytest.mark.timeout(180)
def test_the_dask_path_equals_the_pool_bit_for_bit(tmp_path):
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL, encoding="utf-8")
    pool, dask = tmp_path / "pool", tmp_path / "dask"
    assert study.main([str(spec), "--out", str(pool), "--workers", "2"]) == 0
    assert study.main([str(spec), "--out", str(dask), "--cluster", "local", "--workers", "2"]) == 0
    for name in (RUNS, "interpretable.csv", "summary.csv", "summary.md"):
        assert (dask / name).read_bytes() == (pool / name).read_bytes(), name
    assert len(read_rows(pool / RUNS)) == 16


def test_an_unreachable_cluster_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(study, "CONNECT_SECONDS", 1)
    spec = tmp_path / "s.toml"
    spec.write_text("[study]\npresets = 'xor'\nepochs = 5\n", encoding="utf-8")
    out = tmp_path / "out"
    assert study.main([str(spec), "--out", str(out), "--cluster", "tcp://127.0.0.1:9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("study: cannot reach the Dask cluster at 'tcp://127.0.0.1:9'")
    assert error.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[study]\npresets = ['xor', 'mons']\n", "study: unknown preset 'mons'; choose from clusters, xor"),
        ("[study]\npresets = 'xor'\nlearning_rate = -0.1\n", "study: the learning rate must be a positive"),
        ("[study]\npresets = []\n", "study: the grid is empty: `presets` is an empty list"),
        ("[study\n", "study: the spec is not valid TOML"),
    ],
)
def test_a_bad_spec_is_refused_with_one_line(text, message, tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(text, encoding="utf-8")
    assert study.main([str(spec), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(message) and error.count("\n") == 1
    assert not (tmp_path / "out").exists()
