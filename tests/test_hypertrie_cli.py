"""``hyperparty trie put|get|del|list|info`` on file and LMDB storage (in-process ``main``), and
``trie serve`` / ``trie fetch`` between two real processes over loopback TCP (full clone and sparse gets)."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from hyperparty.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["file", "lmdb"])
def storage(request, tmp_path) -> str:
    return f"{request.param}:{tmp_path / 'trie'}"


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_put_get_del_list_info(storage: str, capsys) -> None:
    assert run(capsys, "trie", "put", "--storage", storage, "hello", "wörld") == (0, [{"key": "hello", "seq": 1}], "")
    assert run(capsys, "trie", "put", "--storage", storage, "/a/b", "1")[1] == [{"key": "a/b", "seq": 2}]
    assert run(capsys, "trie", "put", "--storage", storage, "a", "\udcff")[1] == [{"key": "a", "seq": 3}]  # byte 0xff
    code, out, _ = run(capsys, "trie", "get", "--storage", storage, "hello")
    assert (code, out) == (0, [{"key": "hello", "value": "wörld", "seq": 1}])
    assert run(capsys, "trie", "get", "--storage", storage, "a")[1] == [{"key": "a", "valueHex": "ff", "seq": 3}]
    assert run(capsys, "trie", "get", "--storage", storage, "nope")[1] == [{"key": "nope", "value": None}]
    code, out, _ = run(capsys, "trie", "list", "--storage", storage)
    assert [line["key"] for line in out] == ["a", "a/b", "hello"]  # sorted by key
    assert [line["key"] for line in run(capsys, "trie", "list", "--storage", storage, "a")[1]] == ["a", "a/b"]
    assert run(capsys, "trie", "del", "--storage", storage, "hello")[1] == [{"key": "hello", "deleted": True, "seq": 4}]
    assert run(capsys, "trie", "del", "--storage", storage, "hello")[1] == [
        {"key": "hello", "deleted": False, "seq": None}
    ]
    code, out, _ = run(capsys, "trie", "info", "--storage", storage)
    assert code == 0 and out[0]["length"] == out[0]["version"] == 5 and len(bytes.fromhex(out[0]["key"])) == 32
    assert set(out[0]) == {"key", "discoveryKey", "length", "version"}


def test_errors(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "trie", "get", "--storage", f"file:{tmp_path / 'none'}", "x")
    assert code == 1 and out == [] and "no hypertrie is stored" in err
    code, _, err = run(capsys, "trie", "list", "--storage", "bogus:")
    assert code == 1 and "unknown storage" in err
    code, _, err = run(capsys, "trie", "fetch", "00" * 32, "--connect", "127.0.0.1:1", "--sparse")
    assert code == 1 and "--sparse needs --get or --list" in err
    code, _, err = run(capsys, "trie", "fetch", "00" * 32, "--connect", "127.0.0.1:1", "--timeout", "2")
    assert code == 1 and "cannot connect" in err


async def _cli(*argv: str, timeout: float = 30) -> list[dict]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hyperparty", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_serve_and_fetch(tmp_path) -> None:
    from hyperparty.feeds.hypertrie import Hypertrie

    src = f"lmdb:{tmp_path / 'src'}"
    trie = Hypertrie(src)
    await trie.ready()
    for start in range(0, 1000, 250):
        await trie.batch([{"type": "put", "key": f"k/{i % 7}/{i}", "value": f"v{i}".encode()} for i in range(start, start + 250)])
    version = trie.version
    await trie.close()

    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hyperparty", "trie", "serve", "--storage", src, "--listen", "127.0.0.1:0", "--live",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        first = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        assert set(first) == {"key", "discoveryKey", "port", "length", "version"} and first["version"] == version
        where = f"127.0.0.1:{first['port']}"

        sparse = await _cli("trie", "fetch", first["key"], "--connect", where, "--sparse", "--get", "k/3/500",
                            "--get", "absent", "--list", "k/6")
        assert sparse[0] == {"key": "k/3/500", "value": "v500", "seq": 501}
        assert sparse[1] == {"key": "absent", "value": None}
        listed = sparse[2:-1]
        assert [line["key"] for line in listed] == sorted(f"k/6/{i}" for i in range(6, 1000, 7))
        summary = sparse[-1]
        assert summary["length"] == summary["version"] == version
        assert 0 < summary["downloadedBlocks"] < version // 2  # a sparse reader: far from the whole feed

        clone_dir = f"file:{tmp_path / 'clone'}"
        full = await _cli("trie", "fetch", first["key"], "--connect", where, "--storage", clone_dir, "--get", "k/0/7")
        assert full[0] == {"key": "k/0/7", "value": "v7", "seq": 8}
        assert full[-1]["downloadedBlocks"] == version and full[-1]["version"] == version
        again = await _cli("trie", "list", "--storage", clone_dir, "k/1")
        assert len(again) == len(range(1, 1000, 7))
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)
