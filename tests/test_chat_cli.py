"""`hyperparty chat` as two processes over loopback TCP, and `make demo`'s module exiting 0."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys

import pytest

CLI = [sys.executable, "-m", "hyperparty.cli"]


class Chat:
    def __init__(self, *args: str) -> None:
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[dict] = []

    async def __aenter__(self) -> "Chat":
        self.proc = await asyncio.create_subprocess_exec(
            *CLI, "chat", *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def line(self, predicate, timeout=10.0) -> dict:
        for seen in self.lines:
            if predicate(seen):
                self.lines.remove(seen)
                return seen
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not raw:
                err = await self.proc.stderr.read()
                raise AssertionError(f"chat exited: {err.decode()}")
            obj = json.loads(raw)
            if predicate(obj):
                return obj
            self.lines.append(obj)

    async def send(self, text: str) -> None:
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()


async def test_two_chat_processes_exchange_messages_and_ephemerals():
    party = secrets.token_bytes(32).hex()
    async with Chat("--party", party, "--storage", "memory", "--listen", "127.0.0.1:0") as alice:
        me_alice = await alice.line(lambda o: "local" in o)
        port = (await alice.line(lambda o: "port" in o))["port"]
        async with Chat("--party", party, "--storage", "memory", "--connect", f"127.0.0.1:{port}") as bob:
            me_bob = await bob.line(lambda o: "local" in o)
            await bob.line(lambda o: "connected" in o)
            await alice.send("hello bob")
            await bob.send("hello alice")
            got = await bob.line(lambda o: "feed" in o)
            assert got == {"feed": me_alice["local"], "seq": 0, "data": "hello bob"}
            got = await alice.line(lambda o: "feed" in o)
            assert got == {"feed": me_bob["local"], "seq": 0, "data": "hello alice"}
            await alice.send("/eph typing...")
            eph = await bob.line(lambda o: "ephemeral" in o)
            assert eph["ephemeral"] == "typing..." and len(eph["from"]) == 64


async def test_chat_usage_errors_are_clear():
    proc = await asyncio.create_subprocess_exec(*CLI, "chat", "--storage", "memory", "--listen", "127.0.0.1:0",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 1 and b"--party KEY is required" in err and out == b""


@pytest.mark.slow
async def test_demo_exits_zero_and_shows_both_directions():
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "hyperparty.cli.demo",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(x) for x in out.decode().splitlines()]
    converged = [x for x in lines if x["step"] == "converged"]
    assert converged and converged[0]["aliceRead"] and converged[0]["bobRead"]
    assert {x["by"] for x in lines if x["step"] == "received"} == {"alice", "bob"}
