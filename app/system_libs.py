"""Whether the window can open on X11: the system libraries that Qt's xcb platform plugin needs and this
machine lacks (a bare Linux often does, and Qt then aborts with "could not load the Qt platform plugin xcb"),
and the line that installs them. Found with ldd, without importing PySide6, since loading it is the question.
`python -m app.system_libs` prints that line and exits 1 when some are missing, else exits 0 quietly."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib.util import find_spec
from pathlib import Path

OS_RELEASE = Path("/etc/os-release")
XCB_PLUGIN = Path("Qt", "plugins", "platforms", "libqxcb.so")  # inside the PySide6 package
_XCB_RPM = "libxcb"  # Fedora ships every libxcb-*.so of the xcb protocol in one package
# soname: (Debian/Ubuntu package, Fedora package)
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", _XCB_RPM),
    "libxcb-shape.so.0": ("libxcb-shape0", _XCB_RPM),
    "libxcb-randr.so.0": ("libxcb-randr0", _XCB_RPM),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", _XCB_RPM),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", _XCB_RPM),
    "libxcb-xinput.so.0": ("libxcb-xinput0", _XCB_RPM),
    "libxcb-sync.so.1": ("libxcb-sync1", _XCB_RPM),
    "libxcb-shm.so.0": ("libxcb-shm0", _XCB_RPM),
    "libxcb-render.so.0": ("libxcb-render0", _XCB_RPM),
    "libxcb-glx.so.0": ("libxcb-glx0", _XCB_RPM),
    "libxcb.so.1": ("libxcb1", _XCB_RPM),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libz.so.1": ("zlib1g", "zlib"),
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames that ldd's output reports "not found" (ldd follows dependencies of dependencies too), each
    once, sorted."""
    return sorted(set(_NOT_FOUND.findall(ldd_output)))


def parse_os_release(text: str) -> dict[str, str]:
    """/etc/os-release's KEY=value lines (values may be shell-quoted)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            try:
                words = shlex.split(value)
            except ValueError:  # an unbalanced quote: take the line as it stands
                words = [value]
            fields[key] = " ".join(words)
    return fields


def family(os_release: Mapping[str, str]) -> str | None:
    """ "debian" (Debian, Ubuntu, Mint, ...), "fedora" (Fedora, RHEL, CentOS, Rocky, ...), or None."""
    ids = [os_release.get("ID", ""), *os_release.get("ID_LIKE", "").split()]
    for known, members in (("debian", ("debian", "ubuntu")), ("fedora", ("fedora", "rhel", "centos"))):
        if any(name.lower() in members for name in ids):
            return known
    return None


def install_line(sonames: Iterable[str], os_release: Mapping[str, str]) -> str | None:
    """The command that installs the packages providing `sonames` on this distribution, or None when it is
    not a known one. On Fedora a soname without a known package is asked for by what it provides."""
    sonames = list(sonames)
    kind = family(os_release)
    if kind == "debian":
        packages = {PACKAGES[name][0] for name in sonames if name in PACKAGES}
        return f"sudo apt-get install {' '.join(sorted(packages))}" if packages else None
    if kind == "fedora":
        packages = {PACKAGES[name][1] if name in PACKAGES else f"'{name}()(64bit)'" for name in sonames}
        return f"sudo dnf install {' '.join(sorted(packages))}"
    return None


def message(sonames: Iterable[str], os_release: Mapping[str, str]) -> str:
    """What to tell someone whose system lacks `sonames`: what is missing, then the line that installs it."""
    sonames = list(sonames)
    lines = [f"unboxed: the window needs system libraries that are missing: {' '.join(sonames)}"]
    line = install_line(sonames, os_release)
    unmapped = [name for name in sonames if name not in PACKAGES] if line else sonames
    if line:
        lines.append(f"Install them with:\n    {line}")
    if unmapped and family(os_release) != "fedora":  # dnf's line asks for those by name already
        lines.append(f"Install the packages that provide {' '.join(unmapped)} "
                     "(your package manager can search by file name).")  # fmt: skip
    lines.append("(Exports and tests need none of them: they run offscreen.)")
    return "\n".join(lines)


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, found without importing PySide6; None where there is none (not Linux,
    or PySide6 missing)."""
    spec = find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (plugin := Path(folder) / XCB_PLUGIN).is_file():
            return plugin
    return None


def missing_for_window() -> list[str] | None:
    """The sonames the xcb plugin cannot find here; None when that cannot be told (no plugin, no ldd)."""
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return None
    try:
        result = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return missing_libraries(result.stdout)


def main() -> int:
    missing = missing_for_window()
    if not missing:
        return 0
    try:
        os_release = parse_os_release(OS_RELEASE.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        os_release = {}
    print(message(missing, os_release), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
