"""A study's tables in its output folder: runs.csv (one row per run, appended as runs finish and sorted
when the study ends, numbers written exactly: repr of the float), interpretable.csv (one row per data set),
summary.csv and summary.md (per configuration: runs, failures, mean and standard deviation of each figure).
A resumed study reads runs.csv back and skips the runs it holds that did not fail. A table written with
other columns (by a version before the focus and role match columns) is rewritten with today's header as
the study resumes, its rows kept and the new cells empty."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.core.study_runs import METRICS
from app.core.study_spec import Study

RUNS = "runs.csv"
INTERPRETABLE = "interpretable.csv"
SUMMARY = "summary.csv"
SUMMARY_MD = "summary.md"
SETTINGS = ("preset", "layers", "activation", "optimizer", "learning_rate", "batch_size", "l2",
            "test_fraction", "epochs")  # fmt: skip


def cell(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_header(path: Path) -> list[str] | None:
    """The first row of a CSV file, None when there is none."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f), None)


def finished(rows: Iterable[dict]) -> set[tuple[str, int]]:
    """(config id, seed) of the runs that need not run again: all but the failed ones (a run recorded before
    the focus and role match columns counts: its other figures stand, those cells stay empty)."""
    return {(r["config"], int(r["seed"])) for r in rows if r.get("status") not in ("failed", None, "")}


def essence_finished(rows: Iterable[dict]) -> set[str]:
    """The data sets whose interpretable network need not be built again: those with an "ok" row that has
    its focus (a row from before the focus column is built again: it is one per data set)."""
    return {r["preset"] for r in rows if r.get("status") == "ok" and r.get("focus") not in ("", None)}


class RowWriter:
    """Appends rows to a CSV file as they come (flushed, so a stopped study keeps its finished runs);
    writes the header when the file is new, and rewrites a file with another header (an older version's
    columns) with this one first: its rows kept, cells of new columns empty, of dropped columns gone."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        header = read_header(path)
        if header is not None and header != list(columns):
            write_rows(path, columns, read_rows(path))
        new = not path.is_file() or path.stat().st_size == 0
        self.columns = columns
        self.file = path.open("a", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file, lineterminator="\n")
        if new:
            self.writer.writerow(columns)

    def write(self, row: dict) -> None:
        self.writer.writerow([cell(row.get(c, "")) for c in self.columns])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """The whole file at once, through a temporary file (a stop midway leaves the old one)."""
    part = path.with_name(path.name + ".part")
    with part.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c, "")) for c in columns])
    os.replace(part, path)


def settled_runs(study: Study, rows: list[dict]) -> list[dict]:
    """One row per run of the study, in the grid's order (configs, then seeds): for each run the last row
    written (a run re-run after failing has two); rows of runs the spec no longer lists are kept after."""
    latest = {(r["config"], int(r["seed"])): r for r in rows}
    order = [(c.id, s) for c in study.configs for s in study.seeds]
    ordered = [latest.pop(key) for key in order if key in latest]
    return ordered + list(latest.values())


def _numbers(rows: list[dict], metric: str) -> list[float]:
    values = []
    for r in rows:
        text = r.get(metric, "")
        if text not in ("", None):
            values.append(float(text))
    return values


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and (population) standard deviation; NaN for none."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return math.nan, math.nan
    mean = math.fsum(finite) / len(finite)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / len(finite))


SUMMARY_COLUMNS = ("config", *SETTINGS, "runs", "failed", "reached_100",
                   *(f"{m}_{s}" for m in METRICS for s in ("mean", "std")))  # fmt: skip


def summary(study: Study, runs: list[dict]) -> list[dict]:
    """Per configuration: its settings, its runs, how many failed, how many reached 100% training accuracy,
    and each figure's mean and standard deviation over the runs that did not fail (epochs_to_100: over
    those that reached it)."""
    by_config: dict[str, list[dict]] = {}
    for r in runs:
        by_config.setdefault(r["config"], []).append(r)
    table = []
    for config in study.configs:
        rows = by_config.get(config.id, [])
        good = [r for r in rows if r["status"] != "failed"]
        reached = len(_numbers(good, "epochs_to_100"))
        row = {"config": config.id, **{k: getattr(config, k) for k in SETTINGS}, "runs": len(rows),
               "failed": len(rows) - len(good), "reached_100": reached}  # fmt: skip
        for metric in METRICS:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_and_spread(_numbers(good, metric))
        table.append(row)
    return table


def _short(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _mean_spread(mean: float, spread: float) -> str:
    return "–" if math.isnan(mean) else f"{_short(mean)} ± {_short(spread)}"


KEY = (
    "focus: how much of a first-layer neuron's influence comes from its two most contributing subconcepts of "
    "the interpretable network (1: all of it), the mean over the network's neurons; chance_focus: what it "
    "would be if every sample counted the same. role_match: the median over a trained network's first-layer "
    "lines of the distance to the nearest differentia line of the interpretable network, as a share of the "
    "data frame's diagonal (0: the same line). All on the training part; trained networks at their last "
    "epoch."
)


COLUMN_MEANINGS = {
    "data": "the data set: a preset's name or a CSV file",
    "layers": "hidden layer widths",
    "act.": "the hidden layers' activation",
    "opt.": "the optimizer",
    "lr": "the learning rate",
    "runs": "runs of this configuration (one per seed)",
    "failed": "runs that crashed (their error is in runs.csv)",
    "100%": "runs that reached 100% training accuracy",
    "train_accuracy": "training accuracy at the last epoch, mean ± standard deviation over the runs",
    "test_accuracy": "accuracy on the held-out samples at the last epoch (– when none are held out)",
    "epochs_to_100": "the first epoch at 100% training accuracy, over the runs that reached it",
    "far10": "far-field agreement: the share of 720 points on a circle 10 data extents out where the network "
    "gives the class of the nearest sample",
    "far100": "far-field agreement as far10, on a circle 100 data extents out",
    "regions": "the number of regions where the network is one affine function, in the data's frame",
    "focus": "how much of a first-layer neuron's influence comes from its two most contributing subconcepts "
    "of the interpretable network (1: all of it), the mean over the neurons",
    "role_match": "the median distance of the first-layer lines to the nearest differentia line of the "
    "interpretable network, a share of the data frame's diagonal (0: the same line)",
    "interpretable network": "the network built without gradient descent (Essence Neural Network) on the "
    "data set: ok, or why it could not be built",
    "neurons": "the interpretable network's neurons",
    "accuracy": "the interpretable network's accuracy on the samples",
    "chance_focus": "the focus a neuron would have if every sample counted the same",
}  # what each column of summary.md's tables means: the window's header tooltips


def markdown(table: list[dict], essence: list[dict]) -> str:
    """The summary as a Markdown table (mean ± std), with the interpretable network's figures below and a
    key to the focus and role match columns."""
    shown = ("train_accuracy", "test_accuracy", "epochs_to_100", "far10", "far100", "regions", "focus",
             "role_match")  # fmt: skip
    head = ["data", "layers", "act.", "opt.", "lr", "runs", "failed", "100%", *shown]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        name = Path(r["preset"]).name
        cells = [name, r["layers"], r["activation"], r["optimizer"], _short(r["learning_rate"]),
                 str(r["runs"]), str(r["failed"]), str(r["reached_100"])]  # fmt: skip
        cells += [_mean_spread(r[m + "_mean"], r[m + "_std"]) for m in shown]
        lines.append("| " + " | ".join(cells) + " |")
    if essence:
        lines += [
            "",
            "| data | interpretable network | neurons | accuracy | far10 | far100 | focus | chance_focus |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for e in essence:
            figures = [
                _short(float(e[k])) if e.get(k) not in ("", None) else "–"
                for k in ("accuracy", "far10", "far100", "focus", "chance_focus")
            ]
            status = e["status"] if e["status"] == "ok" else f"failed: {e['error']}"
            lines.append(
                f"| {Path(e['preset']).name} | {status} | {e['neurons'] or '–'} | "
                + " | ".join(figures)
                + " |"
            )
    lines += ["", KEY]
    return "\n".join(lines) + "\n"


def write_summary(out: Path, study: Study, runs: list[dict], essence: list[dict]) -> list[dict]:
    table = summary(study, runs)
    write_rows(out / SUMMARY, SUMMARY_COLUMNS, table)
    (out / SUMMARY_MD).write_text(markdown(table, essence), encoding="utf-8")
    return table
