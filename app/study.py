"""`python -m app.study SPEC.toml [--out DIR] [--cluster ADDRESS] [--workers N]`: runs a study, a grid of
configurations (see app.core.study_spec) each trained from each seed, and writes in DIR: runs.csv (one row
per run), interpretable.csv (the interpretable network per data set), summary.csv and summary.md (per
configuration: mean and standard deviation), and far10.png, far100.png, accuracy.png, focus.png.

The runs go to a local process pool (one process per core) or, with --cluster, to a Dask distributed
cluster (its scheduler's address, or `local` for a LocalCluster on this machine): one code path, submit and
as_completed. A task trains one configuration's seeds together (multi_training.train_many); a run that
fails is recorded as failed with its error and the study goes on. Re-running with the same --out resumes:
the runs runs.csv holds (and did not fail) do not run again. Exit status 2: the spec or the cluster cannot
be used (one line on stderr, nothing has run)."""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.core.study_plots import study_plots
from app.core.study_runs import ESSENCE_COLUMNS, RUN_COLUMNS, interpretable, run_config
from app.core.study_spec import Study, StudyConfig, StudySpecError, read_spec
from app.core.study_table import (
    INTERPRETABLE,
    RUNS,
    RowWriter,
    essence_finished,
    finished,
    read_rows,
    settled_runs,
    write_rows,
    write_summary,
)

CONNECT_SECONDS = 10  # waiting for a cluster's scheduler before giving up
# Runs trained together in one task, at most: the K-run loop's cost per run falls with K up to about 16
# (the default network on clusters, 2,000 epochs: 74 ms of training a run alone, 57 ms at K = 4, 32 ms at 8,
# 22 ms at 16), and their epochs' parameters are kept.
MAX_SEEDS_PER_TASK = 16


class StudyError(Exception):
    """A study that cannot start (a cluster out of reach); the message is one line for the user."""


class StudyStopped(Exception):
    """The study was asked to stop (the window's Cancel): runs.csv holds the runs that finished."""


@dataclass
class Executor:
    """Where tasks run: submit(fn, *args) -> future, as_completed(futures) -> futures as they finish (a
    future's result() gives the value or raises), close(), and its number of workers."""

    submit: Callable
    as_completed: Callable[[list], Iterable]
    close: Callable[[], None]
    workers: int
    name: str
    kill: Callable[[], None] | None = None  # ends the workers now, running tasks and all (then close)


def _one_thread_each() -> None:
    """A pool worker's BLAS on one thread: the workers are as many as the cores already (as Dask's nanny sets
    for its workers)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def process_pool(workers: int | None = None) -> Executor:
    workers = workers or os.cpu_count() or 1
    # forkserver: workers start from a clean process, not a fork of one that may hold threads (torch, Qt)
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_one_thread_each
    )

    def kill() -> None:
        # Python 3.11 has no public way to end a pool's running workers (3.14: terminate_workers).
        for process in list((pool._processes or {}).values()):  # noqa: SLF001 - see above
            process.terminate()
        pool.shutdown(cancel_futures=True)

    return Executor(pool.submit, concurrent.futures.as_completed, lambda: pool.shutdown(cancel_futures=True),
                    workers, f"a process pool of {workers}", kill)  # fmt: skip


def stoppable(executor: Executor, stop: threading.Event, grace: float = 3.0) -> Executor:
    """The executor, with an as_completed that watches `stop` (for a process pool's futures): once it is
    set, the tasks not started are cancelled, the running ones get `grace` seconds to finish (their runs are
    recorded), and StudyStopped is raised; close() then kills what still runs."""

    def as_completed(futures: list) -> Iterable:
        pending, deadline = set(futures), None
        while pending:
            if stop.is_set() and deadline is None:
                for future in pending:
                    future.cancel()
                pending = {f for f in pending if not f.cancelled()}
                deadline = time.monotonic() + grace
            wait = 0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
            done, pending = concurrent.futures.wait(pending, wait, concurrent.futures.FIRST_COMPLETED)
            yield from (f for f in done if not f.cancelled())
            if deadline is not None and time.monotonic() >= deadline:
                break
        if stop.is_set():
            raise StudyStopped("stopped")

    def close() -> None:
        (executor.kill if stop.is_set() and executor.kill else executor.close)()

    return Executor(executor.submit, as_completed, close, executor.workers, executor.name, executor.kill)


def dask_cluster(address: str, workers: int | None = None) -> Executor:
    """A Dask client of the scheduler at `address`, or of a LocalCluster of `workers` processes (one thread
    each) for "local"; StudyError when the scheduler cannot be reached."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if address == "local":
            workers = workers or os.cpu_count() or 1
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster, timeout=CONNECT_SECONDS)
        else:
            client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as e:
        if cluster is not None:
            cluster.close()
        raise StudyError(f"cannot reach the Dask cluster at {address!r}: {e}") from None
    n = len(client.scheduler_info().get("workers", {})) or 1

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    def submit(fn, *args):
        return client.submit(fn, *args, pure=False)

    return Executor(submit, as_completed, close, n, f"the Dask cluster at {address} ({n} workers)")


def tasks(
    study: Study, done: set[tuple[str, int]], workers: int
) -> list[tuple[StudyConfig, tuple[int, ...]]]:
    """(configuration, seeds) to run: the runs not done, a configuration's seeds in groups as large as
    whole rounds of tasks allow (one task per worker a round, at most MAX_SEEDS_PER_TASK runs a task): the
    fewest rounds, every worker busy in each (the figures do not depend on the grouping)."""
    todo = [(c, tuple(s for s in study.seeds if (c.id, s) not in done)) for c in study.configs]
    todo = [(c, seeds) for c, seeds in todo if seeds]
    n_runs = sum(len(seeds) for _, seeds in todo)
    rounds = math.ceil(n_runs / (MAX_SEEDS_PER_TASK * workers))
    size = max(1, math.ceil(n_runs / (rounds * workers))) if n_runs else 1
    return [(c, seeds[i : i + size]) for c, seeds in todo for i in range(0, len(seeds), size)]


def _failed_task(config: StudyConfig, seeds: tuple[int, ...], error: BaseException) -> list[dict]:
    from app.core.study_runs import config_fields

    message = f"{type(error).__name__}: {error}".replace("\n", " ")
    return [dict.fromkeys(RUN_COLUMNS, "") | config_fields(config) | {"seed": s, "status": "failed",
            "error": message} for s in seeds]  # fmt: skip


def run_study(
    study: Study,
    out: Path,
    executor: Executor,
    report: Callable[[str], None] = lambda _: None,
    progress: Callable[[int, int, int], None] = lambda *_: None,
) -> list:
    """Runs what is left of the study in `out` on the executor; returns the summary table. progress(runs
    finished, runs to run, failed) is called before the first run and as each task finishes."""
    out.mkdir(parents=True, exist_ok=True)
    done = finished(read_rows(out / RUNS))
    essence_done = essence_finished(read_rows(out / INTERPRETABLE))
    work = tasks(study, done, executor.workers)
    to_run = sum(len(seeds) for _, seeds in work)
    report(f"{study.n_runs} runs ({study.n_runs - to_run} done before) of {len(study.configs)} "
           f"configurations on {executor.name}")  # fmt: skip
    futures = {
        executor.submit(interpretable, p): ("essence", p) for p in study.data_sets if p not in essence_done
    }
    futures.update({executor.submit(run_config, c, seeds): ("runs", (c, seeds)) for c, seeds in work})
    runs, essence = RowWriter(out / RUNS, RUN_COLUMNS), RowWriter(out / INTERPRETABLE, ESSENCE_COLUMNS)
    started, shown, finished_runs, failed = time.perf_counter(), 0.0, 0, 0
    progress(0, to_run, 0)
    try:
        for future in executor.as_completed(list(futures)):
            kind, what = futures[future]
            if kind == "essence":
                try:
                    essence.write(future.result())
                except Exception as e:  # noqa: BLE001 - the task could not run: recorded, the study goes on
                    essence.write({"preset": what, "status": "failed", "error": f"{type(e).__name__}: {e}"})
                continue
            try:
                rows = future.result()
            except Exception as e:  # noqa: BLE001 - a worker died or the task could not be sent
                rows = _failed_task(*what, e)
            for row in rows:
                runs.write(row)
            finished_runs += len(rows)
            failed += sum(r["status"] == "failed" for r in rows)
            progress(finished_runs, to_run, failed)
            now = time.perf_counter()
            if now - shown > 1.0 or finished_runs == to_run:
                shown = now
                eta = (now - started) / finished_runs * (to_run - finished_runs)
                report(
                    f"{finished_runs}/{to_run} runs, {failed} failed, {now - started:.0f} s, ETA {eta:.0f} s"
                )
    finally:
        runs.close()
        essence.close()
    return finish(study, out)


def finish(study: Study, out: Path) -> list[dict]:
    """Sorts runs.csv in the grid's order and writes the summary and the plots from it."""
    rows = settled_runs(study, read_rows(out / RUNS))
    write_rows(out / RUNS, RUN_COLUMNS, rows)
    latest_essence = {e["preset"]: e for e in read_rows(out / INTERPRETABLE)}
    essence = [latest_essence[p] for p in study.data_sets if p in latest_essence]
    write_rows(out / INTERPRETABLE, ESSENCE_COLUMNS, essence)
    table = write_summary(out, study, rows, essence)
    study_plots(out, rows, essence)
    return table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.study", description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", metavar="SPEC.toml", help="the study's spec (a [study] table)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: the spec's name + '-study')")
    cluster = "a Dask scheduler's address (tcp://host:8786), or 'local' for a LocalCluster"
    parser.add_argument("--cluster", metavar="ADDRESS", help=cluster)
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes of the local pool or LocalCluster (default: the cores)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print("study: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        study = read_spec(args.spec)
        executor = dask_cluster(args.cluster, args.workers) if args.cluster else process_pool(args.workers)
    except (StudySpecError, StudyError) as e:
        print(f"study: {e}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.spec).with_name(Path(args.spec).stem + "-study")
    try:
        run_study(study, out, executor, lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print(f"study: stopped; run it again with --out {out} to go on", file=sys.stderr)
        return 130
    finally:
        executor.close()
    print((out / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"written to {out}: runs.csv, interpretable.csv, summary.csv, summary.md, far10.png, far100.png, "
          "accuracy.png, focus.png")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
