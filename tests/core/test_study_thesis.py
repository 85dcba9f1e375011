"""A study's per-neuron measures (issue #26, app.core.study_runs with app.core.thesis): each run's focus,
chance focus and role match equal thesis.mlp_thesis on the same trained parameters and the interpretable
network of the run's training part, computed here independently; the interpretable network's row equals
enn_thesis; that network is built once per data set (and test fraction, and seed where something is held
out) in a process; a failure to build it or to measure leaves those cells empty and the run's other figures
and status alone; a study whose tables predate these columns resumes, rewritten with the new header; and
role_match, which measures only the lines that can be the nearest, equals measuring every pair."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from app.core import essence as essence_module
from app.core import study_runs
from app.core.essence import build_essence
from app.core.geometry import Rect
from app.core.network import split_params
from app.core.study_plots import study_plots
from app.core.study_runs import (
    ESSENCE_COLUMNS,
    RUN_COLUMNS,
    THESIS_COLUMNS,
    interpretable,
    run_alone,
    run_config,
    training_essence,
)
from app.core.study_spec import load_samples, parse_spec
from app.core.study_table import INTERPRETABLE, RUNS, SUMMARY_MD, cell, read_rows, write_rows
from app.core.thesis import data_frame, enn_thesis, line_angle, line_distance, mlp_thesis, role_match
from app.core.training import Trainer
from app.study import run_study
from tests.core.test_study_runs import SMALL as HELD_OUT  # two configurations, three seeds, 25% held out
from tests.core.test_study_runs import synchronous

ALL_SAMPLES = """
[study]
presets = ["xor", "moons"]
layers = ["4,4", "3"]
seeds = [0, 1]
epochs = 30
"""


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts and ends with no interpretable network cached in this process."""
    study_runs._built_essence.cache_clear()  # noqa: SLF001 - the cache under test
    yield
    study_runs._built_essence.cache_clear()  # noqa: SLF001


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """Counts the interpretable networks built (their sample counts), building them for real."""
    made = []

    def counted(samples, *args, **kwargs):
        made.append(samples.n)
        return build_essence(samples, *args, **kwargs)

    monkeypatch.setattr(essence_module, "build_essence", counted)
    return made


def trained_params(config, seed):
    """The last epoch's parameters of one Trainer's run, as the window trains it."""
    samples = load_samples(config.preset)
    spec = config.network(samples.classes)
    params = Trainer(spec, config.train_config(seed)).run(samples, config.epochs)[0]
    return spec, params[-1]


@pytest.mark.parametrize("text", [HELD_OUT, ALL_SAMPLES], ids=["held_out", "all_samples"])
def test_each_runs_focus_and_role_match_equal_mlp_thesis_on_its_training_part(text):
    study = parse_spec(text)
    for config in study.configs:
        rows = run_config(config, study.seeds)
        for seed, row in zip(study.seeds, rows, strict=True):
            spec, params = trained_params(config, seed)
            train = load_samples(config.preset).split(config.test_fraction, seed)[0]
            thesis = mlp_thesis(spec, params, train, build_essence(train))
            assert row["status"] == "ok" and row["error"] == ""
            assert row["focus"] == thesis.network_focus
            assert row["chance_focus"] == thesis.chance_focus
            assert row["role_match"] == thesis.role_match.median_distance
            assert 0.0 < row["chance_focus"] <= 1.0 and 0.0 < row["focus"] <= 1.0
            assert 0.0 <= row["role_match"] < 1.0
    if "test_fraction" in text:  # each seed holds out other samples: its own interpretable network
        parts = [training_essence("xor", 0.25, seed) for seed in study.seeds]
        assert len({train.points.tobytes() for train, _ in parts}) == 3
        assert len({id(enn) for _, enn in parts}) == 3


def test_a_run_of_a_study_still_equals_training_it_alone_with_the_new_columns():
    study = parse_spec(HELD_OUT)
    config = study.configs[1]
    assert run_config(config, study.seeds) == [run_alone(config, seed) for seed in study.seeds]


def test_the_interpretable_rows_focus_equals_enn_thesis():
    for preset in ("xor", "moons"):
        row = interpretable(preset)
        samples = load_samples(preset)
        thesis = enn_thesis(build_essence(samples), samples)
        assert row["status"] == "ok" and row["error"] == "" and set(row) == set(ESSENCE_COLUMNS)
        assert row["focus"] == thesis.network_focus and row["chance_focus"] == thesis.chance_focus
        assert (row["far10"], row["far100"]) == (thesis.far10, thesis.far100)
        assert row["chance_focus"] < row["focus"] <= 1.0


def test_the_interpretable_network_is_built_once_per_data_set(builds):
    study = parse_spec(ALL_SAMPLES)
    for config in study.configs:  # 2 data sets x 2 architectures x 2 seeds
        run_config(config, study.seeds)
    interpretable("xor")
    interpretable("moons")
    assert builds == [load_samples("xor").n, load_samples("moons").n]


def test_with_samples_held_out_it_is_built_once_per_seed(builds):
    study = parse_spec(HELD_OUT)
    for config in study.configs:  # 2 architectures x 3 seeds
        run_config(config, study.seeds)
    assert len(builds) == 3 and all(n < load_samples("xor").n for n in builds)
    assert training_essence("xor", 0.25, 1) is training_essence("xor", 0.25, 1)
    assert training_essence("xor", 0.0, 0) is training_essence("xor", 0, 7)  # nothing held out: no seed
    assert len(builds) == 4


def test_a_run_keeps_its_figures_when_the_interpretable_network_cannot_be_built(monkeypatch):
    calls = []

    def broken(samples, *args, **kwargs):
        calls.append(samples.n)
        raise RuntimeError("no SVM today")

    monkeypatch.setattr(essence_module, "build_essence", broken)
    study = parse_spec(ALL_SAMPLES)
    config = study.configs[0]
    rows = run_config(config, study.seeds)
    monkeypatch.undo()
    study_runs._built_essence.cache_clear()  # noqa: SLF001
    good = run_config(config, study.seeds)
    for row, reference in zip(rows, good, strict=True):
        assert row["status"] == "ok"
        assert all(row[c] == "" for c in THESIS_COLUMNS)
        assert row["error"] == (
            "no focus or role match: the interpretable network cannot be built: RuntimeError: no SVM today"
        )
        others = [c for c in RUN_COLUMNS if c not in (*THESIS_COLUMNS, "error")]
        assert [cell(row[c]) for c in others] == [cell(reference[c]) for c in others]  # NaN as NaN
        assert 0.0 <= row["far10"] <= 1.0 and row["regions"] >= 1
    assert calls == [load_samples("xor").n]  # the failure is kept: not built again for the second seed


def test_the_interpretable_row_fails_alone_when_it_cannot_be_built(monkeypatch):
    def broken(samples, *args, **kwargs):
        raise RuntimeError("no SVM today")

    monkeypatch.setattr(essence_module, "build_essence", broken)
    row = interpretable("xor")
    assert row["status"] == "failed" and row["error"] == "RuntimeError: no SVM today"
    assert row["focus"] == row["neurons"] == ""


def test_a_failing_measure_leaves_an_ok_run_ok(monkeypatch):
    def broken(*args):
        raise ValueError("lines gone astray")

    monkeypatch.setattr(study_runs, "mlp_role_match", broken)
    row = run_config(parse_spec(ALL_SAMPLES).configs[0], (0,))[0]
    assert row["status"] == "ok" and 0.0 <= row["far10"] <= 1.0 and row["regions"] >= 1
    assert all(row[c] == "" for c in THESIS_COLUMNS)
    assert row["error"] == "no focus or role match: ValueError: lines gone astray"


OLD_RUN_COLUMNS = tuple(c for c in RUN_COLUMNS if c not in THESIS_COLUMNS)
OLD_ESSENCE_COLUMNS = ("preset", "status", "neurons", "accuracy", "far10", "far100", "error")


def test_a_study_written_before_the_new_columns_resumes(tmp_path):
    """runs.csv and interpretable.csv with the old headers, the last two runs lost: the resumed study runs
    those two only, builds the interpretable network again (for its focus), and leaves tables with the new
    header that read back whole; the old runs keep their figures, their new cells empty."""
    study = parse_spec(HELD_OUT)
    reference = tmp_path / "reference"
    run_study(study, reference, synchronous()[0])
    new_rows = read_rows(reference / RUNS)
    old = tmp_path / "old"
    old.mkdir()
    write_rows(old / RUNS, OLD_RUN_COLUMNS, new_rows[:-2])
    write_rows(old / INTERPRETABLE, OLD_ESSENCE_COLUMNS, read_rows(reference / INTERPRETABLE))
    with (old / RUNS).open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == list(OLD_RUN_COLUMNS)

    executor, submitted = synchronous()
    table = run_study(study, old, executor)
    assert [name for name, _ in submitted] == ["interpretable", "run_config"]  # one worker: one task
    assert [args for _, args in submitted[1:]] == [(study.configs[1], (1, 2))]
    for name, columns in ((RUNS, RUN_COLUMNS), (INTERPRETABLE, ESSENCE_COLUMNS)):
        with (old / name).open(encoding="utf-8") as f:
            assert next(csv.reader(f)) == list(columns)
        assert all(None not in row for row in read_rows(old / name))  # no cells beyond the header
    rows = read_rows(old / RUNS)
    assert [(r["config"], r["seed"]) for r in rows] == [(r["config"], r["seed"]) for r in new_rows]
    assert rows[-2:] == new_rows[-2:]  # the runs run again: every figure, the new ones too
    for row, fresh in zip(rows[:-2], new_rows[:-2], strict=True):
        assert all(row[c] == "" for c in THESIS_COLUMNS)
        assert {c: row[c] for c in OLD_RUN_COLUMNS} == {c: fresh[c] for c in OLD_RUN_COLUMNS}
    assert read_rows(old / INTERPRETABLE) == read_rows(reference / INTERPRETABLE)
    focus = [float(r["focus"]) for r in new_rows[-2:]]
    assert table[1]["focus_mean"] == pytest.approx(sum(focus) / 2)  # over the runs that have one
    assert math.isnan(table[0]["focus_mean"]) and table[0]["train_accuracy_mean"] > 0.5
    first_row = (old / SUMMARY_MD).read_text(encoding="utf-8").splitlines()[2]
    assert first_row.endswith("| – | – |")  # configuration 0: no focus, no role match

    submitted.clear()
    assert run_study(study, old, executor) == table and submitted == []  # nothing left to run


def test_the_summary_and_plots_show_focus_and_role_match(tmp_path):
    study = parse_spec(ALL_SAMPLES)
    table = run_study(study, tmp_path, synchronous()[0])
    text = (tmp_path / SUMMARY_MD).read_text(encoding="utf-8")
    tables = [block.splitlines() for block in text.split("\n\n") if block.startswith("|")]
    assert len(tables) == 2  # the window shows the first two
    runs_head = [c.strip() for c in tables[0][0].strip("|").split("|")]
    essence_head = [c.strip() for c in tables[1][0].strip("|").split("|")]
    assert runs_head[-2:] == ["focus", "role_match"]
    assert essence_head[-2:] == ["focus", "chance_focus"]
    first = [c.strip() for c in tables[0][2].strip("|").split("|")]
    assert first[-2] == f"{table[0]['focus_mean']:.3g} ± {table[0]['focus_std']:.3g}"
    assert first[-1] == f"{table[0]['role_match_mean']:.3g} ± {table[0]['role_match_std']:.3g}"
    xor = [c.strip() for c in tables[1][2].strip("|").split("|")]
    assert xor[0] == "xor" and xor[-2:] == [
        f"{interpretable('xor')[k]:.3g}" for k in ("focus", "chance_focus")
    ]
    assert "role_match: the median" in text
    png = (tmp_path / "focus.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert study_plots(tmp_path, read_rows(tmp_path / RUNS), [])[-1] == tmp_path / "focus.png"  # no essence


def brute_force_role_match(mlp_w, mlp_b, enn_w, enn_b, rect):
    """role_match as first written: every pair of lines measured."""
    n = len(mlp_w)
    index, distance, angle = np.full(n, -1), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        d = np.array(
            [line_distance(mlp_w[i], mlp_b[i], w, b, rect) for w, b in zip(enn_w, enn_b, strict=True)]
        )
        if np.isfinite(d).any():
            k = int(np.nanargmin(d))
            index[i], distance[i], angle[i] = k, d[k], line_angle(mlp_w[i], enn_w[k])
    return index, distance, angle


@pytest.mark.parametrize("seed", range(40))
def test_role_match_measuring_only_the_candidates_equals_measuring_every_pair(seed):
    """The lower bound rules out lines without changing the result: random lines through and far from the
    frame, zero normals, NaN, and repeated interpretable lines (ties go to the lower index)."""
    rng = np.random.default_rng(seed)
    rect = Rect(-2.0, 3.0, -1.0, 1.5)
    n_mlp, n_enn = int(rng.integers(1, 9)), int(rng.integers(0, 40))
    mlp_w, enn_w = rng.normal(size=(n_mlp, 2)), rng.normal(size=(n_enn, 2))
    mlp_b, enn_b = rng.normal(size=n_mlp) * rng.choice([0.5, 3.0, 50.0], n_mlp), rng.normal(size=n_enn) * 2.0
    if n_enn > 4:
        enn_w[3], enn_b[3] = enn_w[1] * 2.0, enn_b[1] * 2.0  # line 1 again: a tie, 1 wins
        enn_w[4] = 0.0  # no line
        mlp_w[0], mlp_b[0] = enn_w[3] * -0.5, enn_b[3] * -0.5
    if n_mlp > 2:
        mlp_w[1] = 0.0
        mlp_b[2] = np.nan if seed % 2 else 1e6
    fast = role_match(mlp_w, mlp_b, enn_w, enn_b, rect)
    index, distance, angle = brute_force_role_match(mlp_w, mlp_b, enn_w, enn_b, rect)
    np.testing.assert_array_equal(fast.index, index)
    np.testing.assert_array_equal(fast.distance, distance)
    np.testing.assert_array_equal(fast.angle, angle)
    if n_enn > 4:
        assert fast.index[0] == 1 and fast.distance[0] == pytest.approx(0.0, abs=1e-12)


def test_role_match_of_a_trained_network_on_spirals_equals_measuring_every_pair():
    """132 differentia lines against 8 trained ones: the study's most expensive role match."""
    config = parse_spec("[study]\npresets = 'spirals'\nlayers = '8'\nepochs = 300\n").configs[0]
    spec, params = trained_params(config, 0)
    samples = load_samples("spirals")
    enn = training_essence("spirals", 0.0, 0)[1]
    (w, b), *_ = split_params(spec, params)
    rect = data_frame(samples)
    fast = role_match(w, b, enn.differentia_w, enn.differentia_b, rect)
    index, distance, angle = brute_force_role_match(w, b, enn.differentia_w, enn.differentia_b, rect)
    assert enn.n_differentiae > 100
    np.testing.assert_array_equal(fast.index, index)
    np.testing.assert_array_equal(fast.distance, distance)
    np.testing.assert_array_equal(fast.angle, angle)
