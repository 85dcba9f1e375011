"""app.core never imports Qt or pyqtgraph: each core module imports in an interpreter where they cannot."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = ("PySide6", "pyqtgraph", "shiboken6")


    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: app.core must stay Qt-free")
            return None


    sys.meta_path.insert(0, BlockQt())
    """
)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_every_core_module_imports_without_qt():
    result = run_python(
        """
        import importlib
        import pkgutil

        import app.core

        names = [m.name for m in pkgutil.iter_modules(app.core.__path__, "app.core.")]
        assert len(names) >= 8, names
        for name in names:
            importlib.import_module(name)
        leaked = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
        assert not leaked, leaked
        print("imported", len(names), "modules:", ", ".join(sorted(names)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "app.core.training" in result.stdout and "app.core.engine" in result.stdout


def test_the_blocker_really_blocks():
    for module in ("PySide6", "PySide6.QtCore", "pyqtgraph", "shiboken6"):
        result = run_python(
            f"""
            try:
                import {module}
            except ImportError as error:
                print("blocked:", error)
            else:
                raise SystemExit("{module} was imported")
            """
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert "blocked:" in result.stdout
