"""Starting Unboxed without a terminal: the desktop entry app.launcher writes (read back per the Desktop Entry
spec and run), main.py handing itself over to .venv's Python, and on a bare Linux the system libraries the
window needs (app.system_libs, and run.sh's check before the window)."""

from __future__ import annotations

import configparser
import hashlib
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from app import launcher, system_libs

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
SYSTEM_PYTHON = Path("/usr/bin/python3")
VERSION_LINE = f"unboxed {version('unboxed')}"
ODD_NAME = 'my "odd" $HOME `dir` \\ 50% (copy)'  # every character the Exec key must quote or escape


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child: no PYTHONPATH or hand-over mark from outside, offscreen Qt."""
    unwanted = ("PYTHONPATH", "PYTHONHOME", "UNBOXED_HANDED_OVER")
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return {**env, **extra}


def run(command: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=clean_env(**env))


# --- reading an entry back, written from the spec rather than from app.launcher ---------------------------


def unescape_string(value: str) -> str:
    """A desktop entry string value's escapes: \\s \\n \\t \\r \\\\."""
    out, chars = [], iter(value)
    for c in chars:
        out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[next(chars)] if c == "\\" else c)
    return "".join(out)


def exec_arguments(value: str) -> list[str]:
    """An Exec key's arguments: string escapes first, then double-quoted arguments (where \\ escapes
    " ` $ \\), split on spaces outside quotes; %% is a literal %, and the field code %f is dropped."""
    text, args, current, quoted, started = unescape_string(value), [], [], False, False
    chars = iter(text)
    for c in chars:
        if quoted and c == "\\":
            escaped = next(chars)
            assert escaped in '"`$\\', f"\\{escaped} is not a valid escape inside a quoted argument"
            current.append(escaped)
        elif c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started or current:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
    assert not quoted, "an unterminated quote"
    if started or current:
        args.append("".join(current))
    return [arg.replace("%%", "%") for arg in args if arg != "%f"]


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def make_root(folder: Path) -> Path:
    """A project folder at `folder` with a copy of main.py and the icon, and this checkout's .venv linked."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "main.py", folder / "main.py")
    (folder / "resources").mkdir()
    shutil.copy(ROOT / "resources" / "unboxed.png", folder / "resources" / "unboxed.png")
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


def test_the_written_entry_runs_this_checkout(tmp_path):
    path = launcher.install(environ={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert path == tmp_path / "data" / "applications" / "unboxed.desktop"
    assert os.access(path, os.X_OK)
    entry = read_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == "Unboxed" and entry["Terminal"] == "false"
    assert Path(unescape_string(entry["Icon"])).is_file() and Path(entry["Icon"]).is_absolute()
    assert unescape_string(entry["TryExec"]) == str(VENV_PYTHON)
    args = exec_arguments(entry["Exec"])
    assert args == [str(VENV_PYTHON), str(ROOT / "main.py")]
    assert entry["Exec"].endswith(" %f")  # a session file opened with it is passed on
    result = run([*args, "--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VERSION_LINE


def test_paths_with_spaces_and_quotes_are_quoted_per_the_spec(tmp_path):
    root = make_root(tmp_path / ODD_NAME)
    path = launcher.install(root, environ={"XDG_DATA_HOME": str(tmp_path / "data")})
    entry = read_entry(path)
    assert exec_arguments(entry["Exec"]) == [str(root / ".venv" / "bin" / "python"), str(root / "main.py")]
    assert unescape_string(entry["Icon"]) == str(root / "resources" / "unboxed.png")
    result = run([*exec_arguments(entry["Exec"]), "--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: unboxed")


def test_installing_again_replaces_the_entry(tmp_path):
    environ = {"XDG_DATA_HOME": str(tmp_path)}
    first = launcher.install(environ=environ)
    first.write_text("stale")
    assert launcher.install(environ=environ) == first
    assert read_entry(first)["Name"] == "Unboxed"
    assert [p.name for p in first.parent.iterdir()] == ["unboxed.desktop"]  # no temporary file left


def test_where_the_entry_goes():
    home = Path.home() / ".local" / "share" / "applications" / "unboxed.desktop"
    assert launcher.entry_path({}) == home
    assert launcher.entry_path({"XDG_DATA_HOME": "relative/is/ignored"}) == home
    assert launcher.entry_path({"XDG_DATA_HOME": "/x/y"}) == Path("/x/y/applications/unboxed.desktop")


def test_refuses_without_a_venv_python(tmp_path):
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(ROOT / "main.py", root / "main.py")
    with pytest.raises(launcher.LauncherRefused) as refusal:
        launcher.install(root, environ={"XDG_DATA_HOME": str(tmp_path / "data")})
    reason = str(refusal.value)
    assert ".venv/bin/python" in reason and "./run.sh" in reason and "\n" not in reason
    assert not (tmp_path / "data" / "applications" / "unboxed.desktop").exists()


def test_python_m_app_launcher_installs_and_says_how_to_remove(tmp_path):
    result = run([str(VENV_PYTHON), "-m", "app.launcher"], XDG_DATA_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    entry = tmp_path / "applications" / "unboxed.desktop"
    assert entry.is_file()
    assert result.stdout.count("\n") == 1 and str(entry) in result.stdout and f"rm {entry}" in result.stdout


def test_help_menu_installs_and_reports(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from app.ui.help import install_launcher_from_menu

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    box = install_launcher_from_menu(None)
    assert box.icon() == QMessageBox.Icon.Information
    assert str(tmp_path / "applications" / "unboxed.desktop") in box.text()
    box.close()

    def refuse(*args, **kwargs):
        raise launcher.LauncherRefused("there is no .venv/bin/python")

    monkeypatch.setattr(launcher, "install", refuse)
    box = install_launcher_from_menu(None)
    assert box.icon() == QMessageBox.Icon.Warning and "there is no .venv/bin/python" in box.text()
    box.close()


# --- main.py started by a Python without the dependencies ------------------------------------------------


def system_python_lacking_pyside() -> Path:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} does not exist here")
    code = "import importlib.util as u; print(u.find_spec('PySide6') is None)"
    probe = run([str(SYSTEM_PYTHON), "-c", code])
    if probe.stdout.strip() != "True":
        pytest.skip(f"{SYSTEM_PYTHON} has PySide6, so main.py would not hand over")
    return SYSTEM_PYTHON


@pytest.mark.parametrize(("argument", "expected"),
                         [("--version", VERSION_LINE), ("--help", "usage: unboxed")])  # fmt: skip
def test_main_py_hands_over_to_the_venv_python(tmp_path, argument, expected):
    python = system_python_lacking_pyside()
    result = subprocess.run([str(python), str(ROOT / "main.py"), argument], capture_output=True, text=True,
                            timeout=120, env=clean_env(), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected)


def lonely_main(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(ROOT / "main.py", folder / "main.py")
    return folder / "main.py"


def assert_one_line_of_advice(result: subprocess.CompletedProcess, folder: Path) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "./run.sh" in result.stderr and str(folder) in result.stderr
    assert "lacks PySide6" in result.stderr


def test_main_py_without_a_venv_says_what_to_run(tmp_path):
    main = lonely_main(tmp_path / "elsewhere")
    result = run([sys.executable, "-S", str(main), "--version"], timeout=30)  # -S: no site-packages
    assert_one_line_of_advice(result, main.parent)


def test_main_py_does_not_loop_when_the_venv_python_lacks_the_dependencies(tmp_path):
    main = lonely_main(tmp_path / "broken venv")
    fake = main.parent / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    starts = main.parent / "starts"
    fake.write_text(f'#!/bin/sh\necho start >> "{starts}"\nexec "{sys.executable}" -S "$@"\n')
    fake.chmod(0o755)
    result = run([sys.executable, "-S", str(main), "--version"], timeout=30)
    assert_one_line_of_advice(result, main.parent)
    assert starts.read_text() == "start\n"  # it handed over to the venv's Python, once


# --- system libraries for the window ---------------------------------------------------------------------

LDD_HERE = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f32)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f31)
\tlibfoo-unknown.so.7 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f32)
"""
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n'
UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n'
ARCH = 'NAME="Arch Linux"\nID=arch\n'


def test_ldd_output_gives_the_missing_libraries_once_each():
    assert system_libs.missing_libraries(LDD_HERE) == [
        "libfoo-unknown.so.7",
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxkbcommon-x11.so.0",
    ]
    assert system_libs.missing_libraries("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_install_line_per_distribution():
    missing = system_libs.missing_libraries(LDD_HERE)
    for text in (DEBIAN, UBUNTU):
        assert system_libs.install_line(missing, system_libs.parse_os_release(text)) == (
            "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0"
        )
    assert system_libs.install_line(missing, system_libs.parse_os_release(FEDORA)) == (
        "sudo dnf install 'libfoo-unknown.so.7()(64bit)' libxkbcommon-x11 xcb-util-cursor xcb-util-wm"
    )
    assert system_libs.install_line(missing, system_libs.parse_os_release(ARCH)) is None


def test_the_message_names_what_is_missing_and_how_to_install_it():
    missing = system_libs.missing_libraries(LDD_HERE)
    text = system_libs.message(missing, system_libs.parse_os_release(DEBIAN))
    assert "    sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0\n" in text
    assert "libfoo-unknown.so.7" in text.splitlines()[-2]  # no Debian package known for it: said so
    text = system_libs.message(missing, system_libs.parse_os_release(ARCH))
    assert "install" not in text.splitlines()[0] and "libxcb-cursor.so.0" in text.splitlines()[1]


def test_the_check_runs_here_without_importing_pyside():
    code = ("import sys, app.system_libs as s; s.missing_for_window(); "
            "assert 'PySide6' not in sys.modules; sys.exit(s.main())")  # fmt: skip
    result = run([str(VENV_PYTHON), "-c", code], timeout=60)
    assert "Traceback" not in result.stderr
    missing = system_libs.missing_for_window()
    assert result.returncode == (1 if missing else 0)
    if missing:  # e.g. a headless machine without the X11 libraries
        assert "the window needs system libraries that are missing" in result.stderr
        assert all(name in result.stderr for name in missing)
    result = run([str(VENV_PYTHON), "-m", "app.system_libs"], timeout=60)
    assert result.returncode == (1 if missing else 0) and "Traceback" not in result.stderr


def set_up_already() -> None:
    """run.sh calls scripts/setup.sh, which installs again when pyproject.toml changed: not in a test."""
    stamp = ROOT / ".venv" / ".unboxed-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text().strip() != want:
        pytest.skip("run.sh would install the dependencies again first (pyproject.toml changed)")


@pytest.mark.parametrize(("platform", "arguments", "checks"), [
    ("offscreen", ["--no-such-option"], False),
    ("minimal", ["--no-such-option"], False),
    ("xcb", ["--no-such-option"], True),
    ("xcb", ["--export-data", "--no-such-option"], False),
])  # fmt: skip
def test_run_sh_checks_the_libraries_only_before_a_window_on_x11(platform, arguments, checks):
    set_up_already()
    result = run([str(ROOT / "run.sh"), *arguments], timeout=120, QT_QPA_PLATFORM=platform)
    missing = system_libs.missing_for_window() if checks else None
    if missing:
        assert result.returncode == 1 and "the window needs system libraries" in result.stderr
    else:  # on to main.py, which refuses the option before any window
        assert result.returncode == 2 and "the window needs" not in result.stderr
        assert "unrecognized arguments" in result.stderr or "expected one argument" in result.stderr


def test_run_sh_installs_the_launcher(tmp_path):
    set_up_already()
    result = run([str(ROOT / "run.sh"), "--install-launcher"], timeout=120, XDG_DATA_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "applications" / "unboxed.desktop").is_file()
