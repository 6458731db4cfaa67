"""Drive benchmark: importing a folder into a hyperdrive, reading it back and cloning it, Python beside JS
hyperdrive 9.16.0 in the same run, interleaved pairs.

Rows: 1 GiB of 1 MiB files (8 directories x 128) and 10 000 small files (10 directories x 1 000 x 1 000
bytes); ``--quick``: 32 MiB and 500 files, one pair.  The source tree is made once per row.  Each pair runs
one Python and one JS side, the order alternating from pair to pair; a side is, on the file layout JS uses
(random-access-file / ``file:DIR``), in fresh processes:

* import = every file streamed from disk into a new drive (Python ``write_file(path, file_object)``, JS
  ``fs.createReadStream(...).pipe(archive.createWriteStream(...))``, both 64 KiB blocks);
* read = every file streamed back and hashed (sha256), in the same process;
* clone = a server process serves the drive just imported and a fresh fetcher process of the same language
  replicates it (both feeds, non-live, over loopback TCP) into an empty directory.

Every figure is ``median [min-max]`` over the pairs; the ratio (Python speed / JS speed = JS seconds /
Python seconds, >= 1.0: Python at least as fast) is computed per pair.  CPU is process CPU time over the
measured window (the server's read from /proc), per 64 KiB content block; peak RSS is the process's
maximum resident set (import+read process, clone fetcher, clone server).  Unless ``--no-cross``, each row
ends with one Python -> JS and one JS -> Python clone (interop, not part of the ratio).

JS runs from bench/js/node_modules (sodium-native, built by bench/setup-native.sh) or, if that is missing,
tests/interop/node_modules (sodium-javascript); the backend in use is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    HERE, Server, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json,
)

PEERS = {"py": [sys.executable, str(HERE / "drive_peer.py")], "js": ["node", str(HERE / "js" / "drive-peer.js")]}
BLOCK = 65536


class Row(NamedTuple):
    name: str
    dirs: int
    per_dir: int
    size: int

    @property
    def files(self) -> int:
        return self.dirs * self.per_dir

    @property
    def total(self) -> int:
        return self.files * self.size

    @property
    def blocks(self) -> int:
        """Content blocks: every file is cut into 64 KiB blocks."""
        return self.files * -(-self.size // BLOCK)


def rows(quick: bool) -> list[Row]:
    return [Row("1 MiB files", 8, 4 if quick else 128, 1 << 20), Row("small files", 10, 50 if quick else 1000, 1000)]


def make_tree(root: Path, row: Row) -> None:
    for d in range(row.dirs):
        (root / f"dir{d}").mkdir(parents=True, exist_ok=True)
        for i in range(row.per_dir):
            (root / f"dir{d}" / f"file{i:04}.bin").write_bytes(os.urandom(row.size))


def files_under(src: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            out.append(os.path.relpath(os.path.join(dirpath, name), src).replace(os.sep, "/"))
    return out


async def python_worker(src: Path, dst: Path) -> dict:
    """The Python import + read run (``drive.py --worker SRC DST``, a fresh process)."""
    from hyperparty.feeds.hyperdrive import Hyperdrive

    drive = Hyperdrive(f"file:{dst}")
    await drive.ready()
    files = files_under(src)
    started, cpu = time.perf_counter(), time.process_time()
    for rel in files:
        with open(src / rel, "rb") as f:
            await drive.write_file("/" + rel, f)
    import_seconds, import_cpu = time.perf_counter() - started, time.process_time() - cpu
    total = 0
    started, cpu = time.perf_counter(), time.process_time()
    for rel in files:
        h = hashlib.sha256()
        async with drive.open("/" + rel) as f:
            async for chunk in f:
                h.update(chunk)
                total += len(chunk)
    read_seconds, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    await drive.close()
    return {"files": len(files), "bytes": total, "importSeconds": import_seconds, "readSeconds": read_seconds,
            "importCpu": import_cpu, "readCpu": read_cpu,
            "peakRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def import_read(side: str, src: Path, dst: Path) -> dict:
    shutil.rmtree(dst, ignore_errors=True)
    if side == "py":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(src), str(dst)]
    else:
        cmd = ["node", str(HERE / "js" / "drive-import.js"), "--src", str(src), "--dst", str(dst), "--read"]
    return run_json(cmd)


def clone(server_side: str, fetch_side: str, store: Path, dst: Path) -> dict:
    """One clone: ``server_side`` serves the drive in ``store``, a fresh ``fetch_side`` process clones it."""
    shutil.rmtree(dst, ignore_errors=True)
    try:
        with Server(PEERS[server_side] + ["serve", "--dir", str(store)]) as server:
            cpu = server.cpu()
            r = run_json(PEERS[fetch_side] + ["fetch", "--key", server.info["key"], "--port",
                                              str(server.info["port"]), "--dir", str(dst)])
            r["serverCpu"] = server.cpu() - cpu
            r["serverPeakRss"] = server.peak_rss()
    finally:
        shutil.rmtree(dst, ignore_errors=True)
    return r


def side_run(side: str, row: Row, tmp: Path) -> dict:
    """One side of a pair: import + read into ``tmp/dst-SIDE``, then clone it with the same language."""
    r = import_read(side, tmp / "src", tmp / f"dst-{side}")
    if r["files"] != row.files or r["bytes"] != row.total:
        raise SystemExit(f"{side} read back {r['files']} files, {r['bytes']} bytes of {row.files}, {row.total}")
    r["clone"] = clone(side, side, tmp / f"dst-{side}", tmp / "clone")
    if r["clone"]["bytes"] != row.total:
        raise SystemExit(f"{side} cloned {r['clone']['bytes']} of {row.total} bytes")
    return r


def report(row: Row, results: dict[str, list[dict]]) -> None:
    py, js = results["py"], results.get("js", [])
    mb, n = row.total / 1e6, row.blocks

    def line(label: str, f: Callable[[dict], float], spec: str) -> tuple[str, str, str, str]:
        return (label, fmt([f(r) for r in py], spec), fmt([f(r) for r in js], spec) if js else "-", "")

    def speed(label: str, f: Callable[[dict], float]) -> tuple[str, str, str, str]:
        p, j = [f(r) for r in py], [f(r) for r in js]
        return (label, fmt([mb / s for s in p], ".1f"), fmt([mb / s for s in j], ".1f") if js else "-",
                fmt(ratios(p, j)) if js else "")

    def clone_of(f: Callable[[dict], float]) -> Callable[[dict], float]:
        return lambda r: f(r["clone"])

    print_table(f"{row.name}: {row.files} files, {row.total / 2**20:.1f} MiB, {n} content blocks  "
                f"({len(py)} pair{'s' if len(py) != 1 else ''})", [
        speed("import MB/s", lambda r: r["importSeconds"]),
        line("import files/s", lambda r: row.files / r["importSeconds"], ".0f"),
        line("import CPU µs/block", lambda r: r["importCpu"] / n * 1e6, ".1f"),
        speed("read MB/s", lambda r: r["readSeconds"]),
        line("read CPU µs/block", lambda r: r["readCpu"] / n * 1e6, ".1f"),
        line("import+read peak RSS MB", lambda r: r["peakRss"] / 2**20, ".0f"),
        speed("clone MB/s (same lang)", clone_of(lambda c: c["seconds"])),
        line("clone files/s", clone_of(lambda c: row.files / c["seconds"]), ".0f"),
        line("fetcher CPU µs/block", clone_of(lambda c: c["cpu"] / n * 1e6), ".1f"),
        line("server CPU µs/block", clone_of(lambda c: c["serverCpu"] / n * 1e6), ".1f"),
        line("fetcher peak RSS MB", clone_of(lambda c: c["peakRss"] / 2**20), ".0f"),
        line("server peak RSS MB", clone_of(lambda c: c["serverPeakRss"] / 2**20), ".0f"),
    ])


def run_row(row: Row, tmp: Path, pairs: int, python_only: bool, cross: bool) -> dict:
    src = tmp / "src"
    shutil.rmtree(src, ignore_errors=True)
    make_tree(src, row)
    sides: dict[str, Callable[[], dict]] = {"py": lambda: side_run("py", row, tmp)}
    if not python_only:
        sides["js"] = lambda: side_run("js", row, tmp)
    try:
        results = interleaved(pairs, sides)
        report(row, results)
        crosses = {}
        if cross and not python_only:
            for server_side, fetch_side in (("py", "js"), ("js", "py")):
                c = clone(server_side, fetch_side, tmp / f"dst-{server_side}", tmp / "clone")
                crosses[f"{server_side}->{fetch_side}"] = c
                print(f"  cross {server_side} -> {fetch_side} clone: {c['seconds']:.2f} s, "
                      f"{row.total / c['seconds'] / 1e6:.1f} MB/s, fetcher peak RSS {c['peakRss'] / 2**20:.0f} MB")
    finally:
        for name in ("src", "dst-py", "dst-js", "clone"):
            shutil.rmtree(tmp / name, ignore_errors=True)
    return {"row": row.name, "files": row.files, "bytes": row.total, "blocks": row.blocks, **results,
            "cross": crosses}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--no-cross", action="store_true", help="skip the Python -> JS and JS -> Python clones")
    p.add_argument("--tmp", help="scratch directory (default: a new temporary one)")
    p.add_argument("--worker", nargs=2, metavar=("SRC", "DST"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(asyncio.run(python_worker(Path(a.worker[0]), Path(a.worker[1])))))
        return 0
    pairs = pair_count(a)
    print(f"drive bench: {machine_line()}; {pairs} interleaved pair(s) per row")
    with tempfile.TemporaryDirectory(prefix="hp-drive-bench-", dir=a.tmp) as tmp:
        out = [run_row(row, Path(tmp), pairs, a.python_only, not a.no_cross) for row in rows(a.quick)]
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
