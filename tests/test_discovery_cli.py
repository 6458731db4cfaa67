"""``--discover`` on the command line, inside user + network namespaces (tests/discovery_netns.py): two
``hyperparty chat --discover`` processes find each other and chat with no address given; ``core serve
--discover`` is found and fetched from by ``core fetch KEY --discover``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import sys

from discovery_netns import run_scenario

CLI = [sys.executable, "-m", "hyperparty.cli"]


class Proc:
    """A CLI process printing JSON lines."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[dict] = []

    async def __aenter__(self) -> "Proc":
        self.proc = await asyncio.create_subprocess_exec(
            *CLI, *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.stdin.close()
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def line(self, predicate, timeout=15.0) -> dict:
        assert self.proc is not None
        for seen in self.lines:
            if predicate(seen):
                self.lines.remove(seen)
                return seen
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not raw:
                err = await self.proc.stderr.read()
                raise AssertionError(f"{self.args[0]} exited: {err.decode()}")
            obj = json.loads(raw)
            if predicate(obj):
                return obj
            self.lines.append(obj)

    async def send(self, text: str) -> None:
        assert self.proc is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()


async def scenario_two_chats_discover_each_other():
    party = secrets.token_bytes(32).hex()
    dk = hashlib.blake2b(b"hypercore", digest_size=32, key=bytes.fromhex(party)).hexdigest()
    async with Proc("chat", "--party", party, "--storage", "memory", "--discover") as alice, \
            Proc("chat", "--party", party, "--storage", "memory", "--discover") as bob:
        me_alice = (await alice.line(lambda o: "local" in o))["local"]
        me_bob = (await bob.line(lambda o: "local" in o))["local"]
        port_alice = (await alice.line(lambda o: "port" in o))["port"]
        port_bob = (await bob.line(lambda o: "port" in o))["port"]
        found = await alice.line(lambda o: "peer" in o)
        assert found == {"peer": dk, "host": "127.0.0.1", "port": port_bob}
        found = await bob.line(lambda o: "peer" in o)
        assert found == {"peer": dk, "host": "127.0.0.1", "port": port_alice}
        await alice.line(lambda o: "connected" in o)
        await bob.line(lambda o: "connected" in o)
        await alice.send("hello from alice")
        got = await bob.line(lambda o: "data" in o)
        assert got == {"feed": me_alice, "seq": 0, "data": "hello from alice"}
        await bob.send("hi alice")
        got = await alice.line(lambda o: "data" in o)
        assert got == {"feed": me_bob, "seq": 0, "data": "hi alice"}


async def scenario_core_serve_and_fetch_discover():
    async with Proc("core", "serve", "--storage", "memory", "--discover", "--append-stdin") as server:
        info = await server.line(lambda o: "key" in o)
        for text in ("one", "two", "three"):
            await server.send(text)
        await server.line(lambda o: o.get("length") == 3)
        fetch = await asyncio.create_subprocess_exec(
            *CLI, "core", "fetch", info["key"], "--discover", "--timeout", "10",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(fetch.communicate(), 30)
        assert fetch.returncode == 0, err.decode()
        lines = [json.loads(x) for x in out.decode().splitlines()]
        assert lines[0] == {"peer": info["discoveryKey"], "host": "127.0.0.1", "port": info["port"]}
        assert lines[-1]["length"] == 3
        assert lines[-1]["sha256"] == hashlib.sha256(b"onetwothree").hexdigest()
        # the fetcher only looked the key up: the server heard its query but found no peer to print
        assert not any("peer" in o for o in server.lines)


async def scenario_core_fetch_discover_finds_nobody():
    fetch = await asyncio.create_subprocess_exec(
        *CLI, "core", "fetch", "ab" * 32, "--discover", "--timeout", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(fetch.communicate(), 20)
    assert fetch.returncode == 1 and out == b""
    assert b"no peer found on the LAN" in err


def test_two_chats_discover_each_other():
    run_scenario(__file__, "scenario_two_chats_discover_each_other", timeout=60)


def test_core_serve_and_fetch_discover():
    run_scenario(__file__, "scenario_core_serve_and_fetch_discover", timeout=60)


def test_core_fetch_discover_finds_nobody():
    run_scenario(__file__, "scenario_core_fetch_discover_finds_nobody", timeout=30)
