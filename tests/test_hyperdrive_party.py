"""A drive inside a party: alice shares a hyperdrive as her party feed; bob knows only its key, from
IntroduceFeeds, opens a plain replica, recognises a drive from metadata block 0, learns the content core
and clones the files — live (later writes arrive) and non-live (the session ends by itself)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.feeds.hyperdrive import Hyperdrive
from hyperparty.party import Party
from hyperparty.party.feed_store import FeedStore
from hyperparty.party.rules.two_writers import TwoWritersRules
from hyperparty.protocol.transport import pipe, wait_closed

from hyperdrive_ops import pattern
from util import eventually

pytestmark = pytest.mark.timeout(60)

FILES = {"/hello.txt": b"hello bob", "/photos/big.bin": pattern(300_000, 5), "/empty": b""}


async def files_of(store: FeedStore, key: bytes) -> dict[str, bytes]:
    drive = store.get(key)
    if not isinstance(drive, Hyperdrive) or drive.content is None:
        return {}
    out = {}
    for name in FILES:
        try:
            st = await drive.stat(name)
        except Exception:
            continue
        if drive.content.has(st.offset, st.offset + st.blocks):
            out[name] = await drive.read_file(name)
    return out


@pytest.mark.parametrize("live", [True, False])
async def test_party_member_clones_an_introduced_drive(backend, live: bool) -> None:
    party_key = secrets.token_bytes(32)
    alice_store, bob_store = FeedStore(backend.open("alice")), FeedStore(backend.open("bob"))
    drive = await alice_store.writer("local", kind="hyperdrive")
    assert isinstance(drive, Hyperdrive)
    for name, data in FILES.items():
        await drive.write_file(name, data)
    bob_feed = await bob_store.writer("local")
    await bob_feed.append(b"bob 0")
    kinds = []
    bob_store.on("kind", kinds.append)
    a = Party(party_key, TwoWritersRules(alice_store, drive)).replicate(live=live)
    b = Party(party_key, TwoWritersRules(bob_store, bob_feed)).replicate(live=live)
    pipe(a, b, ticks=0.05)
    if live:
        await eventually(lambda: kinds, timeout=10, what="the drive recognised")

        async def synced(expected) -> None:
            while await files_of(bob_store, drive.key) != expected:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(synced(FILES), 10)
        await drive.write_file("/later.txt", b"later")
        replica = bob_store.get(drive.key)
        await asyncio.wait_for(replica.metadata.update(drive.metadata.length), 10)
        assert await asyncio.wait_for(replica.read_file("/later.txt"), 10) == b"later"
        a.finalize()
    else:
        assert await asyncio.wait_for(wait_closed(a), 15) is None
        assert await asyncio.wait_for(wait_closed(b), 15) is None
        assert await files_of(bob_store, drive.key) == FILES
    replica = bob_store.get(drive.key)
    assert [type(f) for f in kinds] == [Hyperdrive] and replica is kinds[0]
    assert bob_store.by_discovery_key(replica.content.discovery_key) is replica
    assert not replica.writable and replica.content.key == drive.content.key
    await alice_store.close()
    await bob_store.close()
