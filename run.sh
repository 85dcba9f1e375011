#!/usr/bin/env bash
# Sets everything up (first run only) and starts Unboxed; arguments go to main.py.
# ./run.sh --install-launcher instead adds Unboxed to the desktop's application menu.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
if [ "${1:-}" = "--install-launcher" ]; then
    exec .venv/bin/python -m app.launcher
fi
# Before the window opens on X11, name the system libraries Qt's xcb plugin lacks, with the line that installs
# them (Qt itself only aborts). Not for headless uses, nor offscreen or on Wayland (QT_QPA_PLATFORM, or unset).
case " $* " in *" --export"* | *" --save"* | *" --help "* | *" -h "* | *" --version "*) headless=1 ;; esac
platform=${QT_QPA_PLATFORM:-$([ -n "${WAYLAND_DISPLAY:-}" ] && echo wayland || echo xcb)}
if [ -z "${headless:-}" ] && [ "${platform%%;*}" = xcb ] && [ "$(uname -s)" = Linux ]; then
    .venv/bin/python -m app.system_libs || exit 1
fi
exec .venv/bin/python main.py "$@"
