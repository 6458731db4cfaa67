"""The read side of a drive, shared by :class:`~.drive.Hyperdrive` and its checkouts.

Every path goes through :func:`~.paths.parse` (JS normalisation; NUL and ``..`` refused).  Semantics
follow hyperdrive 9.16.0 except where noted:

* ``lstat``/``stat``: the stored Stat; a path without a node of its own but with entries below it (or
  ``/``) is a directory with JS's made-up stat (mode 0o40755, everything else 0).
* ``readdir``: child names in the tree's listing order (least recently changed first), ``.``/``..``
  dropped; ``/`` of an empty drive is ``[]``.  Beyond JS: a file is not a directory
  (:class:`NotADirectoryDriveError`, JS answers ``[]``).
* ``read_file``/``open(path, "rb")``: the file's content blocks; beyond JS, reading a directory raises
  :class:`NotAFileError` (JS returns its zero blocks) and a stat that does not match the content feed
  raises :class:`ContentRangeError` (JS waits forever or returns the blocks as they are).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, AsyncIterator

from .errors import NotADirectoryDriveError, NotAFileError, NotFoundError, ReadOnlyError
from .files import FileReader, check_range
from .paths import join, parse
from .stat import DriveStat, decode_stat

if TYPE_CHECKING:  # pragma: no cover
    from ..hypercore import Hypercore
    from .tree import AppendTree

__all__ = ["DriveReader", "Checkout", "Change"]


@dataclasses.dataclass(frozen=True)
class Change:
    """One metadata block as history: ``type`` is ``"put"`` or ``"del"``, ``version`` the block number."""

    type: str
    version: int
    name: str
    stat: DriveStat | None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "version": self.version, "name": self.name,
                "value": None if self.stat is None else self.stat.to_json()}


def change_of(node: Any) -> Change:
    stat = decode_stat(node.value, node.name) if node.is_put else None
    return Change("put" if node.is_put else "del", node.seq, node.name, stat)


class _Opener:
    """What ``open()`` returns: awaitable (``f = await drive.open(...)``) and an async context manager
    (``async with drive.open(...) as f``)."""

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self._file: Any = None

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self) -> Any:
        self._file = await self._coro
        return await self._file.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._file.__aexit__(*exc)


class DriveReader:
    """Read operations over ``self._tree`` and the content feed (``await self._get_content()``)."""

    _tree: "AppendTree"
    timeout: float | None = None

    async def _get_content(self) -> "Hypercore":  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    async def _ready_for_reading(self) -> None:
        """Hook: open what reading needs (the drive's ``ready``)."""

    # ------------------------------------------------------------------------------------------------
    # metadata

    async def _lstat_names(self, names: tuple[str, ...]) -> DriveStat:
        node = await self._tree.get(names)
        if node is not None:
            return decode_stat(node.value, node.name)
        if not names or await self._tree.entries(names):
            return DriveStat.directory()
        raise NotFoundError(f"{join(names)} could not be found")

    async def lstat(self, path: str) -> DriveStat:
        """The stat of ``path`` (:class:`NotFoundError` when there is nothing there)."""
        names = parse(path)
        await self._ready_for_reading()
        return await self._lstat_names(names)

    async def stat(self, path: str) -> DriveStat:
        """Same as :meth:`lstat` (hyperdrive 9 has no symlinks)."""
        return await self.lstat(path)

    async def exists(self, path: str) -> bool:
        try:
            await self.lstat(path)
        except NotFoundError:
            return False
        return True

    async def readdir(self, path: str = "/") -> list[str]:
        """Names in directory ``path`` (see the module docstring)."""
        names = parse(path)
        await self._ready_for_reading()
        entries = await self._tree.entries(names)
        if entries is None:
            if not names:
                return []
            raise NotFoundError(f"{join(names)} could not be found")
        if names:
            node = await self._tree.get(names)
            if node is not None and not decode_stat(node.value, node.name).is_directory():
                raise NotADirectoryDriveError(f"{join(names)} is not a directory")
        return [e for e in entries if e != "." and e != ".."]

    async def history(self, start: int = 0, end: int | None = None) -> AsyncIterator[Change]:
        """Every put and delete, oldest first, from version ``start`` (JS ``archive.history()``)."""
        await self._ready_for_reading()
        async for node in self._tree.history(start, end):
            yield change_of(node)

    # ------------------------------------------------------------------------------------------------
    # content

    async def _file_stat(self, names: tuple[str, ...]) -> DriveStat:
        st = await self._lstat_names(names)
        if not st.is_file():
            raise NotAFileError(f"{join(names)} is not a file")
        return st

    async def _reader(self, path: str, start: int, end: int | None) -> FileReader:
        names = parse(path)
        await self._ready_for_reading()
        st = await self._file_stat(names)
        content = await self._get_content()
        check_range(content, st, join(names))
        return FileReader(content, st, name=join(names), start=start, end=end, timeout=self.timeout)

    def open(self, path: str, mode: str = "rb", /, **options: Any) -> _Opener:
        """``open(path, "rb", start=0, end=None)``: a :class:`FileReader`.  A drive also opens files
        for writing (``"wb"``)."""
        if mode != "rb":
            raise ReadOnlyError(f"{type(self).__name__} only opens files for reading")
        return _Opener(self._reader(path, options.get("start", 0), options.get("end")))

    async def read_file(self, path: str, *, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of the file at ``path`` (the whole file by default)."""
        async with await self._reader(path, start, end) as f:
            return await f.read()

    async def download(self, path: str = "/") -> int:
        """Fetch the content of every file at or below ``path`` (for sparse replicas); returns the
        number of files.  Waits until every block is local."""
        await self._ready_for_reading()
        content = await self._get_content()
        stack = [parse(path)]
        ranges = []
        while stack:
            names = stack.pop()
            st = await self._lstat_names(names)
            if st.is_directory():
                stack.extend(names + (e,) for e in reversed(await self.readdir(join(names))))
            elif st.is_file():
                check_range(content, st, join(names))
                ranges.append((st.offset, st.offset + st.blocks))
        waits = [content.download(a, b, timeout=self.timeout) for a, b in ranges if b > a]
        for i in range(0, len(waits), 64):
            await asyncio.gather(*waits[i : i + 64])
        return len(ranges)


class Checkout(DriveReader):
    """The drive as it was at ``version`` (read-only; shares the drive's feeds and caches)."""

    def __init__(self, drive: Any, version: int) -> None:
        self._drive = drive
        self.version = version
        self._tree = drive._tree.checkout(version)
        self.timeout = drive.timeout

    async def _get_content(self) -> "Hypercore":
        return await self._drive._get_content()

    async def _ready_for_reading(self) -> None:
        await self._drive.ready()

    def checkout(self, version: int) -> "Checkout":
        return self._drive.checkout(version)

    def __repr__(self) -> str:
        return f"Checkout(version={self.version}, of={self._drive!r})"
