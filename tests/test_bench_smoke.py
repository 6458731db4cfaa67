"""The benchmarks keep running (their numbers are read in bench/, not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_append_bench_runs_python_side() -> None:
    out = run(str(BENCH / "append.py"), "--quick", "--python-only", "--backend", "memory")
    assert out.count("\nmemory ") == 4
    assert out.count("CPU µs/block") == 4


def test_party_bench_runs_python_side() -> None:
    out = run(str(BENCH / "party.py"), "--peers", "3", "--blocks", "20", "--python-only", "--pairs", "2")
    assert "3 peers x 1 feed x 20 blocks" in out and "CPU µs/block copy" in out


def test_replicate_bench_runs_python_side() -> None:
    out = run(str(BENCH / "replicate.py"), "--quick", "--python-only", "--row", "2", "--row", "4")
    assert out.count("fetcher CPU µs/block") == 2 and "uploader CPU µs/block" in out


def test_scale_bench_runs_python_side() -> None:
    out = run(str(BENCH / "scale.py"), "--quick", "--python-only", "--blocks", "3000")
    assert "append 3000 x 1024 B" in out and "fetch 3000 x 1024 B into memory" in out and "into disk" in out


def test_drive_bench_runs_python_side() -> None:
    out = run(str(BENCH / "drive.py"), "--quick", "--python-only")
    assert "1 MiB files: 32 files" in out and "small files: 500 files" in out
    assert out.count("import CPU µs/block") == 2 and out.count("fetcher peak RSS MB") == 2
