"""``hyperparty db ...`` as real subprocesses: local commands, and serve/join over loopback TCP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from test_hyperdrive_cli import TIMEOUT, line, start, stop


async def run(*argv: str) -> tuple[int, list[dict], str]:
    proc = await start(*argv)
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    return proc.returncode, [json.loads(x) for x in out.decode().splitlines()], err.decode()


async def test_local_commands(tmp_path: Path) -> None:
    s = f"file:{tmp_path / 'db'}"
    code, [put], err = await run("db", "put", "--storage", s, "a/b", "hello")
    assert code == 0, err
    assert put["key"] == "a/b" and put["seq"] == 1 and len(put["feed"]) == 64
    assert (await run("db", "put", "--storage", s, "bin", "\udcff"))[0] == 0  # argv byte 0xff
    code, lines, _ = await run("db", "get", "--storage", s, "a/b")
    assert lines == [{"key": "a/b", "value": "hello", "feed": put["feed"], "seq": 1}]
    code, lines, _ = await run("db", "list", "--storage", s)
    assert [(x["key"], x.get("value"), x.get("valueHex")) for x in lines] == [("a/b", "hello", None), ("bin", None, "ff")]
    code, [tomb], _ = await run("db", "del", "--storage", s, "a/b")
    assert tomb["key"] == "a/b" and tomb["seq"] == 3
    assert (await run("db", "get", "--storage", s, "a/b"))[1] == [{"key": "a/b", "value": None}]
    other = "ab" * 32
    code, [auth], _ = await run("db", "authorize", "--storage", s, other)
    assert auth == {"authorized": other, "seq": 4}
    code, [info], _ = await run("db", "info", "--storage", s)
    assert info["key"] == info["localKey"] == put["feed"] and info["authorized"] == [info["key"], other]
    assert info["writers"] == info["authorized"]
    code, _, err = await run("db", "get", "--storage", f"file:{tmp_path / 'none'}", "k")
    assert code == 1 and "no hyperdb is stored" in err
    code, _, err = await run("db", "authorize", "--storage", s, "xyz")
    assert code == 1 and "not hex" in err


async def test_serve_join_authorize_remote(tmp_path: Path) -> None:
    owner = f"file:{tmp_path / 'owner'}"
    assert (await run("db", "put", "--storage", owner, "from-owner", "1"))[0] == 0
    serve = await start("db", "serve", "--storage", owner, "--live", "--authorize-remote")
    try:
        first = await line(serve)
        assert set(first) == {"key", "discoveryKey", "localKey", "port"}
        join = await start("db", "join", first["key"], "--connect", f"127.0.0.1:{first['port']}",
                           "--storage", f"file:{tmp_path / 'peer'}", "--wait-authorized", "--put", "from-peer=2")
        hello = await line(join)
        assert hello["key"] == first["key"] and hello["localKey"] != first["localKey"]
        assert await line(serve) == {"event": "authorized", "key": hello["localKey"]}
        assert await line(join) == {"event": "authorized"}
        synced = await line(join)
        assert synced["event"] == "synced" and synced["version"]
        assert await asyncio.wait_for(join.wait(), TIMEOUT) == 0, await stop(join)
    finally:
        await stop(serve)
    # the owner stored the peer's put, and both agree on the db
    code, lines, _ = await run("db", "list", "--storage", owner)
    assert [(x["key"], x["value"]) for x in lines] == [("from-owner", "1"), ("from-peer", "2")]
    code, [info], _ = await run("db", "info", "--storage", owner)
    assert info["authorized"] == [first["key"], hello["localKey"]]
    code, lines, _ = await run("db", "list", "--storage", f"file:{tmp_path / 'peer'}")
    assert [(x["key"], x["value"]) for x in lines] == [("from-owner", "1"), ("from-peer", "2")]


async def test_join_without_authorization_times_out(tmp_path: Path) -> None:
    owner = f"file:{tmp_path / 'owner'}"
    assert (await run("db", "put", "--storage", owner, "k", "v"))[0] == 0
    serve = await start("db", "serve", "--storage", owner, "--live")
    try:
        first = await line(serve)
        code, lines, err = await run("db", "join", first["key"], "--connect", f"127.0.0.1:{first['port']}",
                                     "--storage", f"file:{tmp_path / 'peer'}", "--wait-authorized", "--timeout", "1")
        assert code == 1 and "timed out waiting for this writer to be authorized" in err
        assert lines[0]["key"] == first["key"]
    finally:
        await stop(serve)
