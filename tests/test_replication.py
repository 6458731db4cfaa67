"""hypercore replication between Python peers: non-live, live, sparse, several peers, storage backends,
hostile data and request timeouts (feeds/hypercore/replicate.py over protocol/)."""

from __future__ import annotations

import asyncio

import pytest

from hyperparty.feeds.hypercore import Hypercore, VerificationError
from hyperparty.feeds.hypercore import replicate as rep
from hyperparty.protocol import connect_tcp, pipe, serve_tcp
from hyperparty.protocol import messages as m
from hyperparty.storage import MemoryStorage, open_storage


async def writer_with(blocks) -> Hypercore:
    core = Hypercore(MemoryStorage())
    await core.ready()
    if blocks:
        await core.append(list(blocks))
    return core


async def reader_of(writer: Hypercore, storage=None, **opts) -> Hypercore:
    core = Hypercore(storage if storage is not None else MemoryStorage(), key=writer.key, **opts)
    await core.ready()
    return core


BLOCKS = [f"block {i}".encode() for i in range(300)]


async def test_non_live_download_ends_by_itself():
    w = await writer_with(BLOCKS)
    r = await reader_of(w)
    downloads, uploads = [], []
    r.on("download", lambda i, d: downloads.append(i))
    w.on("upload", lambda i, d, peer: uploads.append(i))
    errors = await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 10)
    assert errors == (None, None)
    assert r.length == 300 and [await r.get(i) for i in range(300)] == BLOCKS
    assert sorted(downloads) == list(range(300)) and sorted(uploads) == list(range(300))
    assert not r.peers and not w.peers  # peers removed on close


@pytest.mark.parametrize("kind", ["memory", "file", "lmdb"])
async def test_replication_on_every_backend(kind, tmp_path):
    w = await writer_with([b"", b"x" * (1 << 20), b"small"])  # empty and 1 MiB blocks too
    spec = "memory" if kind == "memory" else f"{kind}:{tmp_path / 'r'}"
    r = await reader_of(w, open_storage(spec))
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 10) == (None, None)
    assert [await r.get(i) for i in range(3)] == [b"", b"x" * (1 << 20), b"small"]
    await r.close()
    if kind != "memory":  # what was replicated is on disk and verifies after a reopen
        again = Hypercore(spec, key=w.key)
        await again.ready()
        assert again.length == 3 and await again.get(2) == b"small"
        assert (await again.audit())["invalid"] == 0
        await again.close()


async def test_empty_feed_and_reader_with_prefix():
    w = await writer_with([])
    r = await reader_of(w)
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 5) == (None, None)
    assert r.length == 0
    await w.append(BLOCKS[:50])
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 5) == (None, None)
    await w.append(BLOCKS[50:80])
    got = []
    r.on("download", lambda i, d: got.append(i))
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 5) == (None, None)
    assert r.length == 80 and sorted(got) == list(range(50, 80))  # only what it lacked


async def test_live_appends_flow_to_the_reader():
    w = await writer_with(BLOCKS[:3])
    r = await reader_of(w)
    p = pipe(w.replicate(live=True), r.replicate(live=True))
    await asyncio.wait_for(r.update(3), 5)
    for i in range(3, 10):
        await w.append(BLOCKS[i])
    await asyncio.wait_for(r.update(10), 5)
    assert await asyncio.wait_for(r.get(9), 5) == BLOCKS[9]
    assert not p.a.destroyed and not p.b.destroyed  # live streams stay open
    p.a.destroy()
    await asyncio.wait_for(p.wait(), 5)


async def test_sparse_reader_fetches_only_what_is_asked():
    w = await writer_with(BLOCKS)
    r = await reader_of(w, sparse=True)
    p = pipe(w.replicate(live=True), r.replicate(live=True))
    assert await asyncio.wait_for(r.get(123), 5) == BLOCKS[123]
    await asyncio.wait_for(r.download(10, 20), 5)
    await asyncio.sleep(0.05)
    have = [i for i in range(300) if r.has(i)]
    assert have == [*range(10, 20), 123]
    p.a.destroy()


async def test_max_requests_option_bounds_requests_in_flight():
    w = await writer_with(BLOCKS)
    r = Hypercore(MemoryStorage(), key=w.key, max_requests=4)
    await r.ready()
    peak = []
    r.on("download", lambda i, d: peak.append(max(len(p.inflight) for p in r.peers) if r.peers else 0))
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 10) == (None, None)
    assert r.length == 300 and 1 <= max(peak) <= 4


async def test_several_readers_and_requests_in_flight_bounded():
    w = await writer_with(BLOCKS)
    readers = [await reader_of(w) for _ in range(3)]
    peak = []
    for r in readers:
        r.on("download", lambda i, d, r=r: peak.append(max(len(p.inflight) for p in r.peers) if r.peers else 0))
    pipes = [pipe(w.replicate(), r.replicate()) for r in readers]
    for p in pipes:
        assert await asyncio.wait_for(p.wait(), 10) == (None, None)
    assert all(r.length == 300 and r.has(0, 300) for r in readers)
    assert max(peak) <= rep.DEFAULT_MAX_REQUESTS


async def test_chain_of_readers_over_tcp():
    """writer -> reader1 (TCP) -> reader2 (TCP): a reader serves what it downloaded."""
    w = await writer_with(BLOCKS[:40])
    r1 = await reader_of(w)
    server = await serve_tcp("127.0.0.1", 0, lambda: w.replicate())
    port = server.sockets[0].getsockname()[1]
    assert await asyncio.wait_for(await connect_tcp("127.0.0.1", port, r1.replicate()), 10) is None
    server2 = await serve_tcp("127.0.0.1", 0, lambda: r1.replicate())
    r2 = await reader_of(w)
    assert await asyncio.wait_for(await connect_tcp("127.0.0.1", server2.sockets[0].getsockname()[1], r2.replicate()), 10) is None
    assert r2.length == 40 and await r2.get(39) == BLOCKS[39]
    for s in (server, server2):
        s.close()
        await s.wait_closed()


# --- hostile peers -------------------------------------------------------------------------------------


def tamper(writer: Hypercore, how: str):
    """Make the writer's replication peers answer Requests with a corrupted Data message."""
    original = rep.ReplicationPeer._on_request

    def on_request(self, msg):
        if self.core is not writer:
            return original(self, msg)
        proof = writer.proof(msg.index, digest=msg.nodes or 0, remote_tree=None)
        value = writer.read_block(msg.index)
        nodes = list(proof.nodes)
        sig = proof.signature
        if how == "value":
            value = b"X" + value[1:]
        elif how == "node" and nodes:
            nodes[0] = m.Node(nodes[0].index, bytes(32), nodes[0].size)
        elif how == "signature":
            sig = bytes(64) if sig is not None else sig
            if sig is None:
                nodes = nodes[:-1]
        self.channel.send(m.Data(msg.index, value, nodes, sig))

    return on_request


@pytest.mark.parametrize("how", ["value", "node", "signature"])
async def test_bad_data_destroys_the_stream_and_leaves_the_feed_unchanged(how, monkeypatch):
    w = await writer_with(BLOCKS[:8])
    r = await reader_of(w)
    assert await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 5) == (None, None)
    await w.append(BLOCKS[8:16])
    snapshot = (r.length, r.byte_length, [await r.get(i) for i in range(8)])
    monkeypatch.setattr(rep.ReplicationPeer, "_on_request", tamper(w, how))
    before = asyncio.all_tasks()
    errors = await asyncio.wait_for(pipe(w.replicate(), r.replicate()).wait(), 5)
    assert isinstance(errors[1], VerificationError)
    assert (r.length, r.byte_length, [await r.get(i) for i in range(8)]) == snapshot
    assert not any(r.has(i) for i in range(8, 16))
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() - before if not t.done()]


async def test_unanswered_requests_time_out_on_ticks(monkeypatch):
    w = await writer_with(BLOCKS[:4])
    r = await reader_of(w)
    monkeypatch.setattr(rep.ReplicationPeer, "_on_request", lambda self, msg: None)  # a peer that never answers
    a, b = w.replicate(timeout=0), r.replicate(timeout=0)
    pipe(a, b)
    for _ in range(50):
        await asyncio.sleep(0)
        if r.peers and r.peers[0].inflight:
            break
    assert r.peers and r.peers[0].inflight
    for _ in range(5):
        b.tick()
        a.tick()
        b.receive(b"")  # keep the remote-timeout counter quiet; only the request clock matters here
    assert not b.destroyed
    b.tick()
    assert b.destroyed and str(b.error) == "Request timeout"


async def test_unrequested_data_is_dropped_with_unhave(monkeypatch):
    w = await writer_with(BLOCKS[:4])
    r = await reader_of(w, sparse=True)
    unhaves = []
    original = rep.ReplicationPeer._on_unhave
    monkeypatch.setattr(rep.ReplicationPeer, "_on_unhave", lambda self, msg: (unhaves.append(msg.start), original(self, msg)))
    a, b = w.replicate(live=True), r.replicate(live=True)
    pipe(a, b)
    await asyncio.sleep(0.05)
    proof = w.proof(2)
    w.peers[0].channel.send(m.Data(2, BLOCKS[2], list(proof.nodes), proof.signature))  # pushed, never requested
    await asyncio.sleep(0.05)
    assert not r.has(2) and not b.destroyed
    assert unhaves == [2]


def shuttle(a, b, rounds: int = 10_000) -> None:
    """Move bytes between two sans-IO streams until neither has anything to send (or one ended)."""
    for _ in range(rounds):
        da, db = a.data_to_send(), b.data_to_send()
        if not da and not db:
            return
        if da:
            b.receive(da)
        if db:
            a.receive(db)


async def test_fetcher_refills_and_pushes_requests_before_storing_a_chunk():
    """The Requests that refill the pipeline leave before the received chunk is verified and stored, so
    the uploader answers them meanwhile (replicate.py, ``on_batch_end``)."""
    w = await writer_with([bytes([i]) * 1024 for i in range(200)])
    r = await reader_of(w, max_requests=16)
    ws, rs = w.replicate(), r.replicate()
    seen = []

    def push() -> None:
        [peer] = r.peers
        pending = [item[0] for item in peer._pending]
        seen.append((len(pending), sum(r.has(i) for i in pending), len(peer.inflight)))
        ws.receive(rs.data_to_send())  # the remote gets the Requests now

    rs.set_push(push)
    shuttle(ws, rs)
    assert ws.destroyed and rs.destroyed and ws.error is None and rs.error is None
    assert r.downloaded() == 200 and [await r.get(i) for i in (0, 199)] == [bytes([0]) * 1024, bytes([199]) * 1024]
    assert seen, "the fetcher never pushed its refill"
    assert all(n and stored == 0 for n, stored, _ in seen)  # pushed while the chunk was still unstored
    assert max(inflight for _, _, inflight in seen) == 16  # the pipeline was full again before storing


async def test_uploader_pushes_data_while_it_answers_a_chunk_of_requests():
    w = await writer_with([bytes([i]) * 1024 for i in range(64)])
    r = await reader_of(w, max_requests=16)
    ws, rs = w.replicate(), r.replicate()
    uploads: list[int] = []
    w.on("upload", lambda i, d, peer: uploads.append(i))
    pushed_at: list[int] = []

    def push() -> None:
        pushed_at.append(len(uploads))
        rs.receive(ws.data_to_send())

    ws.set_push(push)
    shuttle(ws, rs)
    assert r.downloaded() == 64 and ws.error is None
    # Requests arrive 16 at a time; the first ~8 KiB of Data (7 blocks of 1 KiB) leave before the rest
    assert len(pushed_at) >= 64 // 16 and any(n % 16 for n in pushed_at), pushed_at


async def test_a_group_is_searched_from_its_last_request_and_once_more_before_it_is_dropped():
    """``_group_candidate`` resumes a group after the block it last gave out; a block of the group that
    was un-reserved meanwhile (a failed Request) is still found before the group is dropped."""
    w = await writer_with([bytes([i]) for i in range(64)])
    r = await reader_of(w)
    peer = rep.ReplicationPeer(r, r.replicate(live=False))
    peer.remote_has.add(0, 64)
    peer._groups[1] = 16  # a block of group 1 (blocks 16..31) was stored
    taken = []
    for _ in range(4):
        i = peer._group_candidate(0, 64, False)
        r.reserved.set(i, True)
        taken.append(i)
    assert taken == [16, 17, 18, 19] and peer._groups[1] == 20
    r.reserved.set(17, False)  # its Request failed
    for _ in range(12):
        r.reserved.set(peer._group_candidate(0, 64, False), True)
    assert peer._group_candidate(0, 64, False) == 17  # found again before the group is dropped
    r.reserved.set(17, True)
    assert peer._group_candidate(0, 64, False) == -1 and not peer._groups
    assert peer._group_candidate(0, 64, False) == -1


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_selections_are_fetched_by_groups_after_a_first_block(seed, monkeypatch):
    """A random selection asks for one block at a random place, then, once it is stored, for the rest of
    its aligned group (``_download_range``): few runs, from scattered places, each Request made when its
    group already has a stored block (so its proof is short)."""
    monkeypatch.setattr(rep.random, "randrange", __import__("random").Random(seed).randrange)
    n = 2000
    w = await writer_with([i.to_bytes(4, "big") for i in range(n)])
    r = await reader_of(w, max_requests=16)
    ws, rs = w.replicate(), r.replicate()
    order: list[int] = []
    w.on("upload", lambda i, d, peer: order.append(i))
    asked: list[tuple[int, bool]] = []  # (block, its group had a stored block when it was requested)
    original = rep.ReplicationPeer._request

    def request(self, index, bytes_, hash_):
        g = index >> rep.GROUP_SHIFT
        asked.append((index, any(r.has(j) for j in range(g << rep.GROUP_SHIFT, (g + 1) << rep.GROUP_SHIFT))))
        return original(self, index, bytes_, hash_)

    monkeypatch.setattr(rep.ReplicationPeer, "_request", request)
    shuttle(ws, rs)
    assert ws.error is None and rs.error is None and r.downloaded() == n
    assert sorted(order) == list(range(n))  # every block once
    firsts = {}
    for index, _ in asked:
        firsts.setdefault(index >> rep.GROUP_SHIFT, index)
    assert len(firsts) == n >> rep.GROUP_SHIFT
    blind = [index for index, stored in asked if not stored]
    assert set(firsts.values()) <= set(blind)
    # mostly one blind Request per group (near the end, with every group left on its way, the pipeline is
    # still filled: those Requests are blind too); asking for whole runs at once made ~n of them
    assert len(blind) <= 1.5 * len(firsts), (len(blind), len(firsts))
    starts = [i for k, i in enumerate(order) if k == 0 or order[k - 1] + 1 != i]
    assert len(starts) <= 3 * n >> rep.GROUP_SHIFT, len(starts)  # runs, not one random block per Request
    assert starts[0] != 0 and starts != sorted(starts)  # random places, not a linear download
