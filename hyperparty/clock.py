"""One injectable clock for every timeout of the stack (keep-alive ticks, request and transaction timeouts).

The sans-IO layers never read time: the protocol stream advances only through ``tick()``, replication
request timeouts count those ticks, and a party transaction expires through :meth:`Clock.call_later`.
Whoever drives them — the asyncio transports, a :class:`~hyperparty.party.Party` — is given a clock:

* :class:`LoopClock` (the default) is the running asyncio loop's monotonic time;
* :class:`ManualClock` only moves when a test calls :meth:`ManualClock.advance`, which runs every timer
  and wakes every sleeper that came due, in deadline order, so timeouts test deterministically
  (aioquic's ``now`` passed in, in asyncio form).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any, Callable, Protocol

__all__ = ["Clock", "TimerHandle", "LoopClock", "ManualClock", "default_clock"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the transports and the party need of time."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run ``fn(*args)`` once ``delay`` seconds have passed; the handle cancels it."""
        ...

    async def sleep(self, delay: float) -> None:
        """Return once ``delay`` seconds have passed."""
        ...


class LoopClock:
    """The running asyncio event loop's clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), fn, *args)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)


_DEFAULT = LoopClock()


def default_clock() -> Clock:
    """The clock used when none is injected (:class:`LoopClock`)."""
    return _DEFAULT


class _ManualTimer:
    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock for tests: time stands still until :meth:`advance`."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        timer = _ManualTimer(self._now + max(0.0, delay), fn, args)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    async def sleep(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await future
        finally:
            timer.cancel()

    @property
    def pending(self) -> int:
        """Timers and sleepers not yet due (cancelled ones excluded)."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running what comes due in order.

        After each due timer the event loop runs briefly, so tasks woken by it (a sleeping tick loop, a
        transaction waiter) react before the next deadline is processed.
        """
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.fn(*timer.args)
            for _ in range(5):
                await asyncio.sleep(0)
        self._now = target
        for _ in range(5):
            await asyncio.sleep(0)
