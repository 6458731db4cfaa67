"""Every attack of issue 12, in-process, against ``core serve`` (the porcelain serve) and ``chat`` (a listening
ChatNode): the serving process stays under a stated memory bound (tracemalloc peak, which also counts the
attacker's own few allocations), its event loop keeps turning, a well-behaved peer fetches the right bytes
during and after the attack, the attacking connections are dropped when a budget says so, and no task is
left behind.

Scaled down where the cost was proportional (noted per test) and timed with a ManualClock for the
deadlines, so each test takes a few seconds.  Numbers before the fix (same scale) are in the docstrings.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from hostile import MiB, TARGETS, RawPeer, Watch, feed_channel, no_tasks_left
from hyperparty.clock import ManualClock
from hyperparty.protocol import limits
from hyperparty.protocol import messages as m
from hyperparty.protocol import transport

BOUND = 64 * MiB  # tracemalloc peak of the whole test process during an attack (the issue asks < 150 MB)
LAG = 0.5  # longest the event loop may be blocked (s)
BOTH = pytest.mark.parametrize("kind", ["serve", "chat"])


@pytest.fixture
def clock(monkeypatch) -> ManualClock:
    """Every transport made during the test ticks on this clock (keep-alives, deadlines)."""
    manual = ManualClock()
    monkeypatch.setattr(transport, "default_clock", lambda: manual)
    return manual


@pytest.fixture
def netlog(caplog):
    caplog.set_level(logging.INFO, logger="hyperparty.net")
    return caplog


def drops(caplog, what: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hyperparty.net" and what in r.getMessage()]


async def run_attack(kind: str, attack, *, after=None, target_options: dict | None = None) -> Watch:
    """Start the target, ``await attack(target)`` (returns the attackers), fetch during, ``await
    after(target, attackers)``, close the attackers, fetch again; returns the measurements."""
    before = asyncio.all_tasks()
    async with TARGETS[kind](**(target_options or {})) as target:
        async with Watch() as watch:
            attackers = await attack(target)
            await asyncio.sleep(0.2)
            watch.sample()
            await target.legit_fetch()  # during
            watch.sample()
            if after is not None:
                await after(target, attackers)
            for p in attackers:
                await p.close()
            await target.legit_fetch()  # after
        attackers.clear()
    await no_tasks_left(before)
    assert watch.peak < BOUND, f"peak {watch.peak / MiB:.1f} MiB"
    assert watch.max_lag < LAG, f"loop blocked {watch.max_lag:.2f} s"
    return watch


@BOTH
async def test_requests_written_at_once_and_never_read(kind, clock, netlog):
    """20 000 Requests for one 64 KiB block in one 80 kB write, replies never read (full scale).
    Before: 384 MiB traced at 2 000 requests (RSS 3.8 GB at 20 000), the loop blocked 3.4 s."""

    async def attack(target):
        p, ch = await feed_channel(target, read=False)
        p.send_many(ch, [m.Request(0)] * 20_000)
        return [p]

    async def after(target, attackers):
        await clock.advance(1.25 * (limits.OUTPUT_STALL_TICKS + 3))  # stopped reading: dropped
        assert await attackers[0].wait_dropped(5)
        assert drops(netlog, "Remote stopped reading")

    await run_attack(kind, attack, after=after)


@BOTH
async def test_requests_from_five_connections_that_read(kind):
    """100 000 Requests from 5 connections that read (scaled: 5 x 2 000).
    Before: 685 MiB traced at 5 x 1 000, legit fetches slowed or timed out."""

    async def attack(target):
        attackers = []
        for _ in range(5):
            p, ch = await feed_channel(target, read=True)
            p.send_many(ch, [m.Request(i % len(target.data)) for i in range(2_000)])
            attackers.append(p)
        return attackers

    async def after(target, attackers):
        assert all(p.received > MiB for p in attackers)  # they were served too, fairly

    await run_attack(kind, attack, after=after)


@BOTH
@pytest.mark.parametrize("length", [2**33, 2**40])
async def test_one_huge_want(kind, length):
    """Want(0, 2**33): a 1 GiB allocation before (2**40: MemoryError); 256 MiB traced at 2**30."""

    async def attack(target):
        p, ch = await feed_channel(target, read=True)
        p.send(ch, m.Want(0, length))
        return [p]

    await run_attack(kind, attack)


@BOTH
async def test_two_hundred_huge_wants(kind):
    """200 x Want(8192 i, 2**30) in one write (full scale).  Before: the loop blocked ~100 s (20 x 2**26:
    2 s)."""

    async def attack(target):
        p, ch = await feed_channel(target, read=True)
        p.send_many(ch, [m.Want(8192 * i, 2**30) for i in range(200)])
        return [p]

    await run_attack(kind, attack)


async def send_slowly(p: RawPeer, header: bytes, payload: bytes, *, encrypt: bool = False,
                      chunk: int = 64 * 1024) -> None:
    """Write ``header + payload`` as fast as the server reads it, a chunk at a time (encrypted as the
    connection's next bytes when ``encrypt``), never building the whole thing: the attacker's own
    memory stays out of the measurement."""
    view = memoryview(payload)
    try:
        p.write(p.encrypted(header) if encrypt else header)
        for at in range(0, len(payload), chunk):
            part = bytes(view[at : at + chunk])
            p.write(p.encrypted(part) if encrypt else part)
            await p.writer.drain()
    except (ConnectionError, OSError):
        pass


@BOTH
async def test_big_frames_before_the_handshake(kind, netlog):
    """Frames announcing 8 MiB sent by peers that know nothing (scaled: 40 connections, not 200).
    Before: 8 MiB held per connection, never timed out (200 connections: 1.85 GB)."""
    payload = bytes(8 * MiB - 1000)
    tasks: list[asyncio.Task] = []

    async def attack(target):
        attackers = []
        for _ in range(40):
            p = await RawPeer.connect(target.port)
            tasks.append(asyncio.ensure_future(send_slowly(p, b"\x80\x80\x80\x04", payload)))
            attackers.append(p)
        return attackers

    async def after(target, attackers):
        assert all([await p.wait_dropped(5) for p in attackers])
        assert len(drops(netlog, "before its handshake")) == 40
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    await run_attack(kind, attack, after=after)


@BOTH
async def test_big_frames_trickled_by_peers_that_know_the_key(kind, clock, netlog, monkeypatch):
    """After the handshake 8 MiB frames are JS's limit: a frame sent up to 8 MiB - 1000 bytes and then
    trickled holds a buffer until its deadline; past the process pool the connection is not read.
    (Scaled: 12 connections and an 8 MiB pool instead of 200 and 32 MiB.)"""
    monkeypatch.setattr(limits, "input_pool", limits.Pool(8 * MiB))
    payload = bytes(8 * MiB - 1000)
    tasks: list[asyncio.Task] = []

    async def attack(target):
        attackers = []
        for _ in range(12):
            p, ch = await feed_channel(target, read=True)
            header = b"\x80\x80\x80\x04" + bytes([ch << 4 | 7])  # 8 MiB, a Request frame on our channel
            tasks.append(asyncio.ensure_future(send_slowly(p, header, payload, encrypt=True)))
            attackers.append(p)
        return attackers

    async def after(target, attackers):
        await asyncio.sleep(0.5)
        assert limits.input_pool.used <= limits.input_pool.limit + 12 * limits.MIN_READ
        ticks = limits.FRAME_BASE_TICKS + 8 * MiB // limits.FRAME_BYTES_PER_TICK
        for _ in range(ticks + 2):
            for p in attackers:
                p.write(p.encrypted(b"\x00"))  # one byte a tick: keep-alives never time out
            await clock.advance(1.25)
        assert all([await p.wait_dropped(5) for p in attackers])
        assert drops(netlog, "did not complete a frame")
        assert limits.input_pool.used == 0
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    await run_attack(kind, attack, after=after)


@BOTH
async def test_zero_length_frames_before_any_handshake(kind, clock, netlog):
    """4 connections sending zero-length frames as fast as they can, knowing nothing.
    Before: 98 % CPU, never closed, a fetch took 17.6 s (and timed out at 20 s in-process)."""
    tasks: list[asyncio.Task] = []

    async def blast(p: RawPeer) -> None:
        zeros = bytes(64 * 1024)
        try:
            while True:
                p.write(zeros)
                await p.writer.drain()
        except (ConnectionError, OSError):
            pass

    async def attack(target):
        attackers = []
        for _ in range(4):
            p = await RawPeer.connect(target.port)
            tasks.append(asyncio.ensure_future(blast(p)))
            attackers.append(p)
        return attackers

    async def after(target, attackers):
        await clock.advance(1.25 * (limits.HANDSHAKE_TICKS + 2))
        assert all([await p.wait_dropped(5) for p in attackers])
        assert len(drops(netlog, "no handshake")) == 4
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    await run_attack(kind, attack, after=after)


@BOTH
async def test_more_connections_than_allowed(kind, monkeypatch, netlog):
    """Idle connections beyond the limit (scaled: 120 connections against a limit of 32, standing for
    1 100 against ``ulimit -n 1024``; the real descriptor limit is tried in test_hostile_connections).
    The oldest connection without a handshake makes room for each new one, so a legit peer gets in."""
    monkeypatch.setattr(limits, "MAX_CONNECTIONS", 32)

    async def attack(target):
        attackers = [await RawPeer.connect(target.port) for _ in range(120)]
        return attackers

    async def after(target, attackers):
        deadline = asyncio.get_running_loop().time() + 10
        dropped: set[int] = set()
        while len(dropped) < 120 - 32:
            assert asyncio.get_running_loop().time() < deadline, f"only {len(dropped)} dropped"
            for k, p in enumerate(attackers):
                if k not in dropped and await p.wait_dropped(0):
                    dropped.add(k)
            await asyncio.sleep(0.05)

    await run_attack(kind, attack, after=after)
