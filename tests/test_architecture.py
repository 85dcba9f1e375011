"""The package's layering, read from the source: app.core stays free of Qt and of the UI, widgets do not reach
for the main window or the training thread, no module imports another that imports it back, and modules stay
small. Every import counts: at the top, inside functions or `if TYPE_CHECKING:`, `import a.b`,
`from a import b` (an edge to a.b where a.b is a module) and relative imports. One more test imports each core
module in a fresh interpreter that cannot load Qt, which also catches Qt pulled in indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "app"
QT = ("PySide6", "pyqtgraph", "shiboken6")
MAX_LINES = 500
# Modules of app/ui that wire the application together; every other module of app/ui is a widget module.
# Some of them may not exist (yet): a missing one is simply not there to check.
WIRING_MODULES = {
    "app.ui.main_window",
    "app.ui.app",
    "app.ui.session_model",
    "app.ui.training_control",
    "app.ui.frame_scheduler",
    "app.ui.menus",
    "app.ui.session_files",
    "app.ui.essence_builder",
    "app.ui.counterfactual_control",
    "app.ui.seeds_control",
    "app.ui.study_control",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def find_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = find_modules()


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """An app module for an imported name: the name itself, or the longest prefix that is a module (an
    attribute imported with `import app.x.attr` is no module); names outside app stay as they are."""
    if name.split(".")[0] != "app":
        return name
    parts = name.split(".")
    while len(parts) > 1 and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module `name` imports, anywhere in its source; for `from X import y`, X.y when that is an app
    module, else X. Relative imports are made absolute."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    found.add(f"{source}.{alias.name}")
                else:
                    found.add(_resolve(source, modules))
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def within(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle, as a path a -> ... -> a, through each group of modules that import each other (Tarjan's
    strongly connected components; only edges between app modules count)."""
    edges = {a: sorted(b for b in targets if b in graph) for a, targets in graph.items()}
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(start: str) -> None:  # iterative: no recursion limit to worry about
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in edges[node]:
                        groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return [_cycle_in(group, edges) for group in groups]


def _cycle_in(group: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest way from the group's first module back to itself, within the group (breadth first)."""
    start = min(group)
    previous = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in edges[node]:
            if child not in group:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle in {group}")


def test_the_scan_sees_the_package():
    for name in ("app.cli", "app.core.network", "app.core.engine", "app.ui.main_window", "app.worker"):
        assert name in MODULES, sorted(MODULES)
    graph = import_graph(MODULES)
    assert "app.core.network" in graph["app.core.training"]
    assert "app.ui.app" in graph["app.cli"]  # the import inside main()
    assert "PySide6.QtCore" in graph["app.worker"]


def test_core_imports_neither_qt_nor_the_ui():
    graph = import_graph(MODULES)
    bad = {
        name: sorted(t for t in targets if within(t, (*QT, "app.ui", "app.worker")))
        for name, targets in graph.items()
        if within(name, ("app.core",))
    }
    bad = {name: targets for name, targets in bad.items() if targets}
    assert not bad, f"app.core must stay free of Qt, app.ui and app.worker: {bad}"


def test_the_study_runner_imports_neither_qt_nor_the_ui():
    """app.study (the command line of studies) runs on machines without a display, in Dask workers too."""
    graph = import_graph(MODULES)
    assert "app.study" in graph and "app.core.study_spec" in graph["app.study"]
    bad = sorted(t for t in graph["app.study"] if within(t, (*QT, "app.ui", "app.worker")))
    assert not bad, f"app.study must stay free of Qt and the UI: {bad}"


def test_widgets_import_neither_the_main_window_nor_the_worker():
    graph = import_graph(MODULES)
    widgets = [name for name in graph if within(name, ("app.ui",)) and name not in WIRING_MODULES]
    assert "app.ui.network_view" in widgets and "app.ui.main_window" not in widgets
    forbidden = ("app.ui.main_window", "app.worker")
    bad = {name: sorted(t for t in graph[name] if within(t, forbidden)) for name in widgets}
    bad = {name: targets for name, targets in bad.items() if targets}
    assert not bad, f"widget modules must not import app.ui.main_window or app.worker: {bad}"


def test_no_import_cycles():
    cycles = find_cycles(import_graph(MODULES))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c", "x"}, "c": {"a"}, "d": {"d"}, "e": {"a"}, "x": set()}
    assert sorted(find_cycles(graph)) == [["a", "b", "c", "a"], ["d", "d"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_is_over_500_lines():
    lines = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    long = {name: n for name, n in lines.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# --- at run time: each core module imports where Qt cannot, so Qt pulled in indirectly is caught too ------

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


# --- the linter's rules, with SLF001 (no use of another object's private members), hold everywhere ---------
def test_ruff_finds_nothing():
    """`ruff check` with the project's rules (pyproject.toml): among them SLF001, so that modules, benchmarks,
    the soak and the tests use each other through public names; the few exceptions say why on their line."""
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "app", "bench", "soak", "tests"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
