"""The benchmark command runs to its JSON line (a smoke test: timing belongs to the benchmark, not here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_live_prints_its_figures_as_the_last_line(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UNBOXED_BENCH_SECONDS": "0.3",
           "XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d")}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "bench", "live"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"bare_eps", "live_eps", "live_ratio", "live_fps"}
    assert all(value > 0 for value in figures.values())
