"""The Feed contract suite run by every kind of feed (tests/feed_contract.py)."""

from __future__ import annotations

from hyperparty.feeds.hypercore import Hypercore

from feed_contract import FeedContract
from pair_feed import PairFeed


class TestHypercore(FeedContract):
    learns_cores = False

    async def make_writer(self, storage) -> Hypercore:
        core = Hypercore(storage)
        await core.ready()
        return core

    def open_feed(self, storage, key=None, sparse=False) -> Hypercore:
        return Hypercore(storage, key=key, sparse=sparse)

    async def add_content(self, feed: Hypercore, tag: str) -> None:
        await feed.append([f"{tag}-{i}".encode() for i in range(5)])

    async def content(self, feed: Hypercore) -> list[bytes]:
        return [await feed.get(i, wait=False) for i in range(feed.length)]


class TestPairFeed(FeedContract):
    """The two-core test feed: its second core is learned from the first one's block 0."""

    learns_cores = True

    async def make_writer(self, storage) -> PairFeed:
        feed = PairFeed(storage)
        await feed.ready()
        return feed

    def open_feed(self, storage, key=None, sparse=False) -> PairFeed:
        return PairFeed(storage, key=key, sparse=sparse)

    async def add_content(self, feed: PairFeed, tag: str) -> None:
        await feed.append(f"{tag}-0".encode())
        await feed.append(f"{tag}-1".encode())

    async def content(self, feed: PairFeed) -> list[bytes]:
        body = feed.body
        if body is None:
            return []
        return [await body.get(i, wait=False) for i in range(body.length)]
