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


def test_bench_thesis_reports_the_articles_measures(tmp_path):
    """The report of the article's claims (a quick run: one seed per preset, few epochs): its table and the
    medians' JSON line, each measure in range; the interpretable network's focus is 1 by construction."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UNBOXED_THESIS_SEEDS": "1",
           "UNBOXED_THESIS_EPOCHS": "150"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "bench", "thesis"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert {"thesis_focus_mlp", "thesis_focus_enn", "thesis_far100_mlp", "thesis_far100_enn"} <= set(figures)
    assert figures["thesis_runs"] == 6
    assert figures["thesis_focus_enn"] == 1.0 and 0.0 < figures["thesis_focus_mlp"] <= 1.0
    far = ("thesis_far100_mlp", "thesis_far100_enn", "thesis_far10_mlp", "thesis_far10_enn")
    assert all(0.0 <= figures[k] <= 1.0 for k in far)
    assert any(line.split()[:1] == ["all"] for line in lines)
