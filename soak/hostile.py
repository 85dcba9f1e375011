"""Hostile inputs (issue 19), as a new user or a crafted file would give them, in classes: outputs that would
destroy an input (hostile_outputs); session values at and one past each bound, compression bombs of each
method and archives of many entries, data-change marks by the thousand to the million (hostile_sessions);
CSV coordinates at and past the limit, long lines and many rows, text encodings (hostile_csv). Each case
says what must happen: a load (with the values given) or a refusal with the documented error (naming the
line, for a CSV), in time and, for the loaders, within BASE_BYTES + FILE_FACTOR times the file's size of
traced memory (hostile_checks); files left as they were; no exception reaching the event loop. A failure
line says what was given and what happened. The full run takes every case; the quick run a seeded sample of
each class (QUICK_CASES), with smaller bombs and lines."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from soak.common import Hang, dialogs_answer_at_once, event_loop_exceptions
from soak.hostile_checks import Context
from soak.hostile_csv import coordinate_cases, encoding_cases, long_line_cases
from soak.hostile_outputs import output_cases
from soak.hostile_sessions import bomb_cases, mark_cases, value_cases

SEED = 20_240_619
CLASSES = {
    "outputs": output_cases,
    "values": value_cases,
    "coordinates": coordinate_cases,
    "bombs": bomb_cases,
    "marks": mark_cases,
    "long_lines": long_line_cases,
    "encodings": encoding_cases,
}
QUICK_CASES = {
    "outputs": 10,
    "values": 14,
    "coordinates": 8,
    "bombs": 12,
    "marks": 6,
    "long_lines": 6,
    "encodings": 10,
}


def run(quick: bool) -> dict:
    from app.ui.app import make_application

    make_application()
    failures: list[str] = []
    count = 0
    with (
        tempfile.TemporaryDirectory(prefix="unboxed-hostile-") as name,
        dialogs_answer_at_once() as shown,
        event_loop_exceptions() as caught,
    ):
        ctx = Context(Path(name), quick, shown)
        try:
            for index, (kind, make_cases) in enumerate(CLASSES.items()):
                started, before = time.perf_counter(), len(failures)
                rng = np.random.default_rng([SEED, index])
                cases = make_cases(ctx, rng)
                if quick and len(cases) > QUICK_CASES[kind]:
                    chosen = np.sort(rng.choice(len(cases), QUICK_CASES[kind], replace=False))
                    cases = [cases[i] for i in chosen]
                for case in cases:
                    caught.clear()
                    try:
                        problem = case.check()
                    except (Exception, Hang) as error:  # noqa: BLE001 - reported as this case's failure
                        problem = f"the check raised {type(error).__name__}: {str(error)[:300]}"
                    problems = [problem] if problem else []
                    problems += [f"exception in the event loop: {text}" for text in dict.fromkeys(caught)]
                    failures += [f"{kind}: {case.label}: {text}" for text in problems]
                count += len(cases)
                took = time.perf_counter() - started
                print(
                    f"   {kind}: {len(cases)} cases, {len(failures) - before} failed, {took:.1f} s",
                    flush=True,
                )
        finally:
            ctx.close()
    return {"hostile_inputs": count, "hostile_failures": len(failures), "failures": failures}
