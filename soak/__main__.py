"""Runs every soak section, prints a readable report and, as its last line, one JSON object with every count.
Exit status 0 when nothing failed, 1 otherwise."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings, recent files and autosaves of the soak's windows go to a throw-away folder, never the user's.
_SANDBOX = tempfile.mkdtemp(prefix="unboxed-soak-")
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = os.path.join(_SANDBOX, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_SANDBOX, "data")

# Each section: a module with run(quick: bool) -> dict of counts, plus "failures": a list of readable lines.
SECTIONS = ("gui", "fuzz", "faults", "closing", "hostile", "extremes")
# The counts that must be zero for the run to pass.
MUST_BE_ZERO = ("gui_failures", "loader_failures", "faults_with_loss", "leaked_threads", "hostile_failures",
                "extreme_failures")  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short run (under a minute)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args(argv)
    import importlib

    counts: dict[str, float | list] = {}
    failures: list[str] = []

    def report(name: str, result: dict, started: float) -> None:
        found = list(result.pop("failures", []))
        counts.update(result)
        failures.extend(f"{name}: {line}" for line in found)
        figures = ", ".join(f"{key} {value:g}" if isinstance(value, int | float) else f"{key} {value}"
                            for key, value in result.items())  # fmt: skip
        print(f"== {name} ({time.perf_counter() - started:.1f} s): {figures}", flush=True)
        for line in found:
            print(f"   FAILED {line}")

    chosen = args.only or SECTIONS
    sections = {name: importlib.import_module(f"soak.{name}") for name in chosen}
    # Sections with start() run in processes of their own beside the others; those marked ALONE (timing
    # measurements) run after everything else has finished.
    background = {name: (module.start(args.quick), time.perf_counter())
                  for name, module in sections.items() if hasattr(module, "start")}  # fmt: skip
    alone = [name for name, module in sections.items() if getattr(module, "ALONE", False)]
    for name, module in sections.items():
        if name not in background and name not in alone:
            started = time.perf_counter()
            report(name, module.run(args.quick), started)
    for name, (finish, started) in background.items():
        report(name, finish(), started)
    for name in alone:
        started = time.perf_counter()
        report(name, sections[name].run(args.quick), started)
    bad = [key for key in MUST_BE_ZERO if counts.get(key, 0)]
    print(f"== {'PASSED' if not bad and not failures else 'FAILED: ' + ', '.join(bad or ['see above'])}")
    print(json.dumps(counts))
    return 0 if not bad and not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
