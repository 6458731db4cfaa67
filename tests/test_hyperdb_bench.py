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
    rows = [line for line in result.stdout.splitlines() if line.startswith("memory")]
    assert [r.split()[2] for r in rows] == ["puts/s", "gets/s", "repl"] * 2
