"""Studies (app.core.study_*): the spec's grid and its checks, each run's figures equal to training it alone,
resuming, and failed runs recorded while the study goes on; run in this process (a synchronous executor)."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest

from app.core import study_runs
from app.core.study_runs import run_alone, run_config
from app.core.study_spec import StudySpecError, parse_spec
from app.core.study_table import RUNS, read_rows
from app.study import Executor, run_study, tasks

EXAMPLE = """
[study]
presets = ["xor", "moons"]
layers = ["4,4", "8"]
activation = "tanh"
seeds = 3          # seeds 0, 1, 2 (or a list)
epochs = 300
"""

SMALL = """
[study]
presets = "xor"
layers = ["4,4", "3"]
seeds = [0, 1, 2]
epochs = 40
test_fraction = 0.25
"""


def synchronous() -> tuple[Executor, list]:
    """An executor that runs each task as it is submitted, in this process; the list records the tasks."""
    submitted = []

    def submit(fn, *args):
        submitted.append((fn.__name__, args))
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - as a pool hands it back
            future.set_exception(e)
        return future

    return Executor(submit, list, lambda: None, 1, "this process"), submitted


def runs_of(submitted: list) -> list[tuple[str, int]]:
    """(config id, seed) of the runs the submitted tasks train."""
    return [(args[0].id, seed) for name, args in submitted if name == "run_config" for seed in args[1]]


def test_the_example_spec_is_a_grid_of_four_configurations_of_three_seeds():
    study = parse_spec(EXAMPLE)
    assert study.seeds == (0, 1, 2) and study.n_runs == 12
    assert [(c.preset, c.layers, c.activation, c.epochs) for c in study.configs] == [
        ("xor", "4,4", "tanh", 300), ("xor", "8", "tanh", 300),
        ("moons", "4,4", "tanh", 300), ("moons", "8", "tanh", 300),
    ]  # fmt: skip
    assert {c.optimizer for c in study.configs} == {"adam"} and study.data_sets == ("xor", "moons")
    assert len({c.id for c in study.configs}) == 4
    assert parse_spec(EXAMPLE).configs[0].id == study.configs[0].id  # stable: resuming finds runs by it


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('presets = ["xor", "nope"]', "unknown preset 'nope'"),
        ("presets = 'xor'\nlearning_rate = [0.1, -0.5]", "the learning rate must be a positive number"),
        ("presets = 'xor'\nlayers = []", "the grid is empty: `layers` is an empty list"),
        ("presets = 'xor'\nseeds = 0", "the grid is empty: no seeds"),
        ("presets = 'xor'\nlayer = '4'", "unknown key `layer`"),
        ("presets = 'xor'\nlayers = '4,x'", "`layers` '4,x'"),
        ("presets = 'xor'\nactivation = 'swish'", "unknown activation 'swish'"),
        ("presets = 'missing.csv'", "the data file 'missing.csv' is not there"),
        ("presets = 'xor'\nepochs = 0", "`epochs` must not be below 1"),
        ("presets = 'xor'\ntest_fraction = [0.2, 1.0]", "the test fraction must be at least 0 and below 1"),
        ("layers = '4'", "the spec needs `presets`"),
    ],
)
def test_a_bad_spec_is_refused_with_its_message(line, message, tmp_path):
    with pytest.raises(StudySpecError) as caught:
        parse_spec(f"[study]\n{line}\n", tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_csv_file_is_a_data_set(tmp_path):
    (tmp_path / "four.csv").write_text("x,y,label\n0,0,0\n1,1,0\n0,1,1\n1,0,1\n", encoding="utf-8")
    study = parse_spec("[study]\npresets = ['four.csv', 'xor']\nepochs = 5\n", tmp_path)
    assert study.configs[0].preset == str(tmp_path / "four.csv")
    rows = run_config(study.configs[0], (0,))
    assert rows[0]["status"] == "ok" and rows[0]["epochs_trained"] == 5


def test_each_run_of_a_study_equals_training_it_alone():
    """2 configurations x 3 seeds, the seeds trained together: every figure equals one Trainer's run."""
    study = parse_spec(SMALL)
    for config in study.configs:
        together = run_config(config, study.seeds)
        alone = [run_alone(config, seed) for seed in study.seeds]
        assert together == alone
        assert all(row["status"] == "ok" and row["test_accuracy"] == row["test_accuracy"] for row in together)
    split = run_config(study.configs[0], (0,)) + run_config(study.configs[0], (1, 2))
    assert split == run_config(study.configs[0], study.seeds)  # the figures do not depend on the grouping


def test_a_study_resumes_where_it_stopped(tmp_path):
    study = parse_spec(SMALL)
    executor, submitted = synchronous()
    first = run_study(study, tmp_path, executor)
    assert [row["runs"] for row in first] == [3, 3]
    assert [name for name, _ in submitted].count("interpretable") == 1
    assert sorted(runs_of(submitted)) == sorted((c.id, s) for c in study.configs for s in (0, 1, 2))
    rows = read_rows(tmp_path / RUNS)
    grid = [(c.id, str(s)) for c in study.configs for s in (0, 1, 2)]
    assert [(r["config"], r["seed"]) for r in rows] == grid
    for name in ("summary.csv", "summary.md", "interpretable.csv", "far10.png", "far100.png", "accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0
    submitted.clear()
    assert run_study(study, tmp_path, executor) == first and submitted == []  # nothing left to run
    text = (tmp_path / RUNS).read_text(encoding="utf-8").splitlines()
    (tmp_path / RUNS).write_text("\n".join(text[:-2]) + "\n", encoding="utf-8")  # the last two runs lost
    assert run_study(study, tmp_path, executor) == first
    assert runs_of(submitted) == [(study.configs[1].id, 1), (study.configs[1].id, 2)]
    assert (tmp_path / RUNS).read_text(encoding="utf-8").splitlines() == text


def test_a_crashed_run_is_recorded_as_failed_and_the_study_goes_on(tmp_path, monkeypatch):
    study = parse_spec(SMALL)
    real = study_runs.train_many

    def crash_on_three(spec, configs, samples, n_epochs):
        if spec.widths == (3,):
            raise RuntimeError("out of luck")
        return real(spec, configs, samples, n_epochs)

    monkeypatch.setattr(study_runs, "train_many", crash_on_three)
    table = run_study(study, tmp_path, synchronous()[0])
    assert [(row["runs"], row["failed"]) for row in table] == [(3, 0), (3, 3)]
    failed = [r for r in read_rows(tmp_path / RUNS) if r["status"] == "failed"]
    assert len(failed) == 3 and all(r["error"] == "RuntimeError: out of luck" for r in failed)
    monkeypatch.setattr(study_runs, "train_many", real)
    executor, submitted = synchronous()
    table = run_study(study, tmp_path, executor)  # resuming runs the failed runs again
    assert [(row["runs"], row["failed"]) for row in table] == [(3, 0), (3, 0)]
    assert runs_of(submitted) == [(study.configs[1].id, s) for s in (0, 1, 2)]


def test_tasks_keep_every_worker_busy():
    study = parse_spec("[study]\npresets = 'xor'\nseeds = 40\nepochs = 5\n")
    assert [len(seeds) for _, seeds in tasks(study, set(), 1)] == [14, 14, 12]  # 3 rounds of <= 16
    assert [len(seeds) for _, seeds in tasks(study, set(), 2)] == [10] * 4  # 2 rounds, 2 workers busy
    assert [len(seeds) for _, seeds in tasks(study, set(), 3)] == [14, 14, 12]  # 1 round
    assert [len(seeds) for _, seeds in tasks(study, set(), 100)] == [1] * 40
    assert len(tasks(parse_spec("[study]\npresets = 'xor'\nseeds = 1000\n"), set(), 1)) == 63  # 16 at most
    assert tasks(study, {(study.configs[0].id, s) for s in range(40)}, 2) == []


def test_the_spec_reads_from_a_file(tmp_path):
    path = Path(tmp_path / "s.toml")
    path.write_text(EXAMPLE, encoding="utf-8")
    from app.core.study_spec import read_spec

    assert read_spec(path).n_runs == 12
    with pytest.raises(StudySpecError, match="cannot read the spec"):
        read_spec(tmp_path / "none.toml")
