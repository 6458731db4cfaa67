"""Drive benchmark: importing a folder into a hyperdrive and reading it back, Python beside JS hyperdrive
9.16.0 in the same run, with the peak RSS of each side.

Rows: 1 GiB of 1 MiB files (8 directories x 128) and 10 000 small files (10 directories x 1 000 x 1 000
bytes); ``--quick``: 32 MiB and 500 files.  Each side runs in a fresh process on the file layout JS uses
(random-access-file / ``file:DIR``): import = every file streamed from disk into the drive (Python
``write_file(path, file_object)``, JS ``fs.createReadStream(...).pipe(archive.createWriteStream(...))``,
both 64 KiB blocks); read = every file streamed back and hashed (sha256); clone = a fresh process
replicates the imported drive (both feeds, non-live, over loopback TCP) into an empty directory, for the
four pairs server -> fetcher (py/js), with the peak RSS of the fetcher and of the server.  Ratio = JS
seconds / Python seconds (>= 1.0: Python at least as fast; clone: JS->JS over Python->Python).

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = {"py": [sys.executable, str(HERE / "drive_peer.py")], "js": ["node", str(HERE / "js" / "drive-peer.js")]}


def make_tree(root: Path, dirs: int, per_dir: int, size: int) -> None:
    for d in range(dirs):
        (root / f"dir{d}").mkdir(parents=True, exist_ok=True)
        for i in range(per_dir):
            (root / f"dir{d}" / f"file{i:04}.bin").write_bytes(os.urandom(size))


def files_under(src: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            out.append(os.path.relpath(os.path.join(dirpath, name), src).replace(os.sep, "/"))
    return out


async def python_worker(src: Path, dst: Path, read: bool) -> dict:
    from hyperparty.feeds.hyperdrive import Hyperdrive

    drive = Hyperdrive(f"file:{dst}")
    await drive.ready()
    files = files_under(src)
    started = time.perf_counter()
    for rel in files:
        with open(src / rel, "rb") as f:
            await drive.write_file("/" + rel, f)
    import_seconds = time.perf_counter() - started
    read_seconds, total = None, 0
    if read:
        started = time.perf_counter()
        for rel in files:
            h = hashlib.sha256()
            async with drive.open("/" + rel) as f:
                async for chunk in f:
                    h.update(chunk)
                    total += len(chunk)
        read_seconds = time.perf_counter() - started
    await drive.close()
    return {"files": len(files), "bytes": total, "importSeconds": import_seconds, "readSeconds": read_seconds,
            "maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_side(side: str, src: Path, dst: Path) -> dict:
    if side == "py":
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(src), str(dst)]
    else:
        cmd = ["node", str(HERE / "js" / "drive-import.js"), "--src", str(src), "--dst", str(dst), "--read"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"{side} drive run failed: {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def clone_pair(server_side: str, fetch_side: str, store: Path, dst: Path) -> dict:
    """One clone: ``server_side`` serves the drive in ``store``, a fresh ``fetch_side`` process clones it."""
    shutil.rmtree(dst, ignore_errors=True)
    server = subprocess.Popen(PEERS[server_side] + ["serve", "--dir", str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        result = subprocess.run(PEERS[fetch_side] + ["fetch", "--key", info["key"], "--port", str(info["port"]),
                                                     "--dir", str(dst)], capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise SystemExit(f"{server_side}->{fetch_side} clone failed: {result.stderr.strip()[-800:]}")
        fetched = json.loads(result.stdout.strip().splitlines()[-1])
        server.stdin.close()
        fetched["serverMaxRssMB"] = json.loads(server.stdout.read().strip().splitlines()[-1])["maxRssMB"]
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
        shutil.rmtree(dst, ignore_errors=True)
    return fetched


def run_row(name: str, tmp: Path, dirs: int, per_dir: int, size: int) -> dict:
    src = tmp / "src"
    shutil.rmtree(src, ignore_errors=True)
    make_tree(src, dirs, per_dir, size)
    results = {}
    for side in ("py", "js"):
        dst = tmp / f"dst-{side}"
        shutil.rmtree(dst, ignore_errors=True)
        results[side] = run_side(side, src, dst)
    shutil.rmtree(src, ignore_errors=True)
    clones = {f"{a}->{b}": clone_pair(a, b, tmp / f"dst-{a}", tmp / "clone") for a in ("py", "js") for b in ("py", "js")}
    for side in ("py", "js"):
        shutil.rmtree(tmp / f"dst-{side}", ignore_errors=True)
    total = dirs * per_dir * size
    print(f"\n{name}: {dirs * per_dir} files, {total / 2**20:.0f} MiB (JS on {results['js'].get('sodium', '?')})")
    print(f"  {'side':<6} {'import MB/s':>11} {'files/s':>9} {'read MB/s':>10} {'peak RSS':>10}")
    for side, r in results.items():
        print(f"  {side:<6} {total / r['importSeconds'] / 1e6:11.1f} {r['files'] / r['importSeconds']:9.0f} "
              f"{total / r['readSeconds'] / 1e6:10.1f} {r['maxRssMB']:7.0f} MB")
    print(f"  {'clone':<8} {'MB/s':>8} {'files/s':>9} {'fetcher RSS':>12} {'server RSS':>11}")
    for pair, r in clones.items():
        print(f"  {pair:<8} {total / r['seconds'] / 1e6:8.1f} {dirs * per_dir / r['seconds']:9.0f} "
              f"{r['maxRssMB']:9.0f} MB {r['serverMaxRssMB']:8.0f} MB")
    ratios = {k: results["js"][f"{k}Seconds"] / results["py"][f"{k}Seconds"] for k in ("import", "read")}
    ratios["clone"] = clones["js->js"]["seconds"] / clones["py->py"]["seconds"]
    print(f"  ratio JS/Python: import {ratios['import']:.2f}, read {ratios['read']:.2f}, clone {ratios['clone']:.2f}")
    return {"row": name, "files": dirs * per_dir, "bytes": total, "ratios": ratios, "sides": results, "clones": clones}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small trees (a smoke run)")
    p.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    p.add_argument("--tmp", help="scratch directory (default: a new temporary one)")
    p.add_argument("--worker", nargs=2, metavar=("SRC", "DST"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(asyncio.run(python_worker(Path(a.worker[0]), Path(a.worker[1]), True))))
        return 0
    rows = [("1 MiB files", 8, 4 if a.quick else 128, 1 << 20), ("small files", 10, 50 if a.quick else 1000, 1000)]
    with tempfile.TemporaryDirectory(prefix="hp-drive-bench-", dir=a.tmp) as tmp:
        results = [run_row(name, Path(tmp), dirs, per_dir, size) for name, dirs, per_dir, size in rows]
    if a.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
