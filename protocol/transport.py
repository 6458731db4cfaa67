"""Thin transports for :class:`~hyperparty.protocol.stream.ProtocolStream`: asyncio TCP and an in-memory pipe.

The stream itself does no I/O; these move its bytes:

* :func:`run_stream` pumps one stream over an ``asyncio`` (reader, writer) pair.  Reads are fed to
  ``stream.receive`` only while ``stream.wants_input`` (the stream stops taking input while its output is
  over budget, while a handler holds it, or while it is still working through earlier input in slices), so
  a peer that sends faster than we can answer waits in its own socket buffers, not in our memory.  Queued
  output is taken with ``stream.data_to_send``, written and *drained* before more is taken; a handler's
  ``stream.push()`` writes at once (while the socket's buffer holds less than :data:`PUSH_BUFFER`), so
  Requests sent before a long piece of work reach the remote meanwhile.  The keep-alive
  clock ticks every ``timeout / 4`` s; the three tasks (read, write, tick) are supervised together: the
  first to fail ends the stream with its error, and an error that is not a network failure is logged as
  a bug.  A finalized stream sends EOF, waits (bounded) for the remote's EOF and closes; a destroyed one
  closes at once.
* :func:`connect_tcp`: a TCP client built on it.
* :func:`serve_tcp`: a TCP server (:class:`TCPServer`) with its own accept loop: at most
  ``max_connections`` connections (the oldest one that has not completed its handshake makes room for a
  new one, else the new one is refused), accept errors (``EMFILE`` ...) back off and are logged once per
  burst, and connections, refusals and drops are logged (logger ``hyperparty.net``, one line each).
* :func:`pipe`: two streams wired together in memory (tests), delivering on the next loop iteration
  like a socket would, and holding bytes back while the receiving stream does not want input.
* :func:`wait_closed`: wait until a stream ended and get its error.

Every keep-alive tick comes from an injected :class:`~hyperparty.clock.Clock` (default: the loop's), so
tests drive timeouts with a :class:`~hyperparty.clock.ManualClock`.  The transports also give the stream
the loop's ``call_soon`` as its :attr:`~hyperparty.protocol.stream.ProtocolStream.schedule`.  Budgets:
:mod:`hyperparty.protocol.limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from typing import Any, Callable, Sequence

from ..clock import Clock, default_clock
from . import limits
from .stream import ProtocolStream

__all__ = ["run_stream", "connect_tcp", "serve_tcp", "TCPServer", "pipe", "Pipe", "wait_closed"]

log = logging.getLogger(__name__)
#: Connections, refusals and drops (``core serve`` and ``chat`` print it on stderr).
netlog = logging.getLogger("hyperparty.net")

READ_SIZE = 256 * 1024
PUSH_BUFFER = 256 * 1024  # stream.push() writes at once only while the socket's buffer holds less
EOF_WAIT = 2.0
_RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


async def run_stream(
    stream: ProtocolStream,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    read_size: int = READ_SIZE,
    clock: Clock | None = None,
) -> BaseException | None:
    """Run ``stream`` over a connection until it ends; returns its error (None when it ended cleanly)."""
    clock = clock or default_clock()
    wake_write = asyncio.Event()
    wake_read = asyncio.Event()
    _bind_loop(stream)
    stream.set_output_listener(wake_write.set)
    stream.set_input_listener(wake_read.set)
    transport = writer.transport

    def push() -> None:  # stream.push(): write at once unless the socket's buffer is already backed up
        if not transport.is_closing() and transport.get_write_buffer_size() < PUSH_BUFFER:
            data = stream.data_to_send()
            if data:
                writer.write(data)

    stream.set_push(push)

    async def flush() -> None:
        data = stream.data_to_send()
        if data:
            writer.write(data)
            await writer.drain()

    async def write_loop() -> None:
        while True:
            await wake_write.wait()
            wake_write.clear()
            await flush()
            if stream.destroyed:
                return

    async def read_loop() -> None:
        while not stream.destroyed:
            if not stream.wants_input:
                wake_read.clear()
                if not stream.wants_input and not stream.destroyed:
                    await wake_read.wait()
                continue
            data = await reader.read(stream.read_size(read_size))
            if not data:
                stream.receive_eof()
                return
            stream.receive(data)

    async def tick_loop() -> None:
        interval = stream.timeout / 4
        while not stream.destroyed:
            await clock.sleep(interval)
            stream.tick()

    tasks = [asyncio.ensure_future(write_loop()), asyncio.ensure_future(read_loop())]
    if stream.timeout:
        tasks.append(asyncio.ensure_future(tick_loop()))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = None if t.cancelled() else t.exception()
            if exc is not None:
                stream.destroy(exc)
                if not isinstance(exc, (ConnectionError, OSError)):
                    log.error("stream %r failed: %r", stream, exc, exc_info=exc)  # a bug: surface it
        if not stream.destroyed:  # write/tick loops end only once destroyed; read loop ended on EOF
            stream.finalize()
        for t in tasks:  # stop reading before draining the remote's last bytes below
            t.cancel()
        await _settle(tasks)
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
        stream.set_input_listener(None)
        stream.set_push(None)
        for t in tasks:
            t.cancel()
        await _settle(tasks)
        if not stream.destroyed:
            stream.destroy(ConnectionError("transport closed"))
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return stream.error


async def _settle(tasks: Sequence[asyncio.Future]) -> None:
    """Wait for cancelled helper tasks to end (their errors were already looked at)."""
    for t in tasks:
        if not t.done():
            with contextlib.suppress(BaseException):
                await t
        elif not t.cancelled():
            t.exception()  # retrieved: reported above when it mattered


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


def _address(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in str(host) else f"{host}:{addr[1]}"
    return str(addr)


class _Connection:
    __slots__ = ("address", "stream", "task")

    def __init__(self, address: str, stream: ProtocolStream) -> None:
        self.address = address
        self.stream = stream
        self.task: asyncio.Task | None = None


class TCPServer:
    """A listening socket with its own accept loop (what :func:`serve_tcp` returns).

    The asyncio-server surface the project uses: ``sockets``, ``close()``, ``await wait_closed()``,
    ``await serve_forever()``, ``is_serving()``, ``async with``.  Unlike ``asyncio.Server``, closing it
    also ends the connections it accepted (their streams are destroyed), so nothing is left running.
    """

    def __init__(
        self,
        sock: socket.socket,
        make_stream: Callable[[], ProtocolStream],
        *,
        clock: Clock | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.sockets = [sock]
        self._sock = sock
        self._make_stream = make_stream
        self._clock = clock
        self.max_connections = limits.connection_limit(
            limits.MAX_CONNECTIONS if max_connections is None else max_connections)
        self.connections: list[_Connection] = []  # oldest first
        self._serving = True
        self._closed = asyncio.get_running_loop().create_future()
        self._accept_task = asyncio.ensure_future(self._accept_loop())
        self._accept_task.add_done_callback(self._accept_ended)
        self.accept_failures = 0  # in the current burst

    def __repr__(self) -> str:
        return f"<TCPServer {_address(self._sock.getsockname())} connections={len(self.connections)}>"

    # -- accepting ---------------------------------------------------------------------------------------

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = limits.ACCEPT_BACKOFF_MIN
        while self._serving:
            try:
                conn, addr = await loop.sock_accept(self._sock)
            except OSError as exc:
                if not self._serving:
                    return
                if exc.errno not in _RESOURCE_ERRORS and not isinstance(exc, ConnectionAbortedError):
                    raise
                if self.accept_failures == 0:
                    netlog.warning("cannot accept connections: %s; backing off", exc.strerror or exc)
                self.accept_failures += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, limits.ACCEPT_BACKOFF_MAX)
                continue
            if self.accept_failures:
                netlog.warning("accepting connections again (%d accept errors)", self.accept_failures)
                self.accept_failures = 0
            backoff = limits.ACCEPT_BACKOFF_MIN
            self._admit(conn, _address(addr))

    def _accept_ended(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("the accept loop of %r failed: %r", self, exc, exc_info=exc)

    def _admit(self, conn: socket.socket, address: str) -> None:
        if len(self.connections) >= self.max_connections and not self._evict():
            netlog.warning("refused %s: %d connections open (limit)", address, len(self.connections))
            conn.close()
            return
        try:
            stream = self._make_stream()
        except Exception:
            log.exception("could not make a stream for the connection from %s", address)
            conn.close()
            return
        connection = _Connection(address, stream)
        self.connections.append(connection)
        netlog.info("connection from %s (%d open)", address, len(self.connections))
        connection.task = asyncio.ensure_future(self._run(connection, conn))

    def _evict(self) -> bool:
        """Drop the oldest connection that has not completed its handshake; False when there is none."""
        for connection in self.connections:
            stream = connection.stream
            if stream.remote_id is None and not stream.destroyed:
                stream.destroy(ConnectionRefusedError(
                    f"dropped for a new connection: {len(self.connections)} open and no handshake yet"))
                self.connections.remove(connection)
                return True
        return False

    async def _run(self, connection: _Connection, conn: socket.socket) -> None:
        stream = connection.stream
        try:
            try:
                conn.setblocking(False)
                reader, writer = await asyncio.open_connection(sock=conn)
            except OSError as exc:
                conn.close()
                stream.destroy(exc)
                return
            if stream.destroyed:  # evicted meanwhile
                writer.close()
                return
            _nodelay(writer)
            error = await run_stream(stream, reader, writer, clock=self._clock)
            if error is not None:
                netlog.info("dropped %s: %s", connection.address, _reason(error))
        finally:
            if connection in self.connections:
                self.connections.remove(connection)

    # -- the asyncio.Server surface ---------------------------------------------------------------------------

    def is_serving(self) -> bool:
        return self._serving

    def close(self) -> None:
        """Stop listening and end every connection (idempotent)."""
        if not self._serving:
            return
        self._serving = False
        self._accept_task.cancel()
        self._sock.close()
        for connection in list(self.connections):
            connection.stream.destroy()
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until closed and every connection task ended."""
        await asyncio.shield(self._closed)
        with contextlib.suppress(BaseException):
            await self._accept_task
        tasks = [c.task for c in list(self.connections) if c.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def serve_forever(self) -> None:
        """Wait until :meth:`close`; cancelling it closes the server (as asyncio's does)."""
        try:
            await asyncio.shield(self._closed)
        except asyncio.CancelledError:
            self.close()
            raise

    async def __aenter__(self) -> "TCPServer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        await self.wait_closed()


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def serve_tcp(
    host: str,
    port: int,
    make_stream: Callable[[], ProtocolStream],
    *,
    clock: Clock | None = None,
    max_connections: int | None = None,
) -> TCPServer:
    """Listen on ``host:port``; each connection runs a fresh ``make_stream()``.  Port 0 picks a free port.

    ``max_connections`` (default :data:`~hyperparty.protocol.limits.MAX_CONNECTIONS`, at most half the
    process's file-descriptor limit) bounds the connections open at once.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if not infos:  # pragma: no cover - getaddrinfo raises instead
        raise OSError(f"cannot resolve {host}")
    family, type_, proto, _name, address = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return TCPServer(sock, make_stream, clock=clock, max_connections=max_connections)


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Pipe:
    """Two streams connected in memory; bytes are delivered on the next event-loop iteration, and left
    with the sender while the receiving stream does not want input (as a socket's buffers would)."""

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
        a.set_input_listener(lambda: self._schedule(b, a))
        b.set_input_listener(lambda: self._schedule(a, b))
        self._tick_task = asyncio.ensure_future(self._ticks(ticks)) if ticks else None
        self._schedule(a, b)
        self._schedule(b, a)

    def _schedule(self, src: ProtocolStream, dst: ProtocolStream) -> None:
        if not self._scheduled[id(src)]:
            self._scheduled[id(src)] = True
            self._loop.call_soon(self._deliver, src, dst)

    def _deliver(self, src: ProtocolStream, dst: ProtocolStream) -> None:
        self._scheduled[id(src)] = False
        if dst.destroyed:
            src.data_to_send()  # nobody to read it
        elif dst.wants_input:
            data = src.data_to_send()
            if data:
                self.bytes[id(src)] += len(data)
                dst.receive(data)
        if src.destroyed and not src.wire.pending() and id(src) not in self._eof_sent:
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
