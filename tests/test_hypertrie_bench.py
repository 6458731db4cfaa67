"""bench/trie.py keeps running (its numbers are read in bench/, not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_trie_bench_runs_python_side() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "trie.py"), "--python-only", "--count", "2000", "--pairs", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "hypertrie: 2,000 keys, 1 pair(s)"
    figures = [line.split("|")[0].strip() for line in lines[3:]]
    assert figures == ["memory puts/s", "memory gets/s", "disk puts/s", "disk gets/s", "memory puts/CPU-s",
                       "memory gets/CPU-s", "disk puts/CPU-s", "disk gets/CPU-s", "sparse 100 gets, s",
                       "sparse blocks fetched"]
