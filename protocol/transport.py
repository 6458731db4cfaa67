"""Thin transports for :class:`~hyperparty.protocol.stream.ProtocolStream`: asyncio TCP and an in-memory pipe.

The stream itself does no I/O; these move its bytes:

* :func:`run_stream` pumps one stream over an ``asyncio`` (reader, writer) pair: reads are fed to
  ``stream.receive``; queued output is written and *drained* (so a slow remote slows us down instead of
  growing our buffers: the reader also waits for the drain when more than ``high_water`` bytes are
  queued); the keep-alive clock ticks every ``timeout / 4`` s.  A finalized stream sends EOF, waits
  (bounded) for the remote's EOF and closes; a destroyed one closes at once.
* :func:`connect_tcp` / :func:`serve_tcp`: TCP client and server built on it.
* :func:`pipe`: two streams wired together in memory (tests), delivering on the next loop iteration
  like a socket would.
* :func:`wait_closed`: wait until a stream ended and get its error.

Every keep-alive tick comes from an injected :class:`~hyperparty.clock.Clock` (default: the loop's), so
tests drive timeouts with a :class:`~hyperparty.clock.ManualClock`.  The transports also give the stream
the loop's ``call_soon`` as its :attr:`~hyperparty.protocol.stream.ProtocolStream.schedule`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable

from ..clock import Clock, default_clock
from .stream import ProtocolStream

__all__ = ["run_stream", "connect_tcp", "serve_tcp", "pipe", "Pipe", "wait_closed"]

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
HIGH_WATER = 4 * 1024 * 1024
EOF_WAIT = 2.0


async def run_stream(
    stream: ProtocolStream,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    read_size: int = READ_SIZE,
    high_water: int = HIGH_WATER,
    clock: Clock | None = None,
) -> BaseException | None:
    """Run ``stream`` over a connection until it ends; returns its error (None when it ended cleanly)."""
    clock = clock or default_clock()
    wake = asyncio.Event()
    _bind_loop(stream)
    stream.set_output_listener(wake.set)
    transport = writer.transport

    async def flush() -> None:
        data = stream.data_to_send()
        if data:
            writer.write(data)
            await writer.drain()

    async def write_loop() -> None:
        while True:
            await wake.wait()
            wake.clear()
            await flush()
            if stream.destroyed:
                return

    async def read_loop() -> None:
        while not stream.destroyed:
            data = await reader.read(read_size)
            if not data:
                stream.receive_eof()
                return
            stream.receive(data)
            if stream.wire.pending() + transport.get_write_buffer_size() > high_water:
                await flush()

    async def tick_loop() -> None:
        interval = stream.timeout / 4
        while not stream.destroyed:
            await clock.sleep(interval)
            stream.tick()

    tasks = [asyncio.ensure_future(write_loop()), asyncio.ensure_future(read_loop())]
    if stream.timeout:
        tasks.append(asyncio.ensure_future(tick_loop()))
    try:
        done, _ = await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = None if t.cancelled() else t.exception()
            if exc is not None:
                stream.destroy(exc)
                if not isinstance(exc, (ConnectionError, OSError)):
                    raise exc  # a bug, not a network failure: let it surface
        if not stream.destroyed:  # write loop cannot end first; read loop ended on EOF -> finalized
            stream.finalize()
        for t in tasks:  # stop reading before draining the remote's last bytes below
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        with contextlib.suppress(ConnectionError, OSError):
            await flush()
            if stream.finalized and writer.can_write_eof() and not transport.is_closing():
                writer.write_eof()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(_drain_until_eof(reader), EOF_WAIT)
    except (ConnectionError, OSError) as exc:
        stream.destroy(exc)
    finally:
        stream.set_output_listener(None)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        if not stream.destroyed:
            stream.destroy(ConnectionError("transport closed"))
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return stream.error


def _bind_loop(stream: ProtocolStream) -> None:
    if stream.schedule is None:
        stream.schedule = asyncio.get_running_loop().call_soon


async def wait_closed(stream: ProtocolStream) -> BaseException | None:
    """Wait until ``stream`` ended; returns the error it was destroyed with (None when it finalized)."""
    if stream.destroyed:
        return stream.error
    future: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_close(error: BaseException | None) -> None:
        if not future.done():
            future.set_result(error)

    stream.on("close", on_close)
    try:
        return await asyncio.shield(future)
    finally:
        stream.off("close", on_close)


async def _drain_until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(READ_SIZE):
        pass


async def connect_tcp(host: str, port: int, stream: ProtocolStream, *, clock: Clock | None = None) -> asyncio.Task:
    """Connect to ``host:port`` and run ``stream`` on the connection in a background task (returned)."""
    reader, writer = await asyncio.open_connection(host, port)
    _nodelay(writer)
    return asyncio.ensure_future(run_stream(stream, reader, writer, clock=clock))


async def serve_tcp(
    host: str, port: int, make_stream: Callable[[], ProtocolStream], *, clock: Clock | None = None
) -> asyncio.Server:
    """Listen on ``host:port``; each connection runs a fresh ``make_stream()``.  Port 0 picks a free port."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer)
        try:
            stream = make_stream()
        except Exception:
            log.exception("could not make a stream for an incoming connection")
            writer.close()
            return
        try:
            await run_stream(stream, reader, writer, clock=clock)
        except asyncio.CancelledError:
            # the loop is shutting down (asyncio.run cancels what is left): the stream was destroyed on the
            # way out; ending normally keeps asyncio's start_server callback from logging the cancellation
            pass

    return await asyncio.start_server(on_connection, host, port)


def _nodelay(writer: asyncio.StreamWriter) -> None:
    import socket

    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Pipe:
    """Two streams connected in memory; bytes are delivered on the next event-loop iteration."""

    def __init__(
        self, a: ProtocolStream, b: ProtocolStream, *, ticks: float | None = None, clock: Clock | None = None
    ) -> None:
        self.a = a
        self.b = b
        self.clock = clock or default_clock()
        self._loop = asyncio.get_running_loop()
        _bind_loop(a)
        _bind_loop(b)
        self._scheduled = {id(a): False, id(b): False}
        self._eof_sent: set[int] = set()
        self.bytes = {id(a): 0, id(b): 0}
        a.set_output_listener(lambda: self._schedule(a, b))
        b.set_output_listener(lambda: self._schedule(b, a))
        self._tick_task = asyncio.ensure_future(self._ticks(ticks)) if ticks else None
        self._schedule(a, b)
        self._schedule(b, a)

    def _schedule(self, src: ProtocolStream, dst: ProtocolStream) -> None:
        if not self._scheduled[id(src)]:
            self._scheduled[id(src)] = True
            self._loop.call_soon(self._deliver, src, dst)

    def _deliver(self, src: ProtocolStream, dst: ProtocolStream) -> None:
        self._scheduled[id(src)] = False
        data = src.data_to_send()
        if data:
            self.bytes[id(src)] += len(data)
            dst.receive(data)
        if src.destroyed and id(src) not in self._eof_sent:
            self._eof_sent.add(id(src))
            dst.receive_eof()  # a closed connection ends the other side too
        if self.a.destroyed and self.b.destroyed and self._tick_task is not None:
            self._tick_task.cancel()

    async def _ticks(self, interval: float) -> None:
        while not (self.a.destroyed and self.b.destroyed):
            await self.clock.sleep(interval)
            self.a.tick()
            self.b.tick()

    async def wait(self) -> tuple[BaseException | None, BaseException | None]:
        """Wait until both streams ended; returns their errors."""
        return await wait_closed(self.a), await wait_closed(self.b)


def pipe(a: ProtocolStream, b: ProtocolStream, *, ticks: float | None = None, clock: Clock | None = None) -> Pipe:
    """Connect two streams in memory (``ticks``: tick their keep-alive clocks every that many seconds of
    ``clock``)."""
    return Pipe(a, b, ticks=ticks, clock=clock)
