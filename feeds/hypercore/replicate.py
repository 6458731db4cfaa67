"""hypercore 7.7.1 replication (``lib/replicate.js``) over a hypercore-protocol 6 channel.

One :class:`ReplicationPeer` per (core, stream): it is the channel's handler.  The exchange, as in JS
(shared/spec/hypercore-protocol-6.md §13):

* on the handshake the peer joins ``core.peers`` and, when downloading, sends ``Want`` for 1 048 576-block
  windows (always window 0 first);
* a ``Want`` is answered with ``Have{start, length, bitfield=RLE(our bits)}`` (plus an eager
  ``Have{start: length-1}`` the first time), after which every new local block is announced;
* ``Have`` messages fill the set of blocks the remote has (:class:`~.ranges.RangeSet`), then
  :meth:`ReplicationPeer.update` sends ``Request`` for blocks we lack — waiting ``get``s first, then
  selections (random order by aligned groups, see ``_download_range``, or linear) — at most
  ``max_requests`` in flight (default :data:`DEFAULT_MAX_REQUESTS`), each block reserved feed-wide so two
  peers never fetch the same one;
* a ``Request`` is answered with ``Data{index, value, nodes, signature}`` from ``core.proof``; the
  ``Data`` of one received chunk are queued and verified and stored together by ``core.put_many`` when
  the chunk ends (or before the next message of another kind): one storage transaction, one bitfield
  flush, one round of events per chunk.  Before storing them the peer refills its pipeline and hands
  the new Requests to the transport (``stream.push``), and an uploader pushes the first
  :data:`UPLOAD_PUSH_BYTES` of its answers to a chunk of Requests at once, so the two peers work at
  the same time instead of taking turns.  Any verification error destroys the whole stream, as in JS
  (the blocks verified before it are kept, nothing of the bad one is written);
* non-live: when every selected block is local the downloader sends ``Info{uploading: true,
  downloading: false}``; the uploader answers ``Info{false, false}`` and both close their channel
  (``expected_feeds`` then finalizes the stream).  Live: nothing ends, new appends flow as ``Have``s.
* request timeout: each protocol tick decrements the oldest in-flight request; after 6 ticks without an
  answer the stream is destroyed (``Request timeout``).

Differences from JS, on purpose: a random selection is asked for by aligned groups of
``2**GROUP_SHIFT`` blocks (JS draws a random place for every Request; the wire is the same); the remote's
blocks are kept as runs, so a ``Have`` announcing a huge range costs O(1) memory (JS loops over every
index); ``remote_length`` counts blocks we already have too (JS's ``remoteBitfield.last()`` forgets them;
it only changes when a non-live selection ends, never what is requested).
"""

from __future__ import annotations

import logging
import random
from collections import deque
from typing import TYPE_CHECKING, Any

from ...protocol import limits
from ...protocol import messages as m
from ...protocol.stream import Channel, ProtocolStream
from .errors import BlockChecksumError, HypercoreError, NodeNotFoundError, NoProofError
from .ranges import RangeSet, runs_from_bits
from .rle import RLEError
from .rle import decode as rle_decode
from .wanted import first_wanted

if TYPE_CHECKING:  # pragma: no cover
    from .core import Hypercore
    from .proofs import PutItem
    from .tree_index import TreeIndex

__all__ = ["ReplicationPeer", "attach_sync", "RequestTimeout", "WANT_WINDOW", "DEFAULT_MAX_REQUESTS"]

log = logging.getLogger(__name__)

WANT_WINDOW = 1024 * 1024
# Requests in flight per peer.  JS keeps 16.  We start at 16 and, once block sizes are known, keep about
# INFLIGHT_BYTES of data in flight, up to DEFAULT_MAX_REQUESTS requests: each Data costs Python more CPU
# than JS, and a deeper pipeline for small blocks lets the per-chunk work (one refill, one transport write
# per received chunk) cover many blocks (1 KiB blocks over loopback: ~12 000/s at 16, ~23 000/s at 128),
# while large blocks stay at 16 (deeper only adds buffering).  Responses come back in order and the
# request timeout only watches the oldest one, so depth does not cause timeouts.
DEFAULT_MAX_REQUESTS = 128
INITIAL_REQUESTS = 16
INFLIGHT_BYTES = 1 << 20
MAX_INFLIGHT_WANTS = 16
# While it answers a received chunk of Requests, the uploader hands its first UPLOAD_PUSH_BYTES of Data to
# the transport at once (``stream.push``), so the fetcher starts on them while the rest is produced (100 000
# x 1 KiB between two Python peers on 2 cores: about 6.7 s without, 5.4 s with; pushing every 8 KiB, or
# only at 32 KiB, measured the same within the noise, and once per chunk costs fewer writes).
UPLOAD_PUSH_BYTES = 8192
REQUEST_TICKS = 6
# A random selection is fetched by aligned groups of 2**GROUP_SHIFT blocks: one block first at a random
# place, the rest of its group once that block is stored (see _download_range).
GROUP_SHIFT = 4
MAX_REMOTE_RUNS = limits.MAX_REMOTE_RUNS  # runs of remote blocks we track per peer before calling the peer hostile
MAX_BITFIELD_BYTES = WANT_WINDOW // 8 * 16  # a Have bitfield never needs more than 16 windows


class RequestTimeout(HypercoreError):
    def __init__(self, message: str = "Request timeout") -> None:
        super().__init__(message)


class RemoteMisbehaved(HypercoreError):
    """The remote announced more than we are willing to track."""


class ReplicationPeer:
    """Replication state for one core on one stream (JS ``Peer`` in lib/replicate.js)."""

    def __init__(
        self,
        core: "Hypercore",
        stream: ProtocolStream,
        *,
        live: bool | None = None,
        download: bool | None = None,
        upload: bool = True,
        max_requests: int | None = None,
        ack: bool = False,
    ) -> None:
        self.core = core
        self.stream = stream
        self.channel: Channel | None = None
        self.live = stream.live if live is None else bool(live)
        self.default_downloading = download is None and not core.writable
        self.downloading = (not core.writable) if download is None else bool(download)
        self.uploading = bool(upload)
        self.max_requests = max_requests or core.max_requests or DEFAULT_MAX_REQUESTS
        self.limit = min(self.max_requests, INITIAL_REQUESTS)  # current pipeline depth (see INFLIGHT_BYTES)
        self._avg_size = 0.0
        # groups (index >> GROUP_SHIFT) in which this peer stored a block: their other blocks come next;
        # each maps to where its next search starts (the block after the last one requested from it)
        self._groups: dict[int, int] = {}
        self._scouts: dict[int, int] = {}  # group -> its first block, requested and not stored yet
        self.ack = bool(ack)
        self.remote_ack = False
        self.remote_has = RangeSet()
        self.remote_length = 0
        self.remote_want = False
        self.remote_downloading = True
        self.remote_tree: TreeIndex | None = None
        self.wants: set[int] | None = set()
        self.inflight_wants = 0
        # requests in flight by block index, oldest first: [ticks, index, bytes, hash]
        self.inflight: dict[int, list[int]] = {}
        self.ready_done = False
        self.closed = False
        self._end_called = False
        self._have_seen = False
        self._last_seek_bytes = -1
        self._needs_update = False
        # Data of the chunk being received, stored together at the end of the chunk
        self._pending: list[PutItem] = []
        self._pushed = False
        self._settled = False  # the pending Data were taken off the in-flight list (see _settle)
        # Requests/Wants that arrived while the stream's output was over its budget, served as it drains
        self._deferred: deque[Any] = deque()

    def __repr__(self) -> str:
        return f"<ReplicationPeer {self.core.discovery_key.hex()[:8]} remote_length={self.remote_length}>"

    # -- lifecycle ------------------------------------------------------------------------------------

    def on_open(self, channel: Channel) -> None:
        self.channel = channel

    def on_handshake(self, channel: Channel) -> None:
        self.remote_ack = self.stream.remote_ack
        self.ready()

    def ready(self) -> None:
        """The remote's handshake arrived: join the feed's peers and ask for Haves."""
        if self.ready_done or self.closed:
            return
        self.ready_done = True
        self.core.peers.append(self)
        self._send_wants()
        self.core.emit("peer-add", self)

    def on_close(self, channel: Channel, error: BaseException | None) -> None:
        if self._pending and not self.closed and not self.core.closed:
            # Data received before the channel closed (e.g. the stream finalized in the middle of the
            # chunk, when another channel was the last one it waited for): store them, as the
            # per-message path did; a bad one only ends what is ending anyway
            try:
                self._apply_data()
            except HypercoreError as exc:
                log.debug("%r: Data received before the close did not verify: %r", self, exc)
        self._pending = []
        self._settled = False
        if self.closed:
            return
        self.closed = True
        self._deferred.clear()
        self.stream.resume_input(self)
        core = self.core
        if self in core.peers:
            core.peers.remove(self)
        for index in self.inflight:
            core.reserved.set(index, False)
        self.inflight.clear()
        self.remote_want = False
        if self.ready_done and not core.closed:
            core.update_peers()
            core.emit("peer-remove", self)

    def end(self) -> None:
        """Non-live end of replication (JS ``Peer.end``)."""
        channel = self.channel
        if channel is None or self.closed:
            return
        if not self.downloading and not self.remote_downloading and not self.live:
            if not self.default_downloading:
                channel.info(uploading=False, downloading=False)
            channel.close()
            return
        if not self._end_called:
            self._end_called = True
            self.downloading = False
            channel.info(uploading=True, downloading=False)
            if not self.live and self.stream.remote_live:
                # a live remote ignores that Info and would keep us open forever (JS stays open here);
                # we are done, so close our side, which ends the stream once no other feed is pending
                channel.close()
            return
        if not self.live:
            channel.close()

    def destroy(self, error: BaseException) -> None:
        self.stream.destroy(error)

    # -- called by the core -----------------------------------------------------------------------------

    def have(self, start: int, length: int | None = None) -> None:
        if self.remote_want and self.channel is not None:
            self.channel.have(start, length)

    def unhave(self, start: int, length: int | None = None) -> None:
        if self.remote_want and self.channel is not None:
            self.channel.unhave(start, length)

    # -- messages -------------------------------------------------------------------------------------

    def on_message(self, channel: Channel, msg: Any) -> None:
        if self.closed or self.core.closed:
            return
        t = msg.TYPE
        if (t == 7 or t == 5) and (self._deferred or self.stream.output_full()):
            self._defer(msg)  # answering adds output: wait until the transport took what is queued
            return
        self._handle(msg)

    def _handle(self, msg: Any) -> None:
        t = msg.TYPE
        try:
            if t == 9:
                self._on_data(msg)
                return
            if self._pending:  # a message after Data sees them stored, as if they were stored one by one
                self._apply_data()
                if self.closed:
                    return
            if t == 7:
                self._on_request(msg)
            elif t == 3:
                self._on_have(msg)
            elif t == 5:
                self._on_want(msg)
            elif t == 2:
                self._on_info(msg)
            elif t == 4:
                self._on_unhave(msg)
            # Unwant (6) and Cancel (8) are ignored by hypercore 7
        except (HypercoreError, RLEError) as exc:
            self.destroy(exc)

    def _defer(self, msg: Any) -> None:
        """Keep a Request/Want until the output drains; past :data:`~limits.MAX_DEFERRED` of them the
        stream stops reading this connection (a legit peer has at most 128 requests and 16 wants out)."""
        deferred = self._deferred
        deferred.append(msg)
        if len(deferred) == 1:
            self.stream.when_drained(self._serve_deferred)
        if len(deferred) >= limits.MAX_DEFERRED:
            self.stream.pause_input(self)

    def _serve_deferred(self) -> None:
        deferred = self._deferred
        stream = self.stream
        while deferred and not self.closed and not self.core.closed and not stream.output_full():
            self._handle(deferred.popleft())
        if self.closed or self.core.closed:
            deferred.clear()
        if deferred:
            stream.when_drained(self._serve_deferred)
        if len(deferred) < limits.MAX_DEFERRED:
            stream.resume_input(self)

    def on_extension(self, channel: Channel, name: str, payload: bytes) -> None:
        self.core.emit("extension", name, payload, self)

    def on_tick(self, channel: Channel) -> None:
        if not self.inflight or self.closed or self.core.closed:
            return
        req = next(iter(self.inflight.values()))  # the oldest
        req[0] -= 1
        if req[0] > 0:
            return
        index = req[1]
        if self.core.has(index) and not req[3]:
            del self.inflight[index]
            self.core.reserved.set(index, False)
            return
        self.destroy(RequestTimeout())

    def _on_want(self, msg: m.Want) -> None:
        core = self.core
        channel = self.channel
        assert channel is not None  # messages arrive on an open channel
        start = msg.start
        length = msg.length or 0
        if start % 8192 or length % 8192:
            return
        if not self.remote_want and core.length > 0 and core.has(core.length - 1):
            channel.have(core.length - 1)
        self.remote_want = True
        # Answer from the bits we store, never from the length the remote asked for: past our bitfield
        # every bit is 0 and the RLE drops trailing zeros, so the bytes are what JS sends for the whole
        # range (which JS allocates first: Want(0, 2**40) is a 128 GiB buffer there).
        ours = -(-core.bitfield.data.length // 8192) * 8192
        if not start and not length:
            n = ours
            bitfield = core.bitfield.compress(0, 0)
        else:
            n = min(start + length, ours) - start
            bitfield = core.bitfield.compress(start, n) if n > 0 else b""
        self.stream.charge(max(n, 0) // 8 // limits.WANT_WORK_BYTES)  # the bitfield bytes we went through
        channel.have(start, length, bitfield)

    def _on_have(self, msg: m.Have) -> None:
        core = self.core
        length = 1 if msg.length is None else msg.length
        if self.ack and msg.ack and msg.bitfield is None and core.has(msg.start):
            self.stream.emit("ack", self, msg.start)
            return
        if length == WANT_WINDOW:
            self.inflight_wants -= 1
        old_length = self.remote_length
        if msg.bitfield is not None:
            if length in (0, 1):
                self.wants = None  # compat mode: the remote answered a Want without a window
            bits = rle_decode(msg.bitfield, 4, MAX_BITFIELD_BYTES)
            self.stream.charge(len(bits) // limits.WANT_WORK_BYTES)
            end = msg.start + 8 * len(bits)
            remote_has = self.remote_has
            remote_has.remove(msg.start, end)
            for a, b in runs_from_bits(bits, msg.start):
                remote_has.add(a, b)
                if len(remote_has) > MAX_REMOTE_RUNS:  # checked as they come: never build them all first
                    raise RemoteMisbehaved("Remote announced too many block ranges")
            if end > self.remote_length:
                self.remote_length = max(self.remote_has.last, 0) if self.remote_has.last > 0 else 0
        else:
            end = msg.start + (length or 1)
            self.remote_has.add(msg.start, end)
            if end > self.remote_length:
                self.remote_length = end
        if len(self.remote_has) > MAX_REMOTE_RUNS:
            raise RemoteMisbehaved("Remote announced too many block ranges")
        if not self._have_seen or self.remote_length != old_length:
            self._have_seen = True
            core.emit("remote-update", self)
        self._update_end()
        self.update()

    def _on_unhave(self, msg: m.Unhave) -> None:
        length = 1 if msg.length is None else msg.length
        end = msg.start + length
        self.remote_has.remove(msg.start, end)
        # a request for a block the remote no longer has is never answered: forget it (do not time out)
        gone = [index for index in self.inflight if msg.start <= index < end]
        for index in gone:
            del self.inflight[index]
            self.core.reserved.set(index, False)
        self.update()

    def _on_info(self, msg: m.Info) -> None:
        self.remote_downloading = bool(msg.downloading)
        if self.remote_downloading or self.live:
            return
        self.update()
        if self.core.selections and self.downloading:
            return
        self.end()

    def _on_request(self, msg: m.Request) -> None:
        if not self.uploading:
            return
        core = self.core
        index = msg.index
        digest = msg.nodes or 0
        want_hash = bool(msg.hash)
        if msg.bytes:
            if msg.bytes == self._last_seek_bytes:
                return
            self._last_seek_bytes = msg.bytes
            try:
                index, _ = core.seek(msg.bytes)
                digest = 0
            except HypercoreError:
                pass
        if self.remote_tree is None:
            from .tree_index import TreeIndex

            self.remote_tree = TreeIndex()
        try:
            proof = core.proof(index, digest=digest, hash=want_hash, remote_tree=self.remote_tree)
        except (NoProofError, NodeNotFoundError):
            raise NoProofError("No proof available for this index") from None
        value = None
        if not want_hash:
            if not core.has(index):
                return  # cleared block: no reply at all (as JS)
            try:
                value = core.read_block(index)
            except BlockChecksumError:  # damaged on disk: stop announcing it (never kill the stream for it)
                core.block_failed(index)
                return
        if index + 1 > self.remote_length:
            self.remote_length = index + 1
        assert self.channel is not None  # messages arrive on an open channel
        self.channel.data(index, value, proof.nodes, proof.signature)
        if not self._pushed and self.stream.wire.pending() >= UPLOAD_PUSH_BYTES:
            self._pushed = True
            self.stream.push()  # the fetcher starts on these while we answer the rest of its Requests
        stats = core.stats
        stats["uploaded_blocks"] += 1
        if value is not None:
            stats["uploaded_bytes"] += len(value)
        core.emit("upload", index, value, self)

    def _on_data(self, msg: m.Data) -> None:
        """Queue a received block; the Data of one received chunk are stored together (:meth:`_apply_data`)."""
        core = self.core
        index = msg.index
        value = msg.value
        if value is not None and not core.allow_push and not core.reserved.get(index):
            if not core.has(index):
                assert self.channel is not None  # messages arrive on an open channel
                self.channel.unhave(index)
            return
        self._pending.append((index, value, msg.nodes, msg.signature))

    def _settle(self) -> None:
        """The queued Data answer their Requests: they leave the in-flight list (the blocks stay reserved
        until they are stored), so the pipeline can be refilled before they are stored."""
        if self._settled:
            return
        self._settled = True
        pop = self.inflight.pop
        for item in self._pending:
            pop(item[0], None)

    def _apply_data(self) -> None:
        """Verify and store the queued Data as one batch (``Hypercore.put_many``: one transaction, one
        bitfield flush, one round of events), then account for them (in-flight requests, pipeline depth,
        acks).  A verification error propagates (the stream is destroyed); the blocks before it are kept."""
        items = self._pending
        if not items:
            return
        self._settle()
        self._pending = []
        self._settled = False
        core = self.core
        reserved = core.reserved
        try:
            core.put_many(items, from_peer=self)
        finally:
            for item in items:
                reserved.set(item[0], False)
        if self.closed:
            return
        channel = self.channel
        assert channel is not None  # the channel is open while the peer is not closed
        ack = self.remote_ack
        total = 0
        counted = 0
        groups = self._groups
        scouts = self._scouts
        for index, value, _, _ in items:
            if value is not None:
                total += len(value)
                counted += 1
                g = index >> GROUP_SHIFT
                if g not in groups:
                    groups[g] = g << GROUP_SHIFT
                scouts.pop(g, None)
                if ack:
                    channel.have(index, 1, ack=True)
        if counted:
            size = total / counted + 64  # + per-message overhead
            avg = self._avg_size = size if not self._avg_size else 0.9 * self._avg_size + 0.1 * size
            self.limit = max(min(self.max_requests, INITIAL_REQUESTS), min(self.max_requests, int(INFLIGHT_BYTES / avg)))
        self._needs_update = True  # refill the pipeline once per received chunk (on_batch_end)

    def on_batch_end(self, channel: Channel) -> None:
        self._pushed = False
        try:
            if self._pending and self.downloading and not self.closed:
                # refill the pipeline before storing the chunk, and hand the Requests to the transport
                # now: the remote answers them while we verify and store
                self._settle()
                if len(self.inflight) < self.limit and self.ready_done:
                    while self._update():
                        pass
                    self.stream.push()
            self._apply_data()
        except (HypercoreError, RLEError) as exc:
            self.destroy(exc)
            return
        if self._needs_update and not self.closed:
            self._needs_update = False
            self.core.update_peers()

    # -- choosing what to request ---------------------------------------------------------------------

    def _update_end(self) -> None:
        core = self.core
        if self.live or core.sparse or not core.selections:
            return
        end = core.length or -1
        for peer in core.peers:
            end = max(end, peer.remote_length)
        core.selections[0].end = end

    def update(self) -> None:
        """Send Requests for what the feed wants and the remote has (JS ``update``)."""
        if self.closed or not self.ready_done:
            return
        while self._update():
            pass
        core = self.core
        if self.downloading and not self.live and not core.sparse and not core.selections and not self.inflight:
            self.end()  # the feed resolved the last selection itself when the last block arrived
            return
        self._send_wants()

    def _remote_candidate(self, start: int, end: int, skip_hash: bool = False) -> int:
        """First block in ``[start, end)`` the remote has, we lack and nobody is fetching; -1 if none
        (``skip_hash``: whose leaf node we lack, for hash-only selections)."""
        core = self.core
        if not skip_hash:
            return first_wanted(self.remote_has, core.bitfield, core.reserved, start, end)
        reserved = core.reserved.get
        tree_get = core.tree.get
        for a, b in self.remote_has.runs_from(start, end):
            for i in range(a, b):
                if not tree_get(2 * i) and not reserved(i):
                    return i
        return -1

    def _update(self) -> bool:
        """One round of requests; True when a selection or waiting entry finished (lists changed)."""
        if not self.downloading:
            return False
        core = self.core
        if len(self.inflight) >= self.limit:
            return False
        waiting = core.waiting
        n = len(waiting)
        if n:
            offset = random.randrange(n) if n > 1 else 0
            for k in range(n):
                if len(self.inflight) >= self.limit:
                    return False
                w = waiting[(k + offset) % n]
                if w.update:
                    target = self.remote_length - 1
                    if target >= core.length and not core.reserved.get(target) and target in self.remote_has:
                        self._request(target, 0, True)
                    continue
                i = w.index
                if i in self.remote_has and not core.has(i) and not core.reserved.get(i):
                    self._request(i, 0, bool(w.hash))
        selections = core.selections
        n = len(selections)
        if not n:
            return False
        offset = random.randrange(n) if n > 1 else 0
        for k in range(n):
            if len(self.inflight) >= self.limit:
                return False
            sel = selections[(k + offset) % n]
            if self._download_range(sel):
                return True
        return False

    def _download_range(self, sel) -> bool:
        """Request blocks of selection ``sel`` until the pipeline is full (JS ``_downloadRange``).

        A linear selection takes the first wanted block each time.  Otherwise JS asks for the first wanted
        block at or after a random position (wrapping to ``sel.start``) for every Request.  We do that for
        the first block of an aligned group of ``2**GROUP_SHIFT`` blocks only; once a block of a group is
        stored, the group's other blocks come next, as one run.  The wire is the same and blocks still
        come from scattered places, but the fetcher verifies and writes them in runs (its CPU per 1 KiB
        block: 49 -> 40 µs at 100 000 blocks), and each Request is made after the group's first block
        brought the tree nodes above it, so its proof is short (about 2.5 nodes, against 5.7 for a run
        asked for before any of its blocks arrived).  True when the selection finished (the lists changed).
        """
        core = self.core
        start = sel.start
        wanted_end = self.remote_length if sel.end == -1 else min(sel.end, self.remote_length)
        while len(self.inflight) < self.limit:
            if sel.linear or wanted_end - start <= 1:
                i = self._remote_candidate(start, wanted_end, sel.hash)
            else:
                i = self._group_candidate(start, wanted_end, sel.hash)
                if i < 0:
                    i = self._first_of_group(start, wanted_end, sel.hash)
            if i < 0:
                if sel.end != -1 and core.length >= sel.end and core._selection_done(sel):
                    core.resolve_selection(sel)
                    if not self.live and not core.sparse and not core.selections:
                        self.end()
                    return True
                return False
            self._request(i, 0, sel.hash)
        return False

    def _group_candidate(self, start: int, end: int, skip_hash: bool) -> int:
        """A wanted block in ``[start, end)`` of the oldest group in which this peer stored a block (groups
        with nothing left to ask for are dropped); -1 if none.

        A group's blocks are asked for in order, so its search resumes after the block last taken from it
        instead of stepping again over the blocks still in flight (that walk made choosing a block cost
        about as much as verifying it); before a group is dropped, the part before that point is searched
        once more, for a block that was un-reserved meanwhile (a failed or timed-out Request)."""
        groups = self._groups
        while groups:
            g = next(iter(groups))
            base = g << GROUP_SHIFT
            hi = min(end, base + (1 << GROUP_SHIFT))
            lo = max(start, groups[g])
            if lo < hi:
                i = self._remote_candidate(lo, hi, skip_hash)
                if i >= 0:
                    groups[g] = i + 1
                    return i
            first = max(start, base)
            if first < min(lo, hi):
                i = self._remote_candidate(first, min(lo, hi), skip_hash)
                if i >= 0:
                    groups[g] = i + 1
                    return i
            del groups[g]
        return -1

    def _first_of_group(self, start: int, end: int, skip_hash: bool) -> int:
        """The first wanted block at or after a random position in ``[start, end)`` (wrapping), as JS picks
        every block; while the group it falls in already has its first block on the way, the next group
        is tried (8 tries, then the block is taken anyway).  -1 if nothing is wanted."""
        reserved = self.core.reserved.get
        scouts = self._scouts
        pos = random.randrange(start, end) if end > start else start
        i = -1
        for _ in range(8):
            i = self._remote_candidate(pos, end, skip_hash)
            if i < 0 and pos > start:
                i = self._remote_candidate(start, pos, skip_hash)
            if i < 0:
                return -1
            g = i >> GROUP_SHIFT
            scout = scouts.get(g)
            if scout is None or not reserved(scout):
                scouts[g] = i
                return i
            pos = (g + 1) << GROUP_SHIFT
            if pos >= end:
                pos = start
        return i

    def _request(self, index: int, bytes_: int, hash_: bool) -> None:
        core = self.core
        core.reserved.set(index, True)
        self.inflight[index] = [REQUEST_TICKS, index, bytes_, hash_]
        assert self.channel is not None  # requests follow the handshake on an open channel
        self.channel.request(index, bytes_, hash_, core.tree.digest(2 * index))  # core.digest, unchecked: open

    def _send_wants(self) -> None:
        if self.wants is None or not self.downloading or self.channel is None:
            return
        if len(self.inflight) >= self.limit:
            return
        core = self.core
        for w in core.waiting:
            if self.inflight_wants >= MAX_INFLIGHT_WANTS:
                return
            self._send_want(w.index // WANT_WINDOW)
        for sel in core.selections:
            if self.inflight_wants >= MAX_INFLIGHT_WANTS:
                return
            at = 0
            while at < self.remote_length and (sel.end == -1 or at < sel.end):
                if (at // WANT_WINDOW) not in self.wants:
                    self._send_want(at // WANT_WINDOW)
                    break
                at += WANT_WINDOW
        self._send_want(0)

    def _send_want(self, window: int) -> None:
        if self.wants is None or window in self.wants or self.inflight_wants >= MAX_INFLIGHT_WANTS:
            return
        self.wants.add(window)
        self.inflight_wants += 1
        assert self.channel is not None  # checked by _send_wants
        self.channel.want(window * WANT_WINDOW, WANT_WINDOW)


def attach_sync(core: "Hypercore", stream: ProtocolStream, **options: Any) -> ReplicationPeer | None:
    """Attach an opened ``core`` to ``stream``: one channel, one :class:`ReplicationPeer` (its handler).

    Options: ``live`` (default: the stream's), ``download`` (default: not writable), ``upload`` (True),
    ``max_requests``, ``ack``.  A non-sparse feed is given its "download everything" selection when it
    has none (live: when it has no open-ended one).  The stream is recorded among the core's attachments
    (see :class:`~hyperparty.feeds.base.Feed`).  Returns None when the stream is already closed.
    """
    if stream.destroyed:
        return None
    if stream not in core._attachments:
        core._adopt(stream, dict(options), False)
    peer = ReplicationPeer(core, stream, **options)
    # a non-sparse feed downloads everything: JS adds that selection for non-live replication only, so a
    # feed whose non-live session ended would never download in a later live one; we keep it open-ended
    if not core.sparse and (not core.selections or (peer.live and all(s.end != -1 for s in core.selections))):
        from .selections import Selection

        core.selections.append(Selection(0, -1))
    channel = stream.feed(core.key, handler=peer)
    if channel is None:
        return None
    existing = channel.handler
    if existing is peer:
        return peer
    if isinstance(existing, ReplicationPeer):  # this core is already attached to the stream
        return existing
    add_delegate = getattr(existing, "add_delegate", None)
    if add_delegate is None or getattr(existing, "delegate", None) is not None:
        raise ValueError("the stream's channel for this feed is already used by another handler")
    # the channel is open for another purpose (a party channel keyed by this feed): replicate on it too
    add_delegate(peer)
    peer.on_open(channel)
    if stream.remote_id is not None:
        peer.on_handshake(channel)
    return peer
