"""Tools for the hostile-peer suite (tests/test_hostile_*.py): a hand-driven protocol peer and the targets.

* :class:`RawPeer` speaks hypercore-protocol 6 over TCP by hand with the project's :class:`Wire` codec (no
  stream logic, no replication, no manners): it sends whatever frames or bytes an attack needs and can
  read and discard what comes back, or never read at all.
* :class:`ServeTarget` runs ``core serve`` in-process (the porcelain :func:`serve`) of a feed of known
  blocks; :class:`ChatTarget` runs a listening :class:`ChatNode` (two-writers rules) whose own feed holds
  known blocks.  Both offer ``legit_fetch()``: a well-behaved peer downloads everything and the bytes
  are checked.
* :class:`Watch` measures what an attack cost the process: the tracemalloc peak and the longest time the
  event loop was blocked, and checks that no task was left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import tracemalloc
from typing import Any

from hyperparty.crypto import discovery_key
from hyperparty.protocol import messages as m
from hyperparty.protocol.wire import Wire

MiB = 1024 * 1024
BLOCK = 64 * 1024


def blocks(n: int, size: int = BLOCK, tag: bytes = b"") -> list[bytes]:
    """``n`` distinct blocks of ``size`` bytes (deterministic)."""
    out = []
    for i in range(n):
        seed = hashlib.sha256(tag + i.to_bytes(4, "big")).digest()
        out.append((seed * (size // 32 + 1))[:size])
    return out


class RawPeer:
    """One attacking TCP connection; frames are built with :class:`Wire` (or written raw)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.wire: Wire | None = None
        self.received = 0
        self.remote_feeds: set[bytes] = set()  # discovery keys of the channels the server opened
        self._drain_task: asyncio.Task | None = None

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> "RawPeer":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    def hello(self, key: bytes, *, extensions: list[str] | None = None, user_data: bytes | None = None,
              live: bool = True, handshake: bool = True) -> None:
        """Open channel 0 for ``key`` (plaintext Feed with a nonce, then encryption) and send a Handshake."""
        self.wire = Wire()
        self.wire.start(key, discovery_key(key), os.urandom(24))
        if handshake:
            self.wire.send(0, m.Handshake(os.urandom(32), live, user_data, sorted(extensions or []), False))
        self.writer.write(self.wire.data_to_send())

    def open(self, channel: int, key: bytes) -> None:
        assert self.wire is not None
        self.wire.send(channel, m.Feed(discovery_key(key)))
        self.writer.write(self.wire.data_to_send())

    def send(self, channel: int, message: Any) -> None:
        assert self.wire is not None
        self.wire.send(channel, message)
        self.writer.write(self.wire.data_to_send())

    def send_many(self, channel: int, messages: list) -> None:
        """Queue many messages and write them as one chunk (what an attacker's single write looks like)."""
        assert self.wire is not None
        for message in messages:
            self.wire.send(channel, message)
        self.writer.write(self.wire.data_to_send())

    def encrypted(self, plain: bytes) -> bytes:
        """``plain`` encrypted as the next bytes of this connection (to write frames by hand)."""
        assert self.wire is not None and self.wire._tx is not None
        return self.wire._tx.xor(plain)

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def read_and_discard(self, *, party: bool = False) -> None:
        """Read everything the server sends (and throw it away) in the background.

        ``party``: also parse it and answer the party transactions the server starts (its rules'
        ``introduce_feeds`` at handshake), as the least a party member must do to get its feeds.
        """

        async def run() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while True:
                    data = await self.reader.read(1 << 16)
                    if not data:
                        return
                    self.received += len(data)
                    if party:
                        self._answer_party(data)

        self._drain_task = asyncio.ensure_future(run())

    def _answer_party(self, data: bytes) -> None:
        from hyperparty.party import codec

        assert self.wire is not None
        for channel, type_, msg in self.wire.receive_data(data):
            if type_ == 0:
                self.remote_feeds.add(msg.discovery_key)
            if type_ != 15 or channel != 0:
                continue
            message = codec.decode(msg.payload)
            tx = getattr(message, "transaction", None)
            if tx is None or tx.is_return:
                continue
            if isinstance(message, codec.IntroduceFeeds):
                answer: Any = codec.IntroduceFeeds(codec.Transaction(tx.id, True), [])
            else:
                answer = codec.Request(codec.Transaction(tx.id, True), None, None)
            self.send(0, m.Extension(0, codec.encode(answer)))

    def stop_reading(self) -> None:
        if self._drain_task is not None:
            self._drain_task.cancel()
            self._drain_task = None

    async def wait_dropped(self, timeout: float) -> bool:
        """True when the server closed the connection within ``timeout`` seconds."""
        if self._drain_task is None:
            self.read_and_discard()
        assert self._drain_task is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._drain_task), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self) -> None:
        if self._drain_task is not None:
            self._drain_task.cancel()
            with contextlib.suppress(BaseException):
                await self._drain_task
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


class Watch:
    """Measures an attack: tracemalloc peak (bytes) and the longest event-loop stall (seconds).

    A stall is measured in CPU time of this thread between two turns of a 10 ms ticker, so a busy shared
    machine that does not schedule us does not count, only work that kept the loop from turning."""

    def __init__(self) -> None:
        self.peak = 0
        self.max_lag = 0.0
        self._task: asyncio.Task | None = None
        self._started_tracing = False

    async def __aenter__(self) -> "Watch":
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        self._task = asyncio.ensure_future(self._lag())
        return self

    async def _lag(self) -> None:
        while True:
            t = time.thread_time()
            await asyncio.sleep(0.01)
            self.max_lag = max(self.max_lag, time.thread_time() - t)

    def sample(self) -> int:
        """Peak bytes traced above the start, so far."""
        self.peak = max(self.peak, tracemalloc.get_traced_memory()[1] - self._base)
        return self.peak

    async def __aexit__(self, *exc: Any) -> None:
        self.sample()
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        if self._started_tracing:
            tracemalloc.stop()


async def no_tasks_left(before: set, timeout: float = 5.0) -> None:
    """Fail when tasks started since ``before`` are still running after ``timeout`` seconds."""
    me = asyncio.current_task()
    deadline = time.monotonic() + timeout
    while True:
        left = [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"tasks left behind: {left}")
        await asyncio.sleep(0.05)


class ServeTarget:
    """``core serve`` in-process: the porcelain serve of a memory feed holding ``n`` known blocks."""

    kind = "serve"

    def __init__(self, n: int = 32, size: int = BLOCK, live: bool = False) -> None:
        self.data = blocks(n, size)
        self.live = live

    async def __aenter__(self) -> "ServeTarget":
        from hyperparty.feeds import porcelain
        from hyperparty.feeds.hypercore import Hypercore

        self.core = Hypercore("memory")
        await self.core.ready()
        await self.core.append(self.data)
        self.server = await porcelain.serve(self.core, "127.0.0.1", 0, live=self.live)
        self.port = self.server.port
        self.feed_key = self.core.key  # the key a reader of the feed has
        self.first_key = self.core.key  # what opens channel 0
        return self

    async def legit_fetch(self, timeout: float = 30.0) -> float:
        """Download the whole feed as a well-behaved peer; checks every byte; returns the seconds it took."""
        from hyperparty.feeds import porcelain
        from hyperparty.feeds.hypercore import Hypercore

        began = time.monotonic()
        replica = Hypercore("memory", key=self.core.key)
        await replica.ready()
        try:
            await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", self.port, timeout=timeout), timeout)
            assert replica.length == len(self.data)
            for i, block in enumerate(self.data):
                assert await replica.get(i) == block
        finally:
            await replica.close()
        return time.monotonic() - began

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 5)
        await self.core.close()


class ChatTarget:
    """``chat --listen`` in-process: a two-writers :class:`ChatNode` whose own feed holds known blocks."""

    kind = "chat"

    def __init__(self, n: int = 16, size: int = BLOCK, storage: str = "memory") -> None:
        self.data = blocks(n, size, b"chat")
        self.storage = storage
        self.party_key = hashlib.sha256(b"hostile party").digest()
        self.ephemeral: list[str] = []
        self.ephemeral_bytes = 0

    def _on_ephemeral(self, text: str, _peer: Any) -> None:
        self.ephemeral.append(text[:64])
        self.ephemeral_bytes += len(text)

    async def __aenter__(self) -> "ChatTarget":
        from hyperparty.party.chat import ChatNode

        self.node = ChatNode(self.storage, party_key=self.party_key, on_ephemeral=self._on_ephemeral)
        await self.node.start()
        assert self.node.local is not None
        if self.node.local.length == 0:
            for block in self.data:
                await self.node.say(block)
        self.port = await self.node.listen("127.0.0.1", 0)
        self.feed_key = self.node.local.key
        self.first_key = self.party_key
        return self

    async def legit_fetch(self, timeout: float = 30.0) -> float:
        """A well-behaved chat member connects and receives every block of the chat's feed."""
        from hyperparty.party.chat import ChatNode

        began = time.monotonic()
        got: dict[int, bytes] = {}
        key = self.feed_key

        def on_message(feed_key: bytes, seq: int, data: bytes) -> None:
            if feed_key == key:
                got[seq] = data

        member = ChatNode("memory", party_key=self.party_key, on_message=on_message)
        await member.start()
        try:
            await member.connect("127.0.0.1", self.port)
            deadline = time.monotonic() + timeout
            while len(got) < len(self.data):
                if time.monotonic() > deadline:
                    raise AssertionError(f"legit member got {len(got)} of {len(self.data)} blocks in {timeout} s")
                await asyncio.sleep(0.02)
            assert [got[i] for i in range(len(self.data))] == self.data
        finally:
            await member.close()
        return time.monotonic() - began

    async def __aexit__(self, *exc: Any) -> None:
        await self.node.close()


TARGETS = {"serve": ServeTarget, "chat": ChatTarget}


async def feed_channel(target: "ServeTarget | ChatTarget", *, read: bool) -> tuple[RawPeer, int]:
    """An attacker that reached the target's feed: returns it and the channel id to send on.

    ``serve``: channel 0 is the feed.  ``chat``: channel 0 is the party (the attacker knows the party key
    and answers the party's handshake transaction, the least it must do), channel 1 the chat's feed,
    once the chat opened its side.  ``read``: keep reading (and discarding) what comes back.
    """
    p = await RawPeer.connect(target.port)
    if target.kind == "serve":
        p.hello(target.first_key)
        if read:
            p.read_and_discard()
        return p, 0
    p.hello(target.first_key, extensions=["party"])
    p.read_and_discard(party=True)
    p.open(1, target.feed_key)
    dk = discovery_key(target.feed_key)
    deadline = time.monotonic() + 10
    while dk not in p.remote_feeds:
        if time.monotonic() > deadline:
            raise AssertionError("the chat never opened its feed's channel")
        await asyncio.sleep(0.01)
    if not read:
        p.stop_reading()
    return p, 1
