"""The Feed contract suite (tests/feed_contract.py) run by Hyperdrive: a replica learns the content core
from metadata block 0 during replication."""

from __future__ import annotations

from hyperparty.feeds import registry
from hyperparty.feeds.hyperdrive import Hyperdrive

from feed_contract import FeedContract


class TestHyperdrive(FeedContract):
    learns_cores = True

    async def make_writer(self, storage) -> Hyperdrive:
        drive = Hyperdrive(storage)
        await drive.ready()
        return drive

    def open_feed(self, storage, key=None, sparse=False) -> Hyperdrive:
        return Hyperdrive(storage, key=key, sparse=sparse)

    async def add_content(self, feed: Hyperdrive, tag: str) -> None:
        await feed.write_file(f"/{tag}/small.txt", tag.encode())
        await feed.write_file(f"/{tag}/big.bin", tag.encode() * 50_000)

    async def content(self, feed: Hyperdrive) -> dict[str, bytes]:
        out = {}
        if feed.content is None:
            return out
        for d in await feed.readdir("/"):
            for name in await feed.readdir(f"/{d}"):
                st = await feed.stat(f"/{d}/{name}")
                if not feed.content.has(st.offset, st.offset + st.blocks):
                    raise LookupError("not replicated yet")
                out[f"/{d}/{name}"] = await feed.read_file(f"/{d}/{name}")
        return out


def test_registered_kind() -> None:
    assert registry.feed_class("hyperdrive") is Hyperdrive
    assert registry.detect_kind(bytes.fromhex("0a0a68797065726472697665122000" + "00" * 31)) == "hyperdrive"
