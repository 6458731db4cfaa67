"""The per-connection budgets of the sans-IO stream (protocol/limits.py), driven by hand: bytes in,
ticks by hand, no loop unless a test needs one.  Each test fails on the code before issue 12."""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc

import pytest

from hyperparty.crypto import discovery_key
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypercore.replicate import attach_sync
from hyperparty.protocol import ProtocolStream, limits
from hyperparty.protocol import messages as m
from hyperparty.protocol.errors import (
    FrameTimeout,
    HandshakeTimeout,
    MessageTooLarge,
    RemoteStoppedReading,
    RemoteTimeout,
    TooManyQueued,
)
from hyperparty.protocol.wire import KEEP_ALIVE, Wire

KEY = bytes(range(32))


def remote(key: bytes = KEY, *, handshake: bool = True) -> Wire:
    """The wire of a hand-driven remote that opened channel 0 for ``key`` (and sent its handshake)."""
    w = Wire()
    w.start(key, discovery_key(key), b"\x07" * 24)
    if handshake:
        w.send(0, m.Handshake(b"\x01" * 32, True, None, [], False))
    return w


def raw(w: Wire, data: bytes) -> bytes:
    """``data`` as the remote's next bytes on the wire (encrypted like the frames before it)."""
    w._emit(data)
    return w.data_to_send()


def local(key: bytes = KEY, **options) -> ProtocolStream:
    s = ProtocolStream(**options)
    s.feed(key)
    s.data_to_send()
    return s


# -- frames -----------------------------------------------------------------------------------------------


def test_a_frame_before_the_handshake_is_small():
    s = local()
    w = remote(handshake=False)
    s.receive(w.data_to_send())
    s.receive(raw(w, b"\x80\x80\x80\x04"))  # announces 8 MiB before any handshake
    assert s.destroyed and isinstance(s.error, MessageTooLarge)
    assert "before its handshake" in str(s.error)
    s = local()  # after the handshake, 8 MiB is JS's limit again
    w = remote()
    s.receive(w.data_to_send())
    s.receive(raw(w, b"\x80\x80\x80\x04"))
    assert not s.destroyed


def test_zero_length_frames_are_parsed_at_c_speed_and_reported_once():
    w = Wire(encrypt=False)
    began = time.perf_counter()
    events = w.receive_data(bytes(16 << 20))
    assert time.perf_counter() - began < 0.5  # per-byte Python work took seconds
    assert [t for _, t, _ in events] == [KEEP_ALIVE] and w.buffered == 0


def test_no_handshake_is_dropped_after_the_handshake_deadline():
    s = local()
    w = remote(handshake=False)
    s.receive(w.data_to_send())
    for _ in range(limits.HANDSHAKE_TICKS):
        s.receive(raw(w, b"\x00" * 100))  # keep-alives keep the keep-alive timer happy, not the handshake one
        s.tick()
    assert not s.destroyed
    s.receive(raw(w, b"\x00"))
    s.tick()
    assert s.destroyed and isinstance(s.error, HandshakeTimeout) and isinstance(s.error, RemoteTimeout)


def test_a_trickled_frame_is_dropped_after_its_deadline():
    s = local()
    w = remote()
    s.receive(w.data_to_send())
    assert s.remote_id is not None
    size = 4 * limits.FRAME_BYTES_PER_TICK
    header = bytearray()
    from hyperparty import varint

    varint.encode_into(header, size)
    w._emit(bytes(header) + b"\x07")  # a Request frame announcing ``size`` bytes
    s.receive(w.data_to_send())
    deadline = limits.FRAME_BASE_TICKS + size // limits.FRAME_BYTES_PER_TICK
    for _ in range(deadline + 1):  # the first tick notes the frames completed before this one
        w._emit(b"\x00")  # one byte a tick: the keep-alive timer never fires
        s.receive(w.data_to_send())
        s.tick()
    assert not s.destroyed
    s.tick()
    assert s.destroyed and isinstance(s.error, FrameTimeout)


def test_frames_that_complete_in_time_are_fine():
    s = local()
    w = remote()
    s.receive(w.data_to_send())
    for i in range(100):
        w.send(0, m.Have(i))
        data = w.data_to_send()
        s.receive(data[:3])  # half a frame at each tick, completed by the next
        s.tick()
        s.receive(data[3:])
        s.tick()
    assert not s.destroyed


def test_messages_queued_on_unopened_channels_are_bounded_in_bytes():
    s = local()
    w = remote()
    s.receive(w.data_to_send())
    w.send(1, m.Feed(bytes(32)))
    for _ in range(limits.MAX_QUEUED - 1):  # JS's count is fine ...
        w.send(1, m.Have(0, 1, bytes(60_000)))
    s.receive(w.data_to_send())
    assert not s.destroyed
    for k in range(10):  # ... but not that many bytes on channels nobody opened
        w.send(2 + k, m.Feed(bytes([k + 1]) * 32))
        for _ in range(limits.MAX_QUEUED - 1):
            w.send(2 + k, m.Have(0, 1, bytes(60_000)))
        s.receive(w.data_to_send())
    assert s.destroyed and isinstance(s.error, TooManyQueued)


# -- output and work --------------------------------------------------------------------------------------------


async def served(n: int = 4, size: int = 64 * 1024):
    core = Hypercore("memory")
    await core.ready()
    await core.append([bytes([i]) * size for i in range(n)])
    s = ProtocolStream()
    attach_sync(core, s)
    w = remote(core.key)
    w.receive_data(s.data_to_send())  # the remote reads our first frame: it can decode what we send
    s.receive(w.data_to_send())
    w.receive_data(s.data_to_send())
    return core, s, w


async def test_requests_written_at_once_never_queue_unbounded_replies():
    """20 000 Requests for a 64 KiB block in one chunk (80 kB), replies never taken: before, 1.3 GB."""
    core, s, w = await served()
    for _ in range(20_000):
        w.send(0, m.Request(0))
    chunk = w.data_to_send()
    tracemalloc.start()
    try:
        s.receive(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert s.wire.pending() < s.max_output + 2 * 65 * 1024
    assert peak < 4 * 1024 * 1024, peak
    assert not s.wants_input  # too many deferred: the connection is not read any more
    out = s.data_to_send()  # the transport takes the output: more are served, as much as fits again
    assert len(out) > 64 * 1024
    await asyncio.sleep(0)
    assert 0 < s.wire.pending() < s.max_output + 2 * 65 * 1024
    await core.close()


async def test_a_remote_that_stops_reading_is_dropped():
    core, s, w = await served()
    for _ in range(1000):
        w.send(0, m.Request(0))
    s.receive(w.data_to_send())
    assert s.output_full() and not s.wants_input
    for _ in range(limits.OUTPUT_STALL_TICKS + 1):
        s.tick()
    assert not s.destroyed  # nothing heard, but we were not reading: not a keep-alive timeout
    s.tick()
    assert s.destroyed and isinstance(s.error, RemoteStoppedReading)
    await core.close()


async def test_huge_wants_cost_what_our_bitfield_costs():
    """Want(0, 2**40): JS allocates 128 GiB; we answer with the same bytes from our own pages."""
    core, s, w = await served(n=3, size=10)
    expected = core.bitfield.compress(0, 8192)  # our 3 blocks, the RLE drops the trailing zeros
    tracemalloc.start()
    try:
        for start, length in ((0, 2**40), (8192, 2**33), (2**40, 2**30), (0, 0)):
            w.send(0, m.Want(start, length))
            s.receive(w.data_to_send())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak
    got = [msg for _, t, msg in w.receive_data(s.data_to_send()) if t == 3]
    haves = [(h.start, h.length, h.bitfield) for h in got if h.bitfield is not None]
    assert haves == [(0, 2**40, expected), (8192, 2**33, b""), (2**40, 2**30, b""), (0, 0, expected)]
    await core.close()


async def test_work_is_done_in_slices_that_yield():
    core, s, w = await served(n=1, size=10)
    later: list = []
    s.schedule = later.append
    for _ in range(5 * limits.SLICE_WORK):
        w.send(0, m.Have(0))
    s.receive(w.data_to_send())
    assert len(later) == 1 and not s.wants_input  # one slice done, the rest deferred to the loop
    slices = 1
    while later:
        later.pop(0)()
        slices += 1
        s.data_to_send()
    assert slices >= 5 and s.wants_input and not s.destroyed
    await core.close()


# -- handlers -------------------------------------------------------------------------------------------------


class Boom:
    def __init__(self, where: str) -> None:
        self.where = where
        self.closed_with: list = []

    def on_message(self, ch, msg):
        if self.where == "message":
            raise RuntimeError("handler bug")

    def on_tick(self, ch):
        if self.where == "tick":
            raise RuntimeError("tick bug")

    def on_close(self, ch, error):
        self.closed_with.append(error)


@pytest.mark.parametrize("where", ["message", "tick"])
def test_a_handler_error_ends_its_channel_not_the_stream(where, expect_errors):
    s = ProtocolStream()
    good, bad = Boom("none"), Boom(where)
    s.feed(KEY, good)
    s.feed(bytes(32), bad)
    s.data_to_send()
    w = remote()
    w.send(1, m.Feed(discovery_key(bytes(32))))
    w.send(1, m.Have(1))
    w.send(0, m.Have(1))
    s.receive(w.data_to_send())
    s.tick()
    assert not s.destroyed
    assert len(bad.closed_with) == 1 and isinstance(bad.closed_with[0], RuntimeError)
    assert good.closed_with == [] and len(s.channels) == 1
    assert any("closing the channel" in r.getMessage() for r in expect_errors)


def test_the_input_pool_is_shared_by_every_connection():
    pool = limits.Pool(2 * limits.INPUT_FREE)
    streams = []
    wires = []
    for _ in range(3):
        s = local(input_pool=pool)
        w = remote()
        s.receive(w.data_to_send())
        s.receive(raw(w, b"\x80\x80\x80\x04"))  # an 8 MiB frame ...
        s.receive(raw(w, bytes(limits.INPUT_FREE + limits.INPUT_FREE // 2)))  # ... half of it sent
        streams.append(s)
        wires.append(w)
    assert pool.used == 3 * (limits.INPUT_FREE // 2 + 4)
    assert streams[2].wants_input
    streams[2].receive(raw(wires[2], bytes(limits.INPUT_FREE)))
    assert pool.used >= pool.limit
    assert [s.wants_input for s in streams] == [False, False, False]  # nobody reads more ...
    woken = []
    streams[0].set_input_listener(lambda: woken.append(1))
    assert not streams[0].wants_input
    streams[2].destroy()  # ... until one of them gives its bytes back
    assert woken and streams[0].wants_input and pool.used == 2 * (limits.INPUT_FREE // 2 + 4)


def test_a_stream_dropped_without_destroy_gives_the_pool_back():
    pool = limits.Pool(limits.INPUT_FREE)
    s = local(input_pool=pool)
    w = remote()
    s.receive(w.data_to_send())
    s.receive(raw(w, b"\x80\x80\x80\x04" + bytes(2 * limits.INPUT_FREE)))
    assert pool.used > 0
    del s
    import gc

    gc.collect()
    assert pool.used == 0


# -- keep-alive tick supervision (run_stream) ----------------------------------------------------------------------


async def test_run_stream_supervises_the_tick_task(expect_errors):
    """A tick that raises used to kill the tick task silently (no keep-alive, no timeouts ever again)."""
    from hyperparty.clock import ManualClock
    from hyperparty.protocol.transport import run_stream

    clock = ManualClock()
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    s = local()

    def broken_tick() -> None:
        raise RuntimeError("tick bug")

    s.tick = broken_tick  # type: ignore[method-assign]
    task = asyncio.ensure_future(run_stream(s, reader, writer, clock=clock))
    await asyncio.sleep(0.05)
    await clock.advance(10)
    error = await asyncio.wait_for(task, 5)
    assert isinstance(error, RuntimeError) and s.destroyed
    assert any(r.levelno == logging.ERROR and "tick bug" in repr(r.exc_info) for r in expect_errors)
    server.close()
    await server.wait_closed()
