"""`hyperparty chat` as two processes over loopback TCP, and `make demo`'s module exiting 0.

The chat a new user tries first (issue 14): each feed's messages in seq order, Ctrl-C and Ctrl-D end it
at once and cleanly (a real terminal: a pty), a listener keeps serving when its stdin ends, every
ephemeral type is printed (a JS party peer's ``text`` too), ``--help`` lists the in-chat commands, and a
party key is made when none is given (``hyperparty party new`` makes one too).
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import secrets
import signal
import sys
import time
from pathlib import Path

import pytest

from hyperparty.party.chat import ChatNode
from hyperparty.storage import MemoryStorage, open_storage

CLI = [sys.executable, "-m", "hyperparty.cli"]


class Chat:
    def __init__(self, *args: str, stdin=asyncio.subprocess.PIPE) -> None:
        self.args = args
        self.stdin = stdin
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[dict] = []

    async def __aenter__(self) -> "Chat":
        self.proc = await asyncio.create_subprocess_exec(
            *CLI, "chat", *self.args, stdin=self.stdin, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.proc.returncode is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.send_signal(signal.SIGINT)  # a listener serves until interrupted
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
    proc = await asyncio.create_subprocess_exec(*CLI, "chat", "--storage", "memory", stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 1 and b"give exactly one of --listen" in err and out == b""


async def said(storage: str, lines: list[str]) -> str:
    """Append ``lines`` to the chat feed of ``storage`` (as a chat would); returns its key."""
    async with ChatNode(open_storage(storage), party_key=bytes(32)) as node:
        for line in lines:
            await node.say(line)
        return node.local.key.hex()


async def test_earlier_messages_print_in_seq_order(tmp_path):
    party = secrets.token_bytes(32).hex()
    lines = [f"message {i}" for i in range(60)]
    alice_key = await said(f"lmdb:{tmp_path / 'alice'}", lines)
    async with Chat("--party", party, "--storage", f"lmdb:{tmp_path / 'alice'}", "--listen", "127.0.0.1:0") as alice:
        port = (await alice.line(lambda o: "port" in o))["port"]
        async with Chat("--party", party, "--storage", "memory", "--connect", f"127.0.0.1:{port}") as bob:
            got = [await bob.line(lambda o: o.get("feed") == alice_key, 20) for _ in lines]
    assert [g["seq"] for g in got] == list(range(60))  # blocks arrive in any order; they print in order
    assert [g["data"] for g in got] == lines


async def test_a_listener_keeps_serving_when_stdin_ends(tmp_path):
    party = secrets.token_bytes(32).hex()
    alice_key = await said(f"file:{tmp_path / 'alice'}", ["still here"])
    async with Chat("--party", party, "--storage", f"file:{tmp_path / 'alice'}", "--listen", "127.0.0.1:0",
                    stdin=asyncio.subprocess.DEVNULL) as alice:
        port = (await alice.line(lambda o: "port" in o))["port"]
        await asyncio.sleep(2.5)  # stdin ended long ago
        assert alice.proc.returncode is None
        async with Chat("--party", party, "--storage", "memory", "--connect", f"127.0.0.1:{port}") as bob:
            got = await bob.line(lambda o: o.get("feed") == alice_key, 20)
            assert got["data"] == "still here"
        alice.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(alice.proc.wait(), 10) == 0
        err = await alice.proc.stderr.read()
        assert b"Traceback" not in err


def chat_on_a_terminal(*args: str) -> tuple[object, int]:
    """A listening chat whose stdin is a terminal (a pty); returns the process and the pty master."""
    import subprocess

    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, "chat", *args], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    for _ in range(2):  # {"local", "party"}, {"port"}: running, reading the terminal
        assert proc.stdout.readline()
    return proc, master


@pytest.mark.parametrize("how", ["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_ctrl_d_end_the_chat_at_once(how: str):
    proc, master = chat_on_a_terminal("--party", secrets.token_bytes(32).hex(), "--storage", "memory",
                                      "--listen", "127.0.0.1:0")
    try:
        time.sleep(0.3)  # reading the terminal, nothing typed
        began = time.monotonic()
        if how == "ctrl-c":
            proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        else:
            os.write(master, b"\x04")  # Ctrl-D at the start of a line: end of input
        code = proc.wait(timeout=10)
        # at once: no grace period (the old chat slept 1 s after end of input, and Ctrl-C waited for a line)
        assert time.monotonic() - began < (3 if how == "ctrl-c" else 0.95), "the chat did not end at once"
        assert code == 0
        assert b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        proc.stdout.close()
        proc.stderr.close()


async def test_every_ephemeral_type_is_printed():
    party = secrets.token_bytes(32)
    async with Chat("--party", party.hex(), "--storage", "memory", "--listen", "127.0.0.1:0") as alice:
        port = (await alice.line(lambda o: "port" in o))["port"]
        async with ChatNode(MemoryStorage(), party_key=party) as node:
            await node.connect("127.0.0.1", port)
            for _ in range(100):
                if node.party.peers and node.send_ephemeral("typing", type="chat"):
                    break
                await asyncio.sleep(0.1)
            node.send_ephemeral("hello in text", type="text")
            node.send_ephemeral(b"\xff\x00", type="bin")
            chat = await alice.line(lambda o: o.get("type") == "chat")
            text = await alice.line(lambda o: o.get("type") == "text")
            binary = await alice.line(lambda o: o.get("type") == "bin")
    assert chat["ephemeral"] == "typing" and text["ephemeral"] == "hello in text"
    assert binary["ephemeral"] == "hex:ff00" and len(text["from"]) == 64


async def test_a_js_peers_text_ephemeral_is_printed():
    sys.path.insert(0, str(Path(__file__).resolve().parent / "interop"))
    from jsnode import NodeProcess, require_node

    require_node()
    party = secrets.token_bytes(32).hex()
    async with Chat("--party", party, "--storage", "memory", "--listen", "127.0.0.1:0") as alice:
        port = (await alice.line(lambda o: "port" in o))["port"]
        async with NodeProcess("party-peer.js", "--party", party, "--connect", f"127.0.0.1:{port}") as js:
            await js.read_event("party-handshake", timeout=20)
            await js.send_line("eph text hello from js")
            got = await alice.line(lambda o: "ephemeral" in o, 20)
    assert got["ephemeral"] == "hello from js" and got["type"] == "text"


async def test_chat_help_lists_the_in_chat_commands():
    proc = await asyncio.create_subprocess_exec(*CLI, "chat", "--help", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    text = out.decode()
    assert proc.returncode == 0
    for needed in ("/eph TEXT", "/auth KEY", "Ctrl-C", "Ctrl-D", "keeps serving until interrupted", "party new"):
        assert needed in text, needed


async def test_a_chat_without_a_party_key_makes_one_and_prints_it():
    proc = await asyncio.create_subprocess_exec(*CLI, "party", "new", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    made = json.loads(out)["party"]
    assert proc.returncode == 0 and len(bytes.fromhex(made)) == 32
    async with Chat("--storage", "memory", "--listen", "127.0.0.1:0") as alice:
        first = await alice.line(lambda o: "local" in o)
        assert first["newParty"] is True and len(bytes.fromhex(first["party"])) == 32
        port = (await alice.line(lambda o: "port" in o))["port"]
        async with Chat("--party", first["party"], "--storage", "memory", "--connect", f"127.0.0.1:{port}") as bob:
            await bob.line(lambda o: "connected" in o)
            await alice.send("hello from the new party")
            got = await bob.line(lambda o: "feed" in o)
            assert got["data"] == "hello from the new party"
        alice.proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(alice.proc.wait(), 10)
        err = (await alice.proc.stderr.read()).decode()
    assert f"--party {first['party']}" in err


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


async def test_a_replica_discarded_and_created_again_is_still_reported():
    """An unproven replica is discarded when the peer that introduced it leaves (a duplicate connection
    closed by discovery's rule) and created anew when the surviving connection introduces the key again:
    the new core is watched too.  Before: the chat watched keys, not cores, and printed nothing for it."""
    from hyperparty.feeds.hypercore import Hypercore
    from hyperparty.feeds.hypercore.replicate import attach_sync
    from hyperparty.protocol import ProtocolStream, pipe

    writer = Hypercore(MemoryStorage())
    await writer.ready()
    got: list[tuple[bytes, int, bytes]] = []
    async with ChatNode(MemoryStorage(), party_key=bytes(32),
                        on_message=lambda key, seq, block: got.append((key, seq, block))) as node:
        first = await node.store.add(writer.key)
        await node.store.discard(first)
        again = await node.store.add(writer.key)
        assert again is not first
        await writer.append([b"hello from alice"])
        a, b = ProtocolStream(expected_feeds=1), ProtocolStream(expected_feeds=1)
        attach_sync(writer, a, live=False)
        attach_sync(again, b, live=False)
        assert await asyncio.wait_for(pipe(a, b).wait(), 10) == (None, None)
    assert got == [(writer.key, 0, b"hello from alice")]
