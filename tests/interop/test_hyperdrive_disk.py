"""Python hyperdrive <-> real hyperdrive 9.16.0 on the same directory (random-access-file layout:
DIR/metadata/*, DIR/content/*).

- a drive written by JS is read by Python (every readdir, stat and file's bytes, the history, a
  checkout), Python writes more into it and JS reads the result;
- a drive written by Python on the file: backend is read by JS the same way;
- written by both from the same seed and operations, the two directories hold the same key, tree, data
  and bitfield files (signatures are per append batch, and Python batches content appends).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdrive import Hyperdrive

from hyperdrive_ops import run_op, walk
from jsnode import run_node

SEED = bytes([0x05]) * 32
OPS = [
    ["writeFile", "/readme.txt", {"text": "hello"}],
    ["mkdir", "/docs", {"mode": 0o750}],
    ["writeFile", "/docs/a.md", {"text": "# a"}],
    ["writeFile", "/docs/deep/er/b.bin", {"pattern": {"size": 300000, "seed": 5}}],
    ["writeFile", "/empty", {"text": ""}],
    ["writeStream", "/stream.log", [{"text": "line1\n"}, {"text": "line2\n"}]],
    ["writeFile", "/readme.txt", {"text": "hello again"}],
    ["writeFile", "/gone.txt", {"text": "x"}],
    ["unlink", "/gone.txt"],
    ["mkdir", "/tmp", {"uid": 1000, "gid": 1000}],
    ["rmdir", "/tmp"],
    ["writeFile", "/unicodé/ñ.txt", {"text": "ü"}, {"mode": 0o600, "uid": 3, "gid": 4}],
]
MORE = [
    ["writeFile", "/docs/added-by-python.txt", {"pattern": {"size": 70000, "seed": 9}}],
    ["unlink", "/docs/a.md"],
    ["mkdir", "/new-dir"],
]


def js_write(dir: Path, ops: list, seed: bytes | None = None) -> dict:
    args = ["--dir", dir, "--ops", json.dumps(ops), "--timeout-ms", "60000"]
    if seed is not None:
        args += ["--seed", seed.hex()]
    [out] = run_node("hyperdrive-write.js", *args, timeout=60)
    return out


def js_read(dir: Path, *args) -> dict:
    [out] = run_node("hyperdrive-read.js", "--dir", dir, "--timeout-ms", "60000", *args, timeout=60)
    return out


async def py_report(drive: Hyperdrive) -> dict:
    tree = await walk(drive)
    history = [{"type": c.type, "version": c.version, "name": c.name} async for c in drive.history()]
    return {**tree, "history": history}


def js_report(out: dict) -> dict:
    return {"readdir": out["readdir"], "entries": out["entries"], "history": out["history"]}


async def test_js_writes_python_reads_and_appends(tmp_path: Path) -> None:
    where = tmp_path / "js"
    written = js_write(where, OPS, SEED)
    expected = js_read(where)
    assert expected["entries"]["/docs/deep/er/b.bin"]["size"] == 300000

    drive = Hyperdrive(f"file:{where}")
    await drive.ready()
    assert drive.key.hex() == written["key"] and drive.content.key.hex() == written["contentKey"]
    assert drive.writable and drive.content.writable  # the content secret is derived, never stored
    assert drive.version == written["version"]
    assert await py_report(drive) == js_report(expected)
    old = js_read(where, "--version", "6")
    assert await walk(drive.checkout(6)) == {"readdir": old["readdir"], "entries": old["entries"]}

    for op in MORE:
        await run_op(drive, op)
    mine = await py_report(drive)
    await drive.close()
    assert not (where / "content" / "secret_key").exists() or (where / "content" / "secret_key").stat().st_size == 0
    after = js_read(where)
    assert js_report(after) == mine
    assert after["version"] == written["version"] + len(MORE)


async def test_python_writes_js_reads(tmp_path: Path) -> None:
    where = tmp_path / "py"
    drive = Hyperdrive(f"file:{where}", secret_key=key_pair(SEED)[1])
    await drive.ready()
    for op in OPS:
        await run_op(drive, op)
    mine = await py_report(drive)
    key, version = drive.key.hex(), drive.version
    await drive.close()
    assert sorted(p.name for p in where.iterdir()) == ["content", "metadata"]
    assert (where / "metadata" / "secret_key").stat().st_size == 64
    assert not (where / "content" / "secret_key").exists()

    out = js_read(where)
    assert out["key"] == key and out["version"] == version and out["writable"]
    assert js_report(out) == mine
    # JS keeps writing into the Python drive; Python reads the result
    js_write(where, MORE)
    drive = Hyperdrive(f"file:{where}")
    assert await py_report(drive) == js_report(js_read(where))
    await drive.close()


@pytest.mark.parametrize("feed", ["metadata", "content"])
async def test_same_files_as_js(tmp_path: Path, feed: str) -> None:
    js_write(tmp_path / "js", OPS, SEED)
    drive = Hyperdrive(f"file:{tmp_path / 'py'}", secret_key=key_pair(SEED)[1])
    for op in OPS:
        await run_op(drive, op)
    await drive.close()
    for name in ["key", "tree", "data", "bitfield"]:
        js_bytes = (tmp_path / "js" / feed / name).read_bytes()
        assert (tmp_path / "py" / feed / name).read_bytes() == js_bytes, (feed, name)
