#!/usr/bin/env bash
# Sets everything up (first run only) and runs the whole test suite without a display. With no arguments:
# every test but the soak run in two processes side by side, then the quick soak run on its own (it measures
# the window's responsiveness, and runs processes of its own). With arguments: plain pytest with them.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
if [ $# -gt 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
.venv/bin/python -m pytest --numprocesses 2 -m "not soak"
exec .venv/bin/python -m pytest -m soak
