"""Replication benchmark: Python hypercore peers beside JS hypercore 7.7.1 peers over loopback TCP.

Each row starts one Python server and one JS server holding the same feed (appended in batches of 1 000,
memory storage), then runs ``--pairs`` interleaved pairs of fetches: Python -> Python and JS -> JS, each
fetch a fresh process downloading the whole feed non-live.  Printed per row, as ``median [min-max]``:
time, blocks/s, the fetcher's and the uploader's CPU per block (µs), the fetcher's peak RSS, and the
ratio Python speed / JS speed computed per pair.

Rows (``--quick``: 8 MiB and 10 000 blocks, one pair):

* 64 KiB x 1 024 (64 MiB), memory, pipeline depth 16 on both sides (both defaults);
* 1 KiB x 100 000, memory, depth 16 on both sides (like for like);
* 1 KiB x 100 000, memory, tuned defaults (Python: adaptive up to 128 requests in flight; JS: 16);
* 1 KiB x 100 000, fetcher on disk, tuned defaults: Python LMDB beside JS random-access-file (JS has no
  LMDB backend).

``--cross`` adds the Python -> JS and JS -> Python fetches (interop, not part of the ratio).  Larger feeds:
bench/scale.py.  JS runs from bench/js/node_modules (sodium-native, bench/setup-native.sh) or, when that is
missing, tests/interop/node_modules (sodium-javascript); the backend in use is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    HERE, Server, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json,
)

PY_PEER = [sys.executable, str(HERE / "replicate_peer.py")]
JS_PEER = ["node", str(HERE / "js" / "replicate.js")]


class Row(NamedTuple):
    name: str
    blocks: int
    size: int
    storage: str  # "memory" or "disk" (Python lmdb, JS file)
    py_depth: int | None  # None: our default
    js_depth: int | None


def rows(quick: bool) -> list[Row]:
    big, small = (128, 10_000) if quick else (1024, 100_000)
    return [
        Row(f"64 KiB x {big}, memory, depth 16 both (like for like; both defaults)", big, 65536, "memory", 16, 16),
        Row(f"1 KiB x {small}, memory, depth 16 both (like for like)", small, 1024, "memory", 16, 16),
        Row(f"1 KiB x {small}, memory, tuned defaults (Python adaptive <= 128, JS 16)", small, 1024, "memory", None,
            None),
        Row(f"1 KiB x {small}, on disk (Python LMDB, JS random-access-file), tuned defaults", small, 1024, "disk",
            None, None),
    ]


def fetch(cmd: list[str], server: Server, row: Row, lang: str) -> dict:
    args = ["fetch", "--key", server.info["key"], "--port", str(server.info["port"])]
    depth = row.py_depth if lang == "py" else row.js_depth
    if depth:
        args += ["--max-requests", str(depth)]
    tmp = None
    if row.storage == "disk":
        tmp = tempfile.mkdtemp(prefix=f"hp-bench-{lang}-")
        args += ["--storage", "lmdb" if lang == "py" else "file", "--dir", tmp]
    try:
        cpu0 = server.cpu()
        r = run_json(cmd + args)
        r["serverCpu"] = server.cpu() - cpu0
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if r["blocks"] != row.blocks or r.get("downloaded", row.blocks) != row.blocks:
        raise SystemExit(f"{lang} fetched {r.get('downloaded')} of {row.blocks} blocks")
    return r


def report(row: Row, results: dict[str, list[dict]]) -> dict:
    py, js = results["py"], results.get("js", [])
    n = row.blocks

    def col(rs: list[dict], f) -> list[float]:
        return [f(r) for r in rs]

    def line(label: str, f, spec: str, ratio: bool = False) -> tuple[str, str, str, str]:
        p, j = col(py, f), col(js, f)
        return (label, fmt(p, spec), fmt(j, spec) if j else "-",
                fmt([b / a for a, b in zip(p, j)], ".2f") if ratio and j else "")

    table = [
        ("time s", fmt(col(py, lambda r: r["seconds"]), ".2f"), fmt(col(js, lambda r: r["seconds"]), ".2f") if js else "-",
         fmt(ratios(col(py, lambda r: r["seconds"]), col(js, lambda r: r["seconds"]))) if js else ""),
        line("blocks/s", lambda r: n / r["seconds"], ".0f"),
        line("MB/s", lambda r: n * row.size / r["seconds"] / 1e6, ".1f"),
        line("fetcher CPU µs/block", lambda r: r["cpu"] / n * 1e6, ".1f"),
        line("uploader CPU µs/block", lambda r: r["serverCpu"] / n * 1e6, ".1f"),
        line("fetcher peak RSS MB", lambda r: r["peakRss"] / 2**20, ".0f"),
    ]
    print_table(f"{row.name}  ({len(py)} pair{'s' if len(py) != 1 else ''})", table)
    return {"row": row.name, "blocks": n, "size": row.size, "storage": row.storage, "py_depth": row.py_depth,
            "js_depth": row.js_depth, "py": py, "js": js}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--row", type=int, action="append", help="only these rows (1-based, repeatable)")
    p.add_argument("--cross", action="store_true", help="also fetch Python -> JS and JS -> Python (once per row)")
    a = p.parse_args()
    pairs = pair_count(a)
    print(f"replication bench: {machine_line()}; {pairs} interleaved pair(s) per row")
    selected = [r for k, r in enumerate(rows(a.quick), 1) if not a.row or k in a.row]
    servers: dict[tuple[int, int], dict[str, Server]] = {}
    out = []
    try:
        for row in selected:
            key = (row.blocks, row.size)
            if key not in servers:
                for old in servers.values():
                    for s in old.values():
                        s.stop()
                servers.clear()
                servers[key] = {"py": Server(PY_PEER + ["serve", "--blocks", str(row.blocks), "--size", str(row.size)])}
                if not a.python_only:
                    servers[key]["js"] = Server(JS_PEER + ["serve", "--blocks", str(row.blocks), "--size", str(row.size)])
            srv = servers[key]
            sides = {"py": lambda row=row: fetch(PY_PEER, srv["py"], row, "py")}
            if not a.python_only:
                sides["js"] = lambda row=row: fetch(JS_PEER, srv["js"], row, "js")
            results = interleaved(pairs, sides)
            out.append(report(row, results))
            if a.cross and not a.python_only:
                for src, dst, cmd in (("py", "js", JS_PEER), ("js", "py", PY_PEER)):
                    r = fetch(cmd, srv[src], row, dst)
                    print(f"  cross {src} -> {dst}: {r['seconds']:.2f} s, {row.blocks / r['seconds']:.0f} blocks/s")
    finally:
        for group in servers.values():
            for s in group.values():
                s.stop()
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
