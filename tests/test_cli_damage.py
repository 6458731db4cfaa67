"""``hyperparty core`` on damaged feeds (issue 14): init/serve/chat refuse a lost key instead of making a
new one, info/cat show what verifies and say what is wrong, cat goes on past a bad block and says the
valid range, ``core audit`` lists what is bad, ``core repair`` keeps what verifies and re-fetches lost
blocks from a peer, and a block the wire cannot carry is refused at append time.  File and LMDB."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest

from hyperparty.cli import main
from hyperparty.feeds.hypercore.appending import MAX_BLOCK_SIZE

from test_crash_safety import block, flip_at, make_feed
from test_damaged_feeds import delete, snapshot
from util import Backend

CLI = [sys.executable, "-m", "hyperparty"]


@pytest.fixture(params=["file", "lmdb"])
def disk(request, tmp_path):
    b = Backend(request.param, tmp_path)
    yield b
    b.close_all()


def spec(backend: Backend, name: str = "feed") -> str:
    return f"{backend.kind}:{backend.tmp_path / name}"


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def made(backend: Backend) -> list[bytes]:
    return asyncio.run(make_feed(backend))


def test_init_and_append_refuse_a_lost_key(disk: Backend, capsys) -> None:
    made(disk)
    delete(disk, "key")
    before = snapshot(disk)
    for command in (["init"], ["append", "x"]):
        code, out, err = run(capsys, "core", *command, "--storage", spec(disk))
        assert code == 1 and out == []
        assert "key file is missing but secret_key is there" in err and "refusing to make a new key pair" in err
    assert snapshot(disk) == before
    code, out, err = run(capsys, "core", "info", "--storage", spec(disk))
    assert code == 0 and out[0]["length"] == 32 and out[0]["damaged"] and "core repair" in err
    code, out, err = run(capsys, "core", "repair", "--storage", spec(disk))
    assert code == 0 and {"action": "restored the key file from secret_key"} in out
    total = sum(len(block(i)) for i in range(32)) + len("after")
    assert run(capsys, "core", "append", "--storage", spec(disk), "after")[1] == [{"length": 33, "byteLength": total}]


async def test_serve_and_chat_refuse_a_lost_key(tmp_path) -> None:
    store = tmp_path / "chat"
    proc = await asyncio.create_subprocess_exec(*CLI, "chat", "--storage", f"file:{store}", "--listen",
                                                "127.0.0.1:0", stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
    proc.send_signal(signal.SIGINT)
    await asyncio.wait_for(proc.communicate(), 20)
    (store / "0" / "key").unlink()
    secret = (store / "0" / "secret_key").read_bytes()
    for argv in (["chat", "--storage", f"file:{store}", "--listen", "127.0.0.1:0"],
                 ["core", "serve", "--storage", f"file:{store / '0'}"]):
        proc = await asyncio.create_subprocess_exec(*CLI, *argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 1 and b"key file is missing" in err, (argv, err)
    assert (store / "0" / "secret_key").read_bytes() == secret and not (store / "0" / "key").exists()
    assert bytes.fromhex(first["local"]) == secret[32:]


def test_cat_goes_on_past_a_damaged_block(disk: Backend, capsys) -> None:
    blocks = made(disk)
    disk.patch("data", flip_at(sum(len(b) for b in blocks[:10]) + 2))
    code, out, err = run(capsys, "core", "cat", "--storage", spec(disk))
    assert code == 1
    assert [o["seq"] for o in out] == [i for i in range(32) if i != 10]
    assert "block 10 is damaged" in err and "1 damaged blocks could not be printed (10)" in err
    code, out, err = run(capsys, "core", "audit", "--storage", spec(disk))
    assert code == 1 and {"file": "data", "block": 10, "problem": "the stored block does not match its tree node"} in out
    assert out[-1] == {"length": 32, "valid": 31, "invalid": 1, "ok": False}


@pytest.mark.parametrize("argv", [["--end", "-1"], ["--start", "40"], ["--start", "5", "--end", "3"],
                                  ["--start", "-1"], ["--end", "33"]])
def test_cat_says_the_valid_range(disk: Backend, capsys, argv: list[str]) -> None:
    made(disk)
    code, out, err = run(capsys, "core", "cat", "--storage", spec(disk), *argv)
    assert code == 1 and out == []
    assert "the feed has 32 blocks, so the valid range is 0 <= --start <= --end <= 32" in err


def test_info_and_cat_on_a_lost_bitfield_say_so_and_repair_restores_it(disk: Backend, capsys) -> None:
    made(disk)
    delete(disk, "bitfield")
    before = snapshot(disk)
    code, out, err = run(capsys, "core", "info", "--storage", spec(disk))
    assert code == 0 and out[0]["length"] == 0 and "the bitfield lost blocks" in out[0]["damaged"][0]
    assert "core repair" in err
    code, out, err = run(capsys, "core", "append", "--storage", spec(disk), "x")
    assert code == 1 and "the bitfield lost blocks" in err and "nothing was written" in err
    code, out, err = run(capsys, "core", "audit", "--storage", spec(disk))
    assert code == 1 and out[0]["file"] == "bitfield"
    assert snapshot(disk) == before
    code, out, err = run(capsys, "core", "repair", "--storage", spec(disk))
    assert code == 0 and out[-1] == {"length": 32, "byteLength": sum(len(block(i)) for i in range(32)), "missing": 0}
    code, out, err = run(capsys, "core", "audit", "--storage", spec(disk))
    assert code == 0 and out == [{"length": 32, "valid": 32, "invalid": 0, "ok": True}]


def test_a_block_the_wire_cannot_carry_is_refused(disk: Backend, capsys, monkeypatch) -> None:
    import io

    assert run(capsys, "core", "init", "--storage", spec(disk))[0] == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x" * (MAX_BLOCK_SIZE + 1) + b"\nsmall\n")))
    code, out, err = run(capsys, "core", "append", "--storage", spec(disk))
    assert code == 1 and f"a block can be at most {MAX_BLOCK_SIZE} bytes" in err and "8 MiB" in err
    assert run(capsys, "core", "info", "--storage", spec(disk))[1][0]["length"] == 0


async def test_repair_fetches_what_a_replica_lost_from_a_peer(tmp_path) -> None:
    disk = Backend("lmdb", tmp_path)
    blocks = await make_feed(disk)
    server = await asyncio.create_subprocess_exec(*CLI, "core", "serve", "--storage", spec(disk),
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        where = f"127.0.0.1:{info['port']}"
        copy = f"file:{tmp_path / 'copy'}"
        proc = await asyncio.create_subprocess_exec(*CLI, "core", "fetch", info["key"], "--connect", where,
                                                    "--storage", copy, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        # the replica loses a data byte and the end of its data file
        data = tmp_path / "copy" / "data"
        raw = bytearray(data.read_bytes())
        raw[3] ^= 0x40
        data.write_bytes(bytes(raw[: len(raw) - 20]))
        for command, expected in (([], 0), (["--connect", where], 0)):
            proc = await asyncio.create_subprocess_exec(*CLI, "core", "repair", "--storage", copy, *command,
                                                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == expected, err
            lines = [json.loads(x) for x in out.decode().splitlines()]
        assert lines[-1]["missing"] == 0 and any("fetched" in x.get("action", "") for x in lines)
        proc = await asyncio.create_subprocess_exec(*CLI, "core", "cat", "--storage", copy,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err
        assert [json.loads(x)["data"] for x in out.decode().splitlines()] == [b.decode() for b in blocks]
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.communicate(), 20)
        disk.close_all()
