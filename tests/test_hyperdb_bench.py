"""bench/db.py keeps running (its numbers are read in bench/, not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_db_bench_runs_python_side() -> None:
    result = subprocess.run([sys.executable, str(BENCH / "db.py"), "--quick", "--python-only", "--backend", "memory"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("db bench: ")
    assert "\nmemory, 1 writer: 2000 keys" in out and "\nmemory, 3 writers: 2000 keys" in out
    figures = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert figures == ["puts/s", "gets/s", "replicate", "CPU", "CPU"] * 2
