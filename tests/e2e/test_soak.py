"""The quick soak run, as CI runs it: random GUI sessions, fuzzed files, injected faults, closing cycles,
hostile inputs and extreme inputs, with every count that must be zero at zero. (Its latency figure is
reported, not judged here: timing belongs to the benchmark and the soak report.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"gui_sequences", "gui_failures", "fuzzed_inputs", "loader_failures", "faults_injected",
        "faults_with_loss", "close_cycles", "leaked_threads", "close_mem_mb", "hostile_inputs",
        "hostile_failures", "extreme_cases", "extreme_failures", "ui_latency_ms_p95"}  # fmt: skip


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_quick_soak_finds_nothing(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d")}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "soak", "--quick"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=280)  # fmt: skip
    report = result.stdout.strip().splitlines()
    counts = json.loads(report[-1])
    assert KEYS <= set(counts), sorted(KEYS - set(counts))
    failed = [line for line in report if "FAILED" in line]
    assert result.returncode == 0 and not failed, "\n".join(failed) + result.stderr[-2000:]
    assert counts["gui_sequences"] >= 50 and counts["gui_actions_per_sequence"] >= 20
    assert len(counts["gui_class_counts"]) >= 4 and counts["gui_class_counts"][0] == 2  # 2 to 8 classes
    assert counts["fuzzed_inputs"] >= 500 and counts["close_cycles"] >= 10 and counts["hostile_inputs"] >= 60
    for key in ("gui_failures", "loader_failures", "faults_with_loss", "leaked_threads", "hostile_failures",
                "extreme_failures"):  # fmt: skip
        assert counts[key] == 0, key
    assert counts["close_mem_mb"] < 50


@pytest.mark.timeout(120)
def test_full_run_sequences_take_all_their_actions(tmp_path):
    """Full-run sequences take all their actions: hypothesis, left to itself, ends some early."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d")}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "soak.gui", "3", "32", "1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=110)  # fmt: skip
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["gui_failures"] == 0, counts["failures"]
    # (A sequence that overruns hypothesis's data budget, rarely, is thrown away and counted short.)
    assert (counts["gui_sequences"], counts["gui_rounds"]) == (3, 1)
    assert counts["gui_steps"] >= 3 * 33  # each sequence's checks also run once before its first action
