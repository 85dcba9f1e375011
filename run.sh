#!/usr/bin/env bash
# Sets everything up (first run only) and starts Unboxed; arguments go to main.py.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python main.py "$@"
