"""Append benchmark: appends/s and MB/s, Python hypercore beside JS hypercore 7.7.1 in the same run.

Rows: 1 KiB and 64 KiB blocks, single awaited appends and batches of 1 000 (``append(list)``), on each
backend.  JS runs on random-access-memory (``memory``) and random-access-file (``file``); JS has no LMDB
backend, so the Python ``lmdb`` rows are compared with JS ``file`` (both persist to disk).  Ratio =
Python rate / JS rate (>= 1.0 means Python is at least as fast), per interleaved pair; every figure is
``median [min-max]`` over ``--pairs`` pairs (default 5), with the CPU time per block of each side.

JS uses bench/js/node_modules (sodium-native, see bench/setup-native.sh) when installed, else the interop
harness's packages (sodium-javascript); the backend in use is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import HERE, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json  # noqa: E402

from hyperparty.feeds.hypercore import Hypercore  # noqa: E402
from hyperparty.storage import open_storage  # noqa: E402

BACKENDS = ("memory", "file", "lmdb")
JS_BACKEND = {"memory": "memory", "file": "file", "lmdb": "file"}


def counts(size: int, batch: int, quick: bool) -> int:
    """Blocks per row, tuned so each row takes about a second."""
    if size >= 65536:
        n = 2_000 if batch > 1 else 1_000
    else:
        n = 100_000 if batch > 1 else 20_000
    if quick:
        n = max(batch, n // 20)
    return n - n % batch


async def python_row(backend: str, size: int, count: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-") as tmp:
        spec = "memory" if backend == "memory" else f"{backend}:{tmp}/feed"
        core = Hypercore(open_storage(spec))
        await core.ready()
        block = b"x" * size
        blocks = [block] * batch
        started, cpu = time.perf_counter(), time.process_time()
        if batch == 1:
            for _ in range(count):
                await core.append(block)
        else:
            for _ in range(count // batch):
                await core.append(blocks)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert core.length == count
        await core.close()
        return {"seconds": seconds, "cpu": cpu}


def js_row(backend: str, size: int, count: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-js-") as tmp:
        return run_json(["node", str(HERE / "js" / "append.js"), "--storage", backend, "--dir", tmp, "--size",
                         str(size), "--count", str(count), "--batch", str(batch)], timeout=600)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--backend", choices=BACKENDS, action="append", help="only these backends")
    a = p.parse_args()
    pairs = pair_count(a)
    print(f"append bench: {machine_line()}; {pairs} interleaved pair(s) per row")
    print("python lmdb rows are compared with JS random-access-file (JS has no LMDB backend)")
    out = []
    for backend in a.backend or BACKENDS:
        for size in (1024, 65536):
            for batch in (1, 1000):
                count = counts(size, batch, a.quick)
                sides = {"py": lambda: asyncio.run(python_row(backend, size, count, batch))}
                if not a.python_only:
                    sides["js"] = lambda: js_row(JS_BACKEND[backend], size, count, batch)
                res = interleaved(pairs, sides)
                py, js = res["py"], res.get("js", [])
                secs = ([r["seconds"] for r in py], [r["seconds"] for r in js])

                def line(label: str, f, spec: str) -> tuple[str, str, str, str]:
                    return (label, fmt([f(r) for r in py], spec), fmt([f(r) for r in js], spec) if js else "-", "")

                mode = "single appends" if batch == 1 else "batches of 1000"
                print_table(f"{backend} {size // 1024} KiB, {mode}: {count} blocks", [
                    ("blocks/s", fmt([count / s for s in secs[0]], ".0f"),
                     fmt([count / s for s in secs[1]], ".0f") if js else "-", fmt(ratios(*secs)) if js else ""),
                    line("MB/s", lambda r: count * size / r["seconds"] / 1e6, ".1f"),
                    line("CPU µs/block", lambda r: r["cpu"] / count * 1e6, ".1f"),
                ])
                out.append({"backend": backend, "size": size, "batch": batch, "blocks": count, "py": py, "js": js})
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
