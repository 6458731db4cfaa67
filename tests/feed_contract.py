"""The Feed contract suite: one mixin of tests every kind of feed runs (dulwich's ObjectStoreTests style).

A test class mixes :class:`FeedContract` in and implements its four hooks for one kind:

* ``make_writer(storage)`` -> a new writable feed on ``storage`` (opened);
* ``open_feed(storage, key=None, sparse=False)`` -> the feed stored there / a replica of ``key`` (not
  opened: the suite checks attaching before ``ready``);
* ``add_content(feed, tag)`` writes a few items that a replica must end up with;
* ``content(feed)`` -> a comparable snapshot of what ``feed`` holds locally.

``learns_cores`` says whether a replica learns cores during replication (then the suite checks the learned
cores replicate live and non-live, counted exactly).  Every test runs on the memory, file and LMDB backends
(the ``backend`` fixture) and is bounded in time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hyperparty.feeds import Feed
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.protocol.transport import pipe, wait_closed
from util import eventually

TIMEOUT = 10.0


class FeedContract:
    learns_cores = False

    async def make_writer(self, storage) -> Feed:
        raise NotImplementedError

    def open_feed(self, storage, key: bytes | None = None, sparse: bool = False) -> Feed:
        raise NotImplementedError

    async def add_content(self, feed: Feed, tag: str) -> None:
        raise NotImplementedError

    async def content(self, feed: Feed) -> Any:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------------------

    async def _synced(self, reader: Feed, writer: Feed) -> bool:
        try:
            return len(reader.cores()) == len(writer.cores()) and await self.content(reader) == await self.content(writer)
        except Exception:
            return False

    async def _wait_synced(self, reader: Feed, writer: Feed, what: str = "replica") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not await self._synced(reader, writer):
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for the {what} to catch up")
            await asyncio.sleep(0.02)

    @staticmethod
    async def _ended(*streams: ProtocolStream) -> list[BaseException | None]:
        return [await asyncio.wait_for(wait_closed(s), TIMEOUT) for s in streams]

    # -- the contract -----------------------------------------------------------------------------------

    async def test_reopen_keeps_key_and_content(self, backend) -> None:
        storage = backend.open("w")
        writer = await self.make_writer(storage)
        await self.add_content(writer, "a")
        key, before = writer.key, await self.content(writer)
        await writer.close()
        backend.close(storage)
        again = self.open_feed(backend.open("w"))
        await again.ready()
        assert again.key == key
        assert await self.content(again) == before
        assert [c.key for c in again.cores()][0] == key
        await again.close()

    async def test_ready_and_close_are_idempotent(self, backend) -> None:
        writer = await self.make_writer(backend.open("w"))
        await writer.ready()
        await writer.close()
        await writer.close()

    @pytest.mark.parametrize("ready_first", [False, True])
    async def test_non_live_replication_ends_by_itself(self, backend, ready_first: bool) -> None:
        writer = await self.make_writer(backend.open("w"))
        await self.add_content(writer, "a")
        reader = self.open_feed(backend.open("r"), key=writer.key)
        if ready_first:
            await reader.ready()
        a, b = writer.replicate(live=False), reader.replicate(live=False)
        pipe(a, b)
        assert await self._ended(a, b) == [None, None]
        assert await self._synced(reader, writer)
        if self.learns_cores:
            assert len(reader.cores()) > 1

    async def test_attach_before_ready_on_a_shared_stream(self, backend) -> None:
        writer = await self.make_writer(backend.open("w"))
        await self.add_content(writer, "a")
        reader = self.open_feed(backend.open("r"), key=writer.key)  # not opened: attach opens it
        a, b = ProtocolStream(live=False), ProtocolStream(live=False)
        await writer.attach(a, count=True)
        await reader.attach(b, count=True)
        assert not await reader.attach(b, count=True)  # attaching twice does nothing
        pipe(a, b)
        assert await self._ended(a, b) == [None, None]
        assert await self._synced(reader, writer)

    async def test_live_replication_follows_new_content(self, backend) -> None:
        writer = await self.make_writer(backend.open("w"))
        await self.add_content(writer, "a")
        reader = self.open_feed(backend.open("r"), key=writer.key)
        a, b = writer.replicate(live=True), reader.replicate(live=True)
        pipe(a, b)
        await self._wait_synced(reader, writer)
        await self.add_content(writer, "b")
        await self._wait_synced(reader, writer, "live replica")
        assert not a.destroyed and not b.destroyed
        a.finalize()
        await self._ended(a, b)

    async def _two_pairs(self, backend) -> tuple[Feed, Feed, Feed, Feed]:
        """Two writers with content and a (not yet opened) replica of each."""
        w1 = await self.make_writer(backend.open("w1"))
        w2 = await self.make_writer(backend.open("w2"))
        await self.add_content(w1, "one")
        await self.add_content(w2, "two")
        r1 = self.open_feed(backend.open("r1"), key=w1.key)
        r2 = self.open_feed(backend.open("r2"), key=w2.key)
        return w1, w2, r1, r2

    async def test_two_feeds_on_one_stream(self, backend) -> None:
        w1, w2, r1, r2 = await self._two_pairs(backend)
        a, b = ProtocolStream(live=False), ProtocolStream(live=False)
        for feed in (w1, w2):
            await feed.attach(a, count=True)
        for feed in (r1, r2):
            await feed.attach(b, count=True)
        pipe(a, b)
        assert await self._ended(a, b) == [None, None]
        assert await self._synced(r1, w1) and await self._synced(r2, w2)

    async def test_feed_attached_after_another_finished(self, backend) -> None:
        """A non-live stream still ends when a feed joins after another one is done (counts add up)."""
        w1 = await self.make_writer(backend.open("w1"))
        w2 = await self.make_writer(backend.open("w2"))
        w3 = await self.make_writer(backend.open("w3"))
        for w, tag in ((w1, "1"), (w2, "2"), (w3, "3")):
            await self.add_content(w, tag)
        r1 = self.open_feed(backend.open("r1"), key=w1.key)
        r2 = self.open_feed(backend.open("r2"), key=w2.key)
        r3 = self.open_feed(backend.open("r3"), key=w3.key)
        a, b = ProtocolStream(live=False), ProtocolStream(live=False)
        await w1.attach(a, count=True)
        await w2.attach(a, count=True)  # the remote attaches its replica of w2 only later
        await r1.attach(b, count=True)
        await r3.attach(b, count=True)  # and this side attaches w3's replica before w3 is there
        pipe(a, b)
        await self._wait_synced(r1, w1, "first feed")
        await w3.attach(a, count=True)
        await r2.attach(b, count=True)
        assert await self._ended(a, b) == [None, None]
        for r, w in ((r1, w1), (r2, w2), (r3, w3)):
            assert await self._synced(r, w)

    async def test_close_while_attached_leaves_other_feeds_running(self, backend) -> None:
        w1, w2, r1, r2 = await self._two_pairs(backend)
        a, b = ProtocolStream(live=True), ProtocolStream(live=True)
        for feed in (w1, w2):
            await feed.attach(a)
        for feed in (r1, r2):
            await feed.attach(b)
        pipe(a, b, ticks=0.05)
        await self._wait_synced(r1, w1)
        await self._wait_synced(r2, w2)
        await r2.close()
        await w2.close()
        await self.add_content(w1, "after")
        await self._wait_synced(r1, w1, "remaining feed")
        assert not a.destroyed and not b.destroyed
        a.finalize()
        await self._ended(a, b)

    async def test_learned_cores_replicate_live(self, backend) -> None:
        if not self.learns_cores:
            pytest.skip("this kind never learns cores during replication")
        writer = await self.make_writer(backend.open("w"))
        reader = self.open_feed(backend.open("r"), key=writer.key)
        a, b = writer.replicate(live=True), reader.replicate(live=True)
        pipe(a, b)
        await reader.ready()
        await self.add_content(writer, "late")
        await self._wait_synced(reader, writer)
        assert len(reader.cores()) == len(writer.cores()) > 1
        await eventually(lambda: all(b.channel(c.discovery_key) is not None for c in reader.cores()))
        a.finalize()
        await self._ended(a, b)
