"""The desktop launcher: a user-level desktop entry that starts this checkout's main.py with its own .venv
Python and shows its icon, so a desktop menu or file manager starts Unboxed without a terminal or PATH.
`python -m app.launcher` (or `./run.sh --install-launcher`, or Help > Install desktop launcher) writes it."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from app.core.output_file import write_bytes_atomically

ROOT = Path(__file__).resolve().parents[1]
ENTRY_NAME = "unboxed.desktop"
ICONS = ("unboxed.png", "unboxed.svg")  # the first that exists
EXEC_RESERVED = '"`$\\'  # escaped with a backslash inside a quoted Exec argument (Desktop Entry spec)


class LauncherRefused(Exception):
    """The launcher cannot be installed; the message says why in one line."""


def venv_python(root: Path = ROOT) -> Path:
    """The project's own Python (.venv/bin/python in `root`, not resolved: it is a link the venv needs)."""
    python = root.absolute() / ".venv" / "bin" / "python"
    if not os.access(python, os.X_OK):
        raise LauncherRefused(f"there is no {python}: run ./run.sh once in {root} to set it up")
    return python


def icon_path(root: Path = ROOT) -> Path:
    for name in ICONS:
        if (candidate := root.absolute() / "resources" / name).is_file():
            return candidate
    raise LauncherRefused(f"there is no icon ({' or '.join(ICONS)}) in {root / 'resources'}")


def _plain(text: str) -> str:
    """`text` as a desktop entry string value: backslashes escaped; line breaks cannot be written."""
    if any(ord(c) < 32 for c in text):
        raise LauncherRefused(f"the path {text!r} has a control character, which a desktop entry cannot hold")
    return text.replace("\\", "\\\\")


def quote_exec_argument(argument: str) -> str:
    """One argument of an Exec key: double-quoted, `"`, `` ` ``, `$` and `\\` backslash-escaped, `%` doubled,
    then escaped as a string value (so a literal backslash becomes four)."""
    quoted = "".join("\\" + c if c in EXEC_RESERVED else c for c in argument).replace("%", "%%")
    return _plain(f'"{quoted}"')


def desktop_entry(root: Path = ROOT) -> str:
    """The entry's text: Exec runs `root`/main.py with `root`/.venv/bin/python, %f being a session file."""
    python, main, icon = venv_python(root), root.absolute() / "main.py", icon_path(root)
    if not main.is_file():
        raise LauncherRefused(f"there is no {main}")
    command = f"{quote_exec_argument(str(python))} {quote_exec_argument(str(main))} %f"
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.5\n"
        "Name=Unboxed\n"
        "GenericName=Neural network explorer\n"
        "Comment=Train a small neural network live on 2-D samples and see inside it\n"
        f"TryExec={_plain(str(python))}\n"
        f"Exec={command}\n"
        f"Icon={_plain(str(icon))}\n"
        "Terminal=false\n"
        "Categories=Education;Science;\n"
        "Keywords=neural network;machine learning;MLP;teaching;\n"
    )


def entry_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where desktop menus look for a user's entries: $XDG_DATA_HOME/applications (an absolute
    XDG_DATA_HOME, as the spec requires; else ~/.local/share)."""
    environ = os.environ if environ is None else environ
    data_home = environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "applications" / ENTRY_NAME


def install(root: Path = ROOT, environ: Mapping[str, str] | None = None) -> Path:
    """Writes the entry (atomically; executable, as some desktops start only entries marked so); returns its
    path. Raises LauncherRefused when there is no .venv Python, main.py or icon, OSError when it cannot be
    written."""
    text = desktop_entry(root)
    target = entry_path(environ)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(target, text.encode(), suffixes=(".desktop",))
    mode = target.stat().st_mode
    os.chmod(target, mode | (mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)) >> 2)  # x wherever r
    return target


def main() -> int:
    try:
        path = install()
    except (LauncherRefused, OSError) as error:
        print(f"unboxed: cannot install the desktop launcher: {error}", file=sys.stderr)
        return 1
    print(f"Installed the desktop launcher {path} (starts {ROOT / 'main.py'}); "
          f"remove it with: rm {shlex.quote(str(path))}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
