"""More than 255 feeds in a party (issue 11): between two Python parties a multifeed party of 1 000 feeds
replicates on ONE connection (both streams negotiate ``hyperparty/many-feeds``, the stores are made with
``max_feeds=1100``); against a peer held to JS's 256 channels (a stream made with ``many_feeds=False``, as a
JS multifeed is) the first 255 feeds replicate — the party key takes the first channel — and the others
are reported (the party's ``overflow`` event, a warning), never a silent zero nor a hung connection.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from hyperparty.party import Party
from hyperparty.party.feed_store import FeedStore
from hyperparty.party.rules.multifeed import DEFAULT_ENCRYPTION_KEY, MultifeedRules
from hyperparty.protocol import limits, pipe
from hyperparty.protocol.stream import ProtocolStream

from util import eventually

pytestmark = pytest.mark.slow

STORE = 1100


async def writers(store: FeedStore, n: int) -> None:
    """``n`` local feeds in ``store``, feed ``i`` with 1 block (even ``i``) or 2 (odd ``i``)."""
    for i in range(n):
        feed = await store.writer(f"w{i}")
        await feed.append([b"feed %d block 0" % i] + ([b"feed %d block 1" % i] if i % 2 else []))


def complete(source: FeedStore, replica: FeedStore) -> list[bytes]:
    """Keys of ``source``'s feeds that ``replica`` holds with every block."""
    out = []
    for feed in source.feeds():
        copy = replica.get(feed.key)
        if copy is not None and copy.length == feed.length and copy.has(0, feed.length):
            out.append(feed.key)
    return out


class Side:
    """One multifeed party member; records the ``overflow`` events of its party."""

    def __init__(self, n: int = 0, max_feeds: int = STORE) -> None:
        self.store = FeedStore("memory", max_feeds=max_feeds)
        self.rules = MultifeedRules(self.store)
        self.party = Party(DEFAULT_ENCRYPTION_KEY, self.rules)
        self.overflow: list[bytes] = []
        self.party.on("overflow", lambda peer, keys: self.overflow.extend(keys))
        self.n = n

    async def ready(self) -> "Side":
        await self.store.ready()
        await writers(self.store, self.n)
        return self

    def stream(self, **options) -> ProtocolStream:
        stream = self.party.replicate(**options)
        self.remote_channels: set[bytes] = set()
        stream.on("feed", lambda dk: self.remote_channels.add(bytes(dk)))
        return stream


@pytest.mark.timeout(120)
@pytest.mark.parametrize("live", [False, True])
async def test_a_thousand_feed_party_replicates_on_one_connection(live: bool) -> None:
    a, b = await Side(1000).ready(), await Side().ready()
    sa, sb = a.stream(live=live), b.stream(live=live)
    connection = pipe(sa, sb)  # the only connection
    if live:
        await eventually(lambda: len(complete(a.store, b.store)) == 1000, 60, "every feed with every block")
    else:
        errors = await asyncio.wait_for(connection.wait(), 60)  # non-live: ends by itself once all synced
        assert errors == (None, None)
    assert sa.many_feeds_negotiated and sb.many_feeds_negotiated and sa.channel_limit == limits.MAX_FEEDS_NEGOTIATED
    assert len(b.store) == 1000 and len(complete(a.store, b.store)) == 1000
    assert {f.key for f in a.store.feeds()} == {f.key for f in b.store.feeds()}  # both sides converged
    odd = b.store.get(a.store.feeds()[999].key)
    assert odd is not None and await odd.get(1) == b"feed 999 block 1"
    # all of it on this one connection: the remote opened a channel per feed plus the party key's
    assert len(b.remote_channels) == 1001 and len(a.remote_channels) == 1001
    assert len(a.party.peers) <= 1 and len(b.party.peers) <= 1
    assert not (sa.overflow or sb.overflow or a.overflow or b.overflow)
    if live:
        sa.destroy()
        await asyncio.wait_for(connection.wait(), 10)
    await a.party.close()
    await b.party.close()


@pytest.mark.timeout(60)
async def test_a_peer_held_to_256_channels_gets_255_feeds_and_the_rest_are_reported(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hyperparty.net")
    a, b = await Side(300).ready(), await Side().ready()
    sa, sb = a.stream(live=False), b.stream(live=False, many_feeds=False)  # b: JS's 256 channels
    errors = await asyncio.wait_for(pipe(sa, sb).wait(), 30)  # never hangs, never destroyed
    assert errors == (None, None)
    assert not sa.many_feeds_negotiated and sa.channel_limit == 256
    got = complete(a.store, b.store)
    assert len(got) == 255 and len(b.store) == 255
    assert len(a.overflow) == 45 and set(a.overflow).isdisjoint(got)
    assert set(a.overflow) | set(got) == {f.key for f in a.store.feeds()}  # each feed replicated or reported
    assert any("45 feed(s) left out" in r.getMessage() for r in caplog.records)
    assert not (sa.overflow or sb.overflow)  # the rules kept within the channels: none refused by a stream
    await a.party.close()
    await b.party.close()


@pytest.mark.timeout(60)
async def test_a_manifest_offering_more_than_a_connection_carries_is_taken_in_part() -> None:
    """A JS multifeed offers all its feeds in one MANIFEST: the side held to 256 channels keeps and requests
    the first 255 and reports the others (before: the whole MANIFEST was ignored and a non-live
    connection never ended)."""
    a, b = await Side(300).ready(), await Side().ready()
    a.rules._room = lambda peer: 10_000  # type: ignore[method-assign]  # offer everything, as JS does
    sa, sb = a.stream(live=False), b.stream(live=False, many_feeds=False)
    errors = await asyncio.wait_for(pipe(sa, sb).wait(), 30)
    assert errors == (None, None)
    got = complete(a.store, b.store)
    assert len(got) == 255 and len(b.overflow) == 45 and set(b.overflow) | set(got) == {
        f.key for f in a.store.feeds()}
    assert len(b.remote_channels) <= 256 and not (sa.overflow or sb.overflow)
    await a.party.close()
    await b.party.close()


@pytest.mark.timeout(60)
async def test_each_side_counts_both_offers_against_the_channels() -> None:
    """Both sides hold feeds: what one connection carries stays within 256 channels (JS destroys the stream
    past it), and every feed left out is reported by one side or the other."""
    a, b = await Side(200).ready(), await Side(100).ready()
    sa, sb = a.stream(live=False), b.stream(live=False, many_feeds=False)
    errors = await asyncio.wait_for(pipe(sa, sb).wait(), 30)
    assert errors == (None, None)
    a_to_b, b_to_a = complete(a.store, b.store), complete(b.store, a.store)
    carried = set(a_to_b) | set(b_to_a)
    assert 0 < len(carried) <= 255 and len(b.remote_channels) <= 256 and len(a.remote_channels) <= 256
    everything = {f.key for f in a.store.feeds()} | {f.key for f in b.store.feeds()}
    assert carried | set(a.overflow) | set(b.overflow) == everything
    assert not (sa.overflow or sb.overflow)
    await a.party.close()
    await b.party.close()


@pytest.mark.timeout(60)
async def test_after_negotiating_many_feeds_the_store_still_bounds_what_a_peer_offers() -> None:
    """A peer that negotiated 16 384 channels offers 300 feeds to a store left at its default 200: the
    offers kept, the feeds stored and the channels opened stay within the store's limit; the rest are
    reported."""
    cap = limits.MAX_STORE_FEEDS
    a, b = await Side(300).ready(), await Side(max_feeds=cap).ready()
    a.rules._room = lambda peer: 10_000  # type: ignore[method-assign]  # offer everything at once
    sa, sb = a.stream(live=False), b.stream(live=False)
    errors = await asyncio.wait_for(pipe(sa, sb).wait(), 30)
    assert errors == (None, None) and sb.many_feeds_negotiated
    got = complete(a.store, b.store)
    assert len(b.store) == cap and len(got) == cap
    assert len(b.overflow) == 300 - cap and set(b.overflow).isdisjoint(got)
    assert len(b.remote_channels) <= cap + 1
    await a.party.close()
    await b.party.close()
