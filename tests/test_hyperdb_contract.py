"""The Feed contract suite (tests/feed_contract.py) run by HyperDB: a replica learns writers (cores)
from authorized writers' feeds lists during replication; plus the registry entry."""

from __future__ import annotations

from hyperparty.crypto import key_pair
from hyperparty.feeds import registry
from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.feeds.hyperdb.messages import HEADER_BLOCK

from feed_contract import FeedContract


class TestHyperDB(FeedContract):
    learns_cores = True

    async def make_writer(self, storage) -> HyperDB:
        db = HyperDB(storage, value_encoding="utf-8")
        await db.ready()
        return db

    def open_feed(self, storage, key=None, sparse=False) -> HyperDB:
        return HyperDB(storage, key, value_encoding="utf-8", sparse=sparse)

    async def add_content(self, feed: HyperDB, tag: str) -> None:
        # a writer authorized per tag: a replica learns its core from the source's feeds list
        await feed.authorize(key_pair(tag.encode().ljust(32, b"."))[0])
        for i in range(3):
            await feed.put(f"{tag}/{i}", f"{tag}-{i}")

    async def content(self, feed: HyperDB) -> dict:
        if not all(core.has(0, core.length) for core in feed.cores()):
            raise LookupError("not replicated yet")  # a read would wait for the missing blocks
        return {g[0].key: [n.value for n in g] for g in await feed.list()}


def test_registered_kind() -> None:
    assert registry.feed_class("hyperdb") is HyperDB
    assert registry.detect_kind(HEADER_BLOCK) == "hyperdb"
