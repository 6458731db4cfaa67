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
    out = result.stdout
    assert out.startswith("trie bench: ") and "2,000 keys, 1 interleaved pair(s) per row" in out
    assert "\nmemory: 2,000 keys  (1 pair)" in out and "\ndisk (Python LMDB" in out and "\nsparse reader" in out
    figures = [line.split("  ")[1] for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert figures == ["puts/s", "gets/s", "CPU µs/put", "CPU µs/get"] * 2 + ["100 gets, s", "blocks fetched"]
