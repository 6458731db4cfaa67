"""``hyperparty drive share|clone|ls|cat|stat|info`` as real subprocesses over loopback TCP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from hyperdrive_ops import pattern

TIMEOUT = 30


async def start(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "hyperparty", *argv,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def line(proc: asyncio.subprocess.Process) -> dict:
    raw = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
    if not raw:
        err = await proc.stderr.read()
        raise AssertionError(f"no output (exit {await proc.wait()}): {err.decode()}")
    return json.loads(raw)


async def run(*argv: str) -> tuple[int, bytes, str]:
    proc = await start(*argv)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    return proc.returncode, out, err.decode()


def jsonl(out: bytes) -> list[dict]:
    return [json.loads(x) for x in out.decode().splitlines()]


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.terminate()
    _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    return err.decode()


def make_tree(root: Path) -> dict[str, bytes]:
    files = {"readme.txt": b"hello", "docs/big.bin": pattern(300_000, 1), "docs/deep/x.md": b"# x", "empty": b""}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


async def test_share_clone_and_inspect(tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = make_tree(src)
    (src / "escape").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "outside.txt").write_bytes(b"secret")
    store = f"file:{tmp_path / 'store'}"
    share = await start("drive", "share", str(src), "--storage", store, "--listen", "127.0.0.1:0")
    try:
        first = await line(share)
        assert set(first) == {"key", "discoveryKey", "port", "files", "bytes", "version"}
        assert (first["files"], first["bytes"]) == (4, sum(map(len, files.values())))

        code, out, err = await run("drive", "clone", first["key"], str(tmp_path / "full"), "--connect",
                                   f"127.0.0.1:{first['port']}", "--storage", f"file:{tmp_path / 'clone'}")
        assert code == 0, err
        [done] = jsonl(out)
        assert (done["files"], done["bytes"]) == (4, first["bytes"]) and done["seconds"] >= 0
        assert read_tree(tmp_path / "full") == files

        code, out, err = await run("drive", "clone", first["key"], str(tmp_path / "sparse"), "--connect",
                                   f"127.0.0.1:{first['port']}", "--sparse", "/docs/deep")
        assert code == 0, err
        assert jsonl(out) == [{"files": 1, "bytes": 3, "seconds": jsonl(out)[0]["seconds"]}]
        assert read_tree(tmp_path / "sparse") == {"docs/deep/x.md": b"# x"}
    finally:
        err = await stop(share)
    assert "skipped escape: a symlink to" in err and "outside the directory" in err

    clone = f"file:{tmp_path / 'clone'}"
    code, out, err = await run("drive", "info", "--storage", clone)
    [info] = jsonl(out)
    assert code == 0 and info["key"] == first["key"] and info["version"] == first["version"]
    assert info["metadataLength"] == info["version"] + 1 and info["contentLength"] == 1 + 5 + 1
    code, out, _ = await run("drive", "ls", "--storage", clone)
    assert [(e["name"], e["type"]) for e in jsonl(out)] == [("docs", "directory"), ("empty", "file"), ("readme.txt", "file")]
    code, out, _ = await run("drive", "ls", "--storage", clone, "/docs")
    assert {e["path"]: e["size"] for e in jsonl(out)} == {"/docs/big.bin": 300_000, "/docs/deep": 0}
    code, out, _ = await run("drive", "cat", "--storage", clone, "/docs/big.bin")
    assert code == 0 and hashlib.sha256(out).digest() == hashlib.sha256(files["docs/big.bin"]).digest()
    code, out, _ = await run("drive", "stat", "--storage", clone, "/readme.txt")
    [st] = jsonl(out)
    assert (st["type"], st["size"], st["mtime"]) == ("file", 5, (src / "readme.txt").stat().st_mtime_ns // 1_000_000)
    for argv, message in [
        (("drive", "cat", "--storage", clone, "/nope"), "could not be found"),
        (("drive", "cat", "--storage", clone, "/docs"), "is not a file"),
        (("drive", "stat", "--storage", clone, "/../etc"), "cannot contain '..'"),
        (("drive", "info", "--storage", f"file:{tmp_path / 'nothing'}"), "no drive is stored"),
    ]:
        code, out, err = await run(*argv)
        assert code == 1 and out == b"" and message in err, (argv, err)


async def test_share_imports_only_changes_and_watches(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src)
    store = f"file:{tmp_path / 'store'}"
    share = await start("drive", "share", str(src), "--storage", store)
    first = await line(share)
    await stop(share)
    share = await start("drive", "share", str(src), "--storage", store, "--watch", "--interval", "0.2", "--live")
    try:
        again = await line(share)
        assert again["key"] == first["key"] and again["version"] == first["version"]  # nothing re-imported
        (src / "added.txt").write_bytes(b"added")
        change = await line(share)
        assert change["changed"] == 1 and change["files"] == 5 and change["version"] == first["version"] + 1
        (src / "readme.txt").unlink()
        change = await line(share)
        assert change["changed"] == 1 and change["files"] == 4
    finally:
        await stop(share)


async def test_clone_needs_a_reachable_peer(tmp_path: Path) -> None:
    code, out, err = await run("drive", "clone", "00" * 32, str(tmp_path / "x"), "--connect", "127.0.0.1:1",
                               "--timeout", "2")
    assert code == 1 and out == b"" and "cannot connect" in err
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
