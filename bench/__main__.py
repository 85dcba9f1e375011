"""Runs benchmark families by name: `python -m bench live`, `python -m bench all`."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench import engine, hidden, history, influence, live, multi, regions, scrub, study, thesis, zoom  # noqa: E402

FAMILIES = {
    "live": live.run,
    "engine": engine.run,
    "multi": multi.run,
    "history": history.run,
    "scrub": scrub.run,
    "influence": influence.run,
    "zoom": zoom.run,
    "regions": regions.run,
    "hidden": hidden.run,
    "study": study.run,
}
REPORTS = {"thesis": thesis.run}  # measures, not timings: run by name only, not by "all"


def main(argv: list[str]) -> int:
    names = argv or ["all"]
    if names == ["all"]:
        names = list(FAMILIES)
    unknown = [n for n in names if n not in FAMILIES and n not in REPORTS]
    if unknown:
        choices = ", ".join([*FAMILIES, *REPORTS])
        print(f"unknown benchmark {unknown[0]!r}; choose from {choices} or all", file=sys.stderr)
        return 2
    figures: dict[str, float] = {}
    for name in names:
        print(f"== {name}")
        results = {**FAMILIES, **REPORTS}[name]()
        for key, value in results.items():
            print(f"  {key:<24} {value:>12.3f}")
            # Families may share a name for different measurements: later ones get their family's prefix.
            figures[f"{name}_{key}" if key in figures else key] = value
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
