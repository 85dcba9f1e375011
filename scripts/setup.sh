#!/usr/bin/env bash
# Creates .venv and installs the project with its test tools; skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.unboxed-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing dependencies into .venv (first run takes about a minute)..." >&2
    # pip compiles what it installs on one core; compileall afterwards uses every core (20 s sooner on 2).
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[test]" \
        2> >(grep -v "is ignored: it is neither" >&2)
    .venv/bin/python -m compileall -q -j 0 .venv/lib > /dev/null 2>&1 || true  # a file it cannot compile compiles on import
    echo "$want" > "$stamp"
fi
