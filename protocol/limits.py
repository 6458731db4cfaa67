"""Every budget a peer gets from us, in one place: what a remote can make this process hold or do.

A remote peer is never trusted with our memory, CPU, file descriptors or time.  Each budget below is
enforced where the work happens (mostly in the sans-IO :class:`~hyperparty.protocol.stream.ProtocolStream`,
which sees every byte and every message), and past a budget a connection either **stops being read until
it drains** (backpressure: the remote's bytes wait in its own socket buffers) or is **dropped with a
reason** (an exception naming the budget, logged by the server on ``hyperparty.net``).  Nothing is ever
allocated in proportion to a number a peer sent (a ``Want`` length, a frame length, a bitfield run): only
in proportion to the bytes it actually sent, within these bounds, or to what we store ourselves.

Time is counted in keep-alive *ticks* (the transport ticks a stream every ``timeout / 4`` seconds of its
injected clock, :mod:`hyperparty.clock`: 1.25 s with the default 5 s timeout), so every deadline is
testable with a :class:`~hyperparty.clock.ManualClock`.  The values are module attributes read when a
stream, server or peer is made, so a test (or an embedding application) can lower them.

Per connection (:class:`~hyperparty.protocol.stream.ProtocolStream`, :mod:`~hyperparty.protocol.transport`)
==========================================================================================================

===============================  ================  ========================================================
budget                           value             past it
===============================  ================  ========================================================
frame size after the handshake   8 MiB             dropped: ``MessageTooLarge`` (JS's limit)
frame size before the handshake  64 KiB            dropped: ``MessageTooLarge`` (a Feed or a Handshake is
                                                   small; this is what a peer that knows nothing can send)
input held before the key        256 KiB           dropped: ``BufferLimitExceeded``
input buffered, free share       256 KiB           beyond it a partial frame draws on the process pool and
                                                   reads shrink to 16 KiB
time to complete a frame         8 ticks + 1 per   dropped: ``FrameTimeout`` (a frame trickled byte by byte
                                 64 KiB of it      holds its buffer; keep-alives cannot be sent inside it)
remote handshake                 8 ticks (10 s)    dropped: ``HandshakeTimeout`` (zero-length frames, half a
                                                   frame or silence never make a connection useful)
remote silence                   > 4 ticks         dropped: ``RemoteTimeout`` (JS); not counted while we hold
                                                   the input back ourselves
pending output                   256 KiB           Requests and Wants that would add more wait (deferred)
                                                   until the transport took it
deferred Requests/Wants          256 per channel   the connection is not read until they are served (a legit
                                                   peer has at most 128 requests and 16 wants out)
output not taken                 16 ticks (20 s)   dropped: ``RemoteStoppedReading``
work per slice                   256 units         the rest waits for the next loop iteration (a message is
                                                   1 unit; a Want or a Have bitfield 1 more per 4 KiB of
                                                   bitfield gone through)
frames parsed at a time          64                parsing resumes when they were dispatched
channels                         256 local,        remote ids past it: dropped, ``TooManyFeeds`` (JS); 512
                                 256 remote ids    discovery keys known; local channels past it are refused
                                 (16 384 each when (never the whole connection) and reported as ``overflow``;
                                 both peers list   both limits 16 384 between peers that list the
                                 the extension)    ``hyperparty/many-feeds`` extension
messages on unopened channels    17 each, 1 MiB    dropped: ``TooManyQueued`` (as JS: a message arriving when 17
                                 in all            are already queued; JS has no byte bound)
===============================  ================  ========================================================

Per process
===========

===============================  ================  ========================================================
partial-frame input pool         32 MiB            connections whose input beyond their free share would
                                                   exceed it are not read until bytes come back (their
                                                   frame deadline still runs)
connections per server           128 (at most      the oldest connection that has not completed its
                                 half the fd       handshake is dropped for the new one, else the new one is
                                 limit)            refused; nothing is ever accepted past the descriptors
accept errors (EMFILE ...)       back off 50 ms,   one log line when a burst starts, one when it ends
                                 doubling to 2 s
===============================  ================  ========================================================

So a server's memory for connections stays below about ``connections x (256 KiB input + 16 KiB read +
2 x (256 KiB output + largest block)) + 32 MiB``: about 150 MiB with 128 connections and 64 KiB blocks.

Replication (:mod:`hyperparty.feeds.hypercore.replicate`), per channel
=====================================================================

* A ``Want`` is answered from the bitfield pages we store, never from its announced length
  (``Want(0, 2**40)`` costs what our own bitfield costs; JS allocates the whole range first), with the
  same bytes JS sends.
* A ``Request`` or ``Want`` is answered only while the stream's output is under its budget; the others
  wait (deferred, see above).
* The remote's ``Have`` announcements are kept as at most 262 144 runs (``RemoteMisbehaved`` past it,
  checked while decoding); one ``Have`` bitfield decodes to at most 2 MiB.
* Our own requests and wants in flight: 16..128 and 16 (JS: 16 and 16).

Party (:mod:`hyperparty.party`), per peer
========================================

* rule-hook tasks running at once: 32 (the connection is not read while they run);
* party messages held before the remote's handshake: 16 (one more drops the connection);
* ephemeral messages: value <= 64 KiB, at most 32 a second (burst 64); others are dropped (a log line a
  second at most);
* ``IntroduceFeeds``/multifeed requests: <= 256 keys per message (more: the message is refused), or up to
  the connection's channel limit (16 384) with a peer that negotiated ``hyperparty/many-feeds``
  (``Peer.key_limit``); <= 32 new feeds a peer made us create that have no verified block yet (multifeed,
  which shares everything: the store's limit); a party's store holds <= 200 feeds by default
  (``FeedStore(max_feeds=...)`` raises it), so one connection never needs more than the 256 channels a
  stream has; feeds created for an introduction and still empty when their introducer leaves are
  discarded, on disk too; multifeed offers and keeps what one connection can carry (255 keys offered
  either way with a peer held to 256 channels, more after negotiating many feeds), reporting the feeds
  it leaves out (the party's ``overflow`` event).
* ``IntroduceFeeds``/``Request`` without a ``Transaction`` are refused (the connection is dropped).
"""

from __future__ import annotations

import weakref
from typing import Callable

__all__ = [
    "MAX_FRAME", "MAX_FRAME_BEFORE_HANDSHAKE", "MAX_INPUT_BEFORE_KEY", "INPUT_FREE", "MIN_READ", "FRAME_BASE_TICKS",
    "FRAME_BYTES_PER_TICK", "HANDSHAKE_TICKS", "MAX_OUTPUT", "OUTPUT_STALL_TICKS", "SLICE_WORK",
    "PARSE_BATCH", "MAX_FEEDS", "MAX_QUEUED", "MAX_QUEUED_BYTES", "INPUT_POOL", "MAX_CONNECTIONS",
    "ACCEPT_BACKOFF_MIN", "ACCEPT_BACKOFF_MAX", "WANT_WORK_BYTES", "MAX_REMOTE_RUNS", "MAX_DEFERRED", "MAX_PEER_TASKS",
    "MAX_EARLY_MESSAGES", "MAX_EPHEMERAL_BYTES", "EPHEMERAL_RATE", "EPHEMERAL_BURST",
    "MAX_KEYS_PER_MESSAGE", "MAX_UNPROVEN_PER_PEER", "MAX_STORE_FEEDS", "Pool", "input_pool",
    "connection_limit", "RateLimit",
]

# -- per connection ----------------------------------------------------------------------------------------
MAX_FRAME = 8 * 1024 * 1024
MAX_FRAME_BEFORE_HANDSHAKE = 64 * 1024
MAX_INPUT_BEFORE_KEY = 256 * 1024
INPUT_FREE = 256 * 1024
MIN_READ = 16 * 1024
FRAME_BASE_TICKS = 8
FRAME_BYTES_PER_TICK = 64 * 1024
HANDSHAKE_TICKS = 8
MAX_OUTPUT = 256 * 1024
OUTPUT_STALL_TICKS = 16
SLICE_WORK = 256
PARSE_BATCH = 64
MAX_FEEDS = 256
MAX_FEEDS_NEGOTIATED = 16384  # channels per connection when both peers list MANY_FEEDS_EXTENSION
MAX_QUEUED = 16
MAX_QUEUED_BYTES = 1024 * 1024

# -- per process ---------------------------------------------------------------------------------------------
INPUT_POOL = 32 * 1024 * 1024
MAX_CONNECTIONS = 128
ACCEPT_BACKOFF_MIN = 0.05
ACCEPT_BACKOFF_MAX = 2.0

# -- replication ---------------------------------------------------------------------------------------------
WANT_WORK_BYTES = 4096
MAX_REMOTE_RUNS = 1 << 18
MAX_DEFERRED = 256

# -- party ----------------------------------------------------------------------------------------------------
MAX_PEER_TASKS = 32
MAX_EARLY_MESSAGES = 16
MAX_EPHEMERAL_BYTES = 64 * 1024
EPHEMERAL_RATE = 32.0
EPHEMERAL_BURST = 64
MAX_KEYS_PER_MESSAGE = 256
MAX_UNPROVEN_PER_PEER = 32
MAX_STORE_FEEDS = 200


class Pool:
    """A byte budget shared by every connection of the process (sans-IO: no clock, no loop).

    Each holder (a stream) declares how many bytes it holds beyond its free allowance with :meth:`hold`
    (the bytes are already in memory when they are counted, so holding never fails); a holder asks
    :meth:`available` before taking more, and when the pool is exhausted it registers a waiter that is
    called once bytes come back.  Holders are kept by weak reference: one that is garbage collected
    without giving its bytes back no longer counts.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()
        self._waiters: list[Callable[[], None]] = []

    @property
    def used(self) -> int:
        return sum(self._held.values())

    def available(self) -> bool:
        return self.used < self.limit

    def hold(self, holder: object, n: int) -> None:
        """``holder`` now holds ``n`` bytes of the pool (0 gives everything back)."""
        before = self._held.get(holder, 0)
        if n > 0:
            self._held[holder] = n
        else:
            self._held.pop(holder, None)
        if n < before and self._waiters and self.available():
            waiters, self._waiters = self._waiters, []
            for wake in waiters:
                wake()

    def wait(self, wake: Callable[[], None]) -> None:
        """Call ``wake()`` once when bytes come back (registered at most once per callback)."""
        if wake not in self._waiters:
            self._waiters.append(wake)

    def cancel(self, wake: Callable[[], None]) -> None:
        if wake in self._waiters:
            self._waiters.remove(wake)


#: The process-wide pool for partial frames beyond :data:`INPUT_FREE` per connection.
input_pool = Pool(INPUT_POOL)


def connection_limit(limit: int = MAX_CONNECTIONS) -> int:
    """``limit``, lowered to half the process's file-descriptor limit (storage needs descriptors too)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return limit
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return limit
    return max(1, min(limit, soft // 2))


class RateLimit:
    """A token bucket: ``allow(now)`` is True for at most ``rate`` events a second (``burst`` at once).

    ``now`` comes from the caller's clock, so it is sans-IO and testable.  ``dropped`` counts the refusals
    since the last :meth:`take_dropped` (to report a burst of them in one line).
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None
        self.dropped = 0

    def allow(self, now: float) -> bool:
        if self._at is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.dropped += 1
        return False

    def take_dropped(self) -> int:
        n, self.dropped = self.dropped, 0
        return n
