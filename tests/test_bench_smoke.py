"""The benchmarks keep running (their numbers are read in bench/, not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_append_bench_runs_python_side() -> None:
    result = subprocess.run([sys.executable, str(BENCH / "append.py"), "--quick", "--python-only", "--backend", "memory"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("memory")]
    assert len(rows) == 4


def test_party_bench_runs_python_side() -> None:
    result = subprocess.run([sys.executable, str(BENCH / "party.py"), "--peers", "3", "--blocks", "20", "--python-only"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Python (multifeed rules)" in result.stdout
