"""Shared plumbing of the benchmarks: interleaved Python/JS pairs, min / median / max, CPU and RSS.

Every bench measures *pairs*: one Python run and one JS run of the same work, back to back, the order
alternating from pair to pair (Python first, then JS first, ...) so a load change on this shared machine
hits both sides alike.  A figure is printed as ``median [min-max]`` over the pairs; the ratio is computed
per pair (Python speed / JS speed, >= 1.0 means Python is at least as fast) and summarised the same way.

CPU figures are the CPU time (user + system, every thread) a process spent inside the measured window:
fetchers and appenders report their own (``time.process_time`` / ``process.cpuUsage``), servers are read
from ``/proc/<pid>/stat`` before and after each fetch.  Peak RSS is ``ru_maxrss`` (Python), the highest
``process.memoryUsage().rss`` sampled (JS), or ``VmHWM`` of ``/proc/<pid>/status`` (servers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# -- statistics -------------------------------------------------------------------------------------


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """``(min, median, max)`` of ``values``."""
    if not values:
        return (float("nan"),) * 3
    return min(values), statistics.median(values), max(values)


def fmt(values: Sequence[float], spec: str = ".2f") -> str:
    """``median [min-max]``; a single value prints alone."""
    lo, mid, hi = spread(values)
    if len(values) == 1:
        return format(mid, spec)
    return f"{format(mid, spec)} [{format(lo, spec)}\u2013{format(hi, spec)}]"


def ratios(py_seconds: Sequence[float], js_seconds: Sequence[float]) -> list[float]:
    """Per pair: Python speed / JS speed = JS time / Python time."""
    return [j / p for p, j in zip(py_seconds, js_seconds)]


# -- processes --------------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_peak_rss(pid: int) -> int:
    """Peak resident set size of process ``pid`` in bytes (``VmHWM``)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def last_json(stdout: str) -> dict:
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"no JSON result in output: {stdout[-300:]!r}")
    return json.loads(lines[-1])


def run_json(cmd: Sequence[str], timeout: float = 1800, retry_exit: int | None = None, retries: int = 2) -> dict:
    """Run ``cmd`` to completion; its last JSON line on stdout.

    A run that exits with ``retry_exit`` (a peer's "stalled, not failed" code) is run again, up to
    ``retries`` more times."""
    for attempt in range(retries + 1):
        result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
        if retry_exit is not None and result.returncode == retry_exit and attempt < retries:
            print(f"{' '.join(cmd[:3])} ...: {result.stderr.strip()[-300:]}; running it again", file=sys.stderr,
                  flush=True)
            continue
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} ... failed: {result.stderr.strip()[-800:]}")
        break
    return last_json(result.stdout)


class Server:
    """A long-running peer that prints one JSON line when ready (``{"port", "key", ...}``)."""

    def __init__(self, cmd: Sequence[str], timeout: float = 1800) -> None:
        self.proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise SystemExit(f"server {' '.join(cmd[:3])} failed to start")
        self.info: dict = json.loads(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def peak_rss(self) -> int:
        return proc_peak_rss(self.proc.pid)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def interleaved(pairs: int, sides: dict[str, Callable[[], dict]]) -> dict[str, list[dict]]:
    """Run each side once per pair, rotating which side goes first; results per side, in pair order."""
    names = list(sides)
    out: dict[str, list[dict]] = {name: [] for name in names}
    for k in range(pairs):
        order = names[k % len(names):] + names[: k % len(names)]
        for name in order:
            out[name].append(sides[name]())
    return out


def js_sodium() -> str:
    """Which sodium the JS side runs on (bench/js/node_modules when installed)."""
    try:
        out = subprocess.run(["node", str(JS_DIR / "resolve.js")], capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# -- printing ---------------------------------------------------------------------------------------


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pairs", type=int, default=None, help="interleaved Python/JS pairs per row (default 5)")
    p.add_argument("--quick", action="store_true", help="one pair, small sizes (a smoke run)")
    p.add_argument("--python-only", action="store_true", help="skip the JS side")
    p.add_argument("--json", action="store_true", help="also print every measurement as one JSON line")


def pair_count(a: argparse.Namespace) -> int:
    if a.pairs is not None:
        return max(1, a.pairs)
    return 1 if a.quick else 5


def print_table(title: str, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """A figure table: (label, python, js, ratio) rows under ``title``."""
    rows = list(rows)
    widths = [max(len(r[i]) for r in rows + [("", "Python", "JS", "ratio py/js")]) for i in range(4)]
    print(f"\n{title}")
    head = ("", "Python", "JS", "ratio py/js")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


def machine_line() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {load[0]:.1f}, "
            f"Python {sys.version.split()[0]}, JS on {js_sodium()}")
