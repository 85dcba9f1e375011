"""Studies (app.study): a study of the default network (the clusters preset, 4,4 tanh, Adam 0.03, full
batch, 2,000 epochs per run; RUNS seeds) on the local process pool (one process per core) against a plain
loop in one process (each run trained alone by a Trainer and measured as the study measures it), in runs
per second; and the Dask path (a LocalCluster of as many processes) against the pool: its overhead per run
in milliseconds. The pool of one process against the pool of all (`study_pool_scaling`) parts what the
cores bring from what training a task's seeds together (train_many) brings.
Executors start and warm up (numba's cached code, the imports) and the interpretable
network is built (once per data set, which the loop does not do) before the clock starts."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from app.core.study_runs import run_alone
from app.core.study_spec import parse_spec
from app.study import dask_cluster, process_pool, run_study

RUNS = 32
SPEC = "[study]\npresets = 'clusters'\nlayers = '4,4'\nseeds = {seeds}\nepochs = {epochs}\n"


def _study_seconds(executor, folder: Path, seeds: int, epochs: int = 2000) -> float:
    """Seconds of a study in `folder` (the interpretable network already there: the loop builds none)."""
    study = parse_spec(SPEC.format(seeds=seeds, epochs=epochs))
    started = time.perf_counter()
    run_study(study, folder, executor)
    return time.perf_counter() - started


def run() -> dict[str, float]:
    cores = os.cpu_count() or 1
    study = parse_spec(SPEC.format(seeds=RUNS, epochs=2000))
    run_alone(study.configs[0], 0)  # compiles, or loads numba's cache
    started = time.perf_counter()
    for seed in study.seeds:
        run_alone(study.configs[0], seed)
    loop = RUNS / (time.perf_counter() - started)
    figures = {"study_loop_runs_per_s": loop}
    executors = (("pool", lambda: process_pool(cores)), ("pool1", lambda: process_pool(1)),
                 ("dask", lambda: dask_cluster("local", cores)))  # fmt: skip
    for name, make in executors:
        executor = make()
        try:
            with tempfile.TemporaryDirectory() as folder:
                _study_seconds(executor, Path(folder), 4 * cores, epochs=5)  # imports, engine, interpretable
                seconds = _study_seconds(executor, Path(folder), RUNS)
        finally:
            executor.close()
        figures[f"study_{name}_runs_per_s"] = RUNS / seconds
    figures["study_pool_vs_loop"] = figures["study_pool_runs_per_s"] / loop
    figures["study_pool_scaling"] = figures["study_pool_runs_per_s"] / figures["study_pool1_runs_per_s"]
    pool_s, dask_s = 1.0 / figures["study_pool_runs_per_s"], 1.0 / figures["study_dask_runs_per_s"]
    figures["study_dask_overhead_ms_per_run"] = 1000.0 * (dask_s - pool_s)
    figures["study_cores"] = float(cores)
    return figures
