"""The Feed contract suite (tests/feed_contract.py) run by Hypertrie on every backend, and its place in
the feed registry (recognised from block 0)."""

from __future__ import annotations

from hyperparty.feeds import registry
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypertrie import Hypertrie

from feed_contract import FeedContract


class TestHypertrie(FeedContract):
    learns_cores = False

    async def make_writer(self, storage) -> Hypertrie:
        trie = Hypertrie(storage)
        await trie.ready()
        return trie

    def open_feed(self, storage, key=None, sparse=False) -> Hypertrie:
        return Hypertrie(storage, key=key, sparse=sparse)

    async def add_content(self, feed: Hypertrie, tag: str) -> None:
        await feed.batch([{"type": "put", "key": f"{tag}/{i}", "value": f"{tag}-{i}".encode()} for i in range(4)])
        await feed.delete(f"{tag}/0")

    async def content(self, feed: Hypertrie) -> list[tuple[str, bytes, int]]:
        return sorted((e.key, e.value, e.seq) for e in await feed.list(wait=False))


async def test_registry_knows_hypertrie_by_block0() -> None:
    trie = Hypertrie("memory")
    await trie.ready()
    assert registry.feed_class("hypertrie") is Hypertrie
    assert registry.detect_kind(await trie.core.get(0)) == Hypertrie.KIND == "hypertrie"
    plain = Hypercore("memory")
    await plain.append(b"not a header")
    assert registry.detect_kind(await plain.get(0)) == registry.HYPERCORE
