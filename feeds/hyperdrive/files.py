"""Streaming file I/O on the content feed: :class:`FileReader` (``open(path, "rb")``) and
:class:`FileWriter` (``open(path, "wb")``).

A file is the run of content blocks ``[stat.offset, stat.offset + stat.blocks)`` holding ``stat.size``
bytes.  The reader fetches at most ``BATCH_BLOCKS`` blocks at a time (one verified storage read, or one
replication wait), so memory stays at about one batch whatever the file size.  The writer cuts what it
is given into ``BLOCK_SIZE`` (64 KiB) blocks, as JS ``writeFile`` does, or keeps every ``write()`` as
one block (``raw=True``, JS ``createWriteStream``), and appends them ``BATCH_BLOCKS`` at a time (one
signature per batch).  The metadata node is appended by ``close()``, after the content, as in JS.
"""

from __future__ import annotations

import inspect
from collections import deque
from typing import TYPE_CHECKING, Any, AsyncIterator

from ..hypercore import BlockChecksumError, HypercoreError, NodeNotFoundError
from .errors import ContentCorruptError, ContentRangeError, HyperdriveError
from .stat import DriveStat, file_stat

if TYPE_CHECKING:  # pragma: no cover
    from ..hypercore import Hypercore

__all__ = ["FileReader", "FileWriter", "BLOCK_SIZE", "BATCH_BLOCKS"]

BLOCK_SIZE = 65536
BATCH_BLOCKS = 16


def check_range(content: "Hypercore", stat: DriveStat, name: str) -> None:
    """Refuse a stat whose blocks lie past the content feed when no peer could still bring them."""
    end = stat.offset + stat.blocks
    if end > content.length and (content.writable or not content.peers):
        raise ContentRangeError(
            f"{name}: its stat points at content blocks {stat.offset}..{end - 1}, "
            f"the content feed has {content.length}"
        )


class FileReader:
    """Reads bytes ``[start, end)`` of a file (``end`` defaults to its size).

    ``await read(n=-1)``, ``async for chunk in reader``, ``await seek(pos)``, ``tell()``,
    ``async with``.  A file whose blocks hold fewer or more bytes than its stat says raises
    :class:`ContentRangeError`; a block missing from storage :class:`ContentCorruptError`.
    """

    def __init__(self, content: "Hypercore", stat: DriveStat, *, name: str = "", start: int = 0,
                 end: int | None = None, timeout: float | None = None) -> None:
        self.name = name
        self.stat = stat
        self._content = content
        self._timeout = timeout
        self._first = stat.offset
        self._end_block = stat.offset + stat.blocks
        self._limit = stat.size if end is None else max(0, min(end, stat.size))
        self._pos = min(max(0, start), self._limit)
        self._block: int | None = None  # next block to fetch (None: seek first)
        self._skip = 0  # bytes to drop from the next fetched block
        self._pending: deque[bytes] = deque()
        self._error: ContentCorruptError | None = None
        self.closed = False

    async def __aenter__(self) -> "FileReader":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        self.closed = True
        self._pending.clear()

    def tell(self) -> int:
        return self._pos

    async def seek(self, pos: int) -> int:
        """Move to byte ``pos`` of the file (clamped to ``[0, end]``)."""
        self._pos = min(max(0, pos), self._limit)
        self._block = None
        self._pending.clear()
        return self._pos

    async def _locate(self) -> None:
        """Find the block holding byte ``self._pos`` (JS ``content.seek(byteOffset + start)``)."""
        self._skip = 0
        if self._pos == 0:
            self._block = self._first
            return
        try:
            index, offset = self._content.seek(self.stat.byte_offset + self._pos)
        except HypercoreError:  # a sparse replica without the tree nodes: walk the blocks instead
            index, offset = await self._walk_to(self._pos)
        if not self._first <= index <= self._end_block:
            raise ContentRangeError(f"{self.name}: byte {self._pos} is outside the file's blocks")
        self._block, self._skip = index, offset

    async def _walk_to(self, pos: int) -> tuple[int, int]:
        index = self._first
        while index < self._end_block:
            size = len((await self._get(index, index + 1))[0])
            if pos < size:
                return index, pos
            pos -= size
            index += 1
        return index, pos

    async def _get(self, start: int, end: int) -> list[bytes]:
        """Blocks ``[start, end)``; when one of them is damaged, the good ones before it (the next call
        then starts at the damaged block and raises :class:`ContentCorruptError`)."""
        try:
            return await self._content.get_batch(start, end, timeout=self._timeout)
        except (BlockChecksumError, NodeNotFoundError) as err:
            if end - start == 1:
                raise ContentCorruptError(f"{self.name}: content block {start} cannot be read: {err}") from err
        blocks = []
        for index in range(start, end):
            try:
                blocks.append(await self._content.get(index, timeout=self._timeout))
            except (BlockChecksumError, NodeNotFoundError) as err:
                if not blocks:
                    raise ContentCorruptError(f"{self.name}: content block {index} cannot be read: {err}") from err
                break
        return blocks

    async def _fill(self) -> bool:
        """Fetch the next batch into ``_pending``; False when the file's blocks are exhausted."""
        if self._block is None:
            await self._locate()
        start = self._block
        assert start is not None
        if start >= self._end_block:
            return False
        end = min(start + BATCH_BLOCKS, self._end_block)
        blocks = await self._get(start, end)
        if self._skip:
            blocks[0] = blocks[0][self._skip:]
            self._skip = 0
        self._pending.extend(blocks)
        self._block = start + len(blocks)
        return True

    async def _chunk(self) -> bytes:
        """The next piece of the file (b"" at the end)."""
        if self.closed:
            raise HyperdriveError("read from a closed file")
        want = self._limit - self._pos
        while True:
            if want <= 0:
                if self._limit == self.stat.size and await self._has_more():
                    raise ContentRangeError(f"{self.name}: its blocks hold more than the {self.stat.size} bytes of its stat")
                return b""
            while self._pending:
                chunk = self._pending.popleft()
                if chunk:
                    if len(chunk) > want:
                        self._pending.appendleft(chunk[want:])
                        chunk = chunk[:want]
                    self._pos += len(chunk)
                    return chunk
            if not await self._fill():
                raise ContentRangeError(f"{self.name}: its blocks hold fewer than the {self.stat.size} bytes of its stat")

    async def _has_more(self) -> bool:
        if any(self._pending):
            return True
        while (self._block if self._block is not None else self._first) < self._end_block:
            if not await self._fill():
                return False
            if any(self._pending):
                return True
            self._pending.clear()
        return False

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (everything left when ``n < 0``); b"" at the end.  When a damaged block
        stops a sized read, the bytes before it are returned and the next read raises."""
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        parts: list[bytes] = []
        got = 0
        while n < 0 or got < n:
            try:
                chunk = await self._chunk()
            except ContentCorruptError as err:
                if not parts or n < 0:
                    raise
                self._error = err  # return what could be verified; the next read raises
                break
            if not chunk:
                break
            if n >= 0 and got + len(chunk) > n:
                keep = n - got
                self._pending.appendleft(chunk[keep:])
                self._pos -= len(chunk) - keep
                chunk = chunk[:keep]
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while chunk := await self._chunk():
            yield chunk


class FileWriter:
    """Writes one file; the drive's write lock is held from ``open`` until ``close``/``abort``.

    ``await write(data)``, ``await write_from(source)`` (bytes, str, a binary file object with
    ``read``, or a sync/async iterable of bytes), ``await close()`` -> the stored :class:`DriveStat`.
    Leaving an ``async with`` block with an exception aborts: the node is not written (content blocks
    already appended stay in the content feed, unreferenced, as in JS).
    """

    def __init__(self, content: "Hypercore", commit, release, *, name: str = "", raw: bool = False,
                 stat_options: dict[str, Any] | None = None) -> None:
        self.name = name
        self._content = content
        self._commit = commit  # (Stat message) -> DriveStat, appends the metadata node
        self._release = release
        self._raw = raw
        self._options = stat_options or {}
        self._offset = content.length
        self._byte_offset = content.byte_length
        self._partial = bytearray()
        self._blocks: list[bytes] = []
        self.stat: DriveStat | None = None
        self.closed = False

    async def __aenter__(self) -> "FileWriter":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self.close()
        else:
            await self.abort()

    async def _push(self, block: bytes) -> None:
        self._blocks.append(block)
        if len(self._blocks) >= BATCH_BLOCKS:
            await self._flush()

    async def _flush(self) -> None:
        if self._blocks:
            blocks, self._blocks = self._blocks, []
            await self._content.append(blocks)

    async def write(self, data: bytes | bytearray | memoryview | str) -> int:
        """Append ``data`` to the file; returns its length."""
        if self.closed:
            raise HyperdriveError("write to a closed file")
        if isinstance(data, str):
            data = data.encode("utf-8")
        if type(data) is bytes and (self._raw or (len(data) == BLOCK_SIZE and not self._partial)):
            await self._push(data)  # already one block: no copy
            return len(data)
        view = memoryview(data).cast("B")
        n = len(view)
        if self._raw:
            await self._push(bytes(view))
            return n
        pos = 0
        if self._partial:
            take = min(BLOCK_SIZE - len(self._partial), n)
            self._partial += view[:take]
            pos = take
            if len(self._partial) < BLOCK_SIZE:
                return n
            block, self._partial = bytes(self._partial), bytearray()
            await self._push(block)
        while n - pos >= BLOCK_SIZE:
            await self._push(bytes(view[pos : pos + BLOCK_SIZE]))
            pos += BLOCK_SIZE
        self._partial += view[pos:]
        return n

    async def write_from(self, source: Any) -> None:
        """Write everything ``source`` holds (see the class docstring)."""
        if isinstance(source, (bytes, bytearray, memoryview, str)):
            await self.write(source)
            return
        read = getattr(source, "read", None)
        if read is not None:
            while True:
                chunk = read(BLOCK_SIZE)  # one block per read: pushed without another copy
                if inspect.isawaitable(chunk):
                    chunk = await chunk
                if not chunk:
                    return
                await self.write(chunk)
        if hasattr(source, "__aiter__"):
            async for chunk in source:
                await self.write(chunk)
            return
        for chunk in source:
            await self.write(chunk)

    async def close(self) -> DriveStat:
        """Append what is buffered, then the metadata node; release the write lock."""
        if self.closed:
            if self.stat is None:
                raise HyperdriveError("the file was aborted")
            return self.stat
        self.closed = True
        try:
            if self._partial:
                block, self._partial = bytes(self._partial), bytearray()
                self._blocks.append(block)
            await self._flush()
            content = self._content
            msg = file_stat(
                size=content.byte_length - self._byte_offset, blocks=content.length - self._offset,
                offset=self._offset, byte_offset=self._byte_offset, **self._options,
            )
            self.stat = self._commit(msg)
            return self.stat
        finally:
            self._release()

    async def abort(self) -> None:
        """Stop without writing the metadata node; release the write lock."""
        if self.closed:
            return
        self.closed = True
        self._blocks.clear()
        self._partial = bytearray()
        self._release()
