"""Unboxed: start the app, or export headlessly (python main.py --help)."""

from __future__ import annotations  # annotations stay text: an old system Python still gets to hand over

import os
import sys
from importlib.util import find_spec
from pathlib import Path

HEAVY_DEPENDENCIES = ("PySide6", "pyqtgraph", "numpy", "contourpy", "torch")  # found, not imported: cheap
HANDED_OVER = "UNBOXED_HANDED_OVER"  # set for the .venv Python this hands over to, so it never loops


def use_project_python() -> None:
    """Started by a Python without the dependencies (a double-click runs the system's python3): hands over
    to the .venv Python beside this file, with the same arguments; else says in one line what to run, and
    exits."""
    handed_over = os.environ.pop(HANDED_OVER, None) is not None
    missing = [name for name in HEAVY_DEPENDENCIES if find_spec(name) is None]
    if not missing:
        return
    folder = Path(__file__).absolute().parent
    venv = folder / ".venv"
    python = venv / "bin" / "python"
    in_venv = Path(sys.prefix).resolve() == venv.resolve()
    if not handed_over and not in_venv and os.access(python, os.X_OK):
        os.environ[HANDED_OVER] = "1"
        os.execv(python, [str(python), str(Path(__file__).absolute()), *sys.argv[1:]])
    print(f"unboxed: {sys.executable} lacks {', '.join(missing)}: run ./run.sh in {folder} "
          "(it sets up .venv with everything)", file=sys.stderr)  # fmt: skip
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    """The command line (app.cli.main); the entry point of the installed `unboxed` command too."""
    from app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    use_project_python()
    sys.exit(main())
