#!/usr/bin/env bash
# Sets everything up (first run only) and runs the whole test suite without a display.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
