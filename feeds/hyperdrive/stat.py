"""File and directory stats as hyperdrive 9.16.0 writes and reports them.

:func:`file_stat` / :func:`dir_stat` build the ``Stat`` message ``writeFile``/``mkdir`` store (which
fields are present differs: a file always has uid/gid/size/blocks, a directory only what was given);
:class:`DriveStat` is what ``stat()`` returns, with the fields and defaults of JS's ``lib/stat.js``
(``dev 0, nlink 1, rdev 0, blksize 0, ino 0``, ``atime = mtime``; times are milliseconds since the
epoch).  :meth:`DriveStat.to_json` gives JS's property names and order.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any

from hyperparty import protobuf as pb

from .errors import CorruptMetadataError
from .messages import Stat

__all__ = [
    "DriveStat", "file_stat", "dir_stat", "decode_stat", "timestamp_ms",
    "IFSOCK", "IFLNK", "IFREG", "IFBLK", "IFDIR", "IFCHR", "IFIFO", "DEFAULT_FILE_MODE", "DEFAULT_DIR_MODE",
]

IFSOCK, IFLNK, IFREG, IFBLK, IFDIR, IFCHR, IFIFO = 0o140000, 0o120000, 0o100000, 0o060000, 0o040000, 0o020000, 0o010000
IFMT = 0o170000
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIR_MODE = 0o755

def timestamp_ms(value: Any) -> int:
    """JS ``getTime``: an int is milliseconds, a ``datetime`` is converted, anything falsy means now."""
    if not value:
        return int(time.time() * 1000)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"a time is milliseconds or a datetime, not {type(value).__name__}")


def file_stat(*, size: int, blocks: int, offset: int, byte_offset: int, mode: int | None = None,
              uid: int | None = None, gid: int | None = None, mtime: Any = None, ctime: Any = None) -> Stat:
    """The Stat ``writeFile``/``createWriteStream`` stores (all nine fields present)."""
    return Stat(
        mode=(mode or DEFAULT_FILE_MODE) | IFREG, uid=uid or 0, gid=gid or 0, size=size, blocks=blocks,
        offset=offset, byteOffset=byte_offset, mtime=timestamp_ms(mtime), ctime=timestamp_ms(ctime),
    )


def dir_stat(*, offset: int, byte_offset: int, mode: int | None = None, uid: int | None = None,
             gid: int | None = None, mtime: Any = None, ctime: Any = None) -> Stat:
    """The Stat ``mkdir`` stores (uid/gid only when given; no size/blocks)."""
    return Stat(
        mode=(mode or DEFAULT_DIR_MODE) | IFDIR, uid=uid, gid=gid, offset=offset, byteOffset=byte_offset,
        mtime=timestamp_ms(mtime), ctime=timestamp_ms(ctime),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class DriveStat:
    """What ``stat``/``lstat`` return (JS ``Stat`` object)."""

    mode: int = 0
    uid: int = 0
    gid: int = 0
    size: int = 0
    blocks: int = 0
    offset: int = 0
    byte_offset: int = 0
    mtime: int = 0
    ctime: int = 0
    dev: int = 0
    nlink: int = 1
    rdev: int = 0
    blksize: int = 0
    ino: int = 0

    @property
    def atime(self) -> int:
        return self.mtime

    def _is(self, mask: int) -> bool:
        return (self.mode & mask) == mask  # JS tests the mask bits, not the file type field

    def is_file(self) -> bool:
        return self._is(IFREG)

    def is_directory(self) -> bool:
        return self._is(IFDIR)

    def is_symlink(self) -> bool:
        return self._is(IFLNK)

    @classmethod
    def from_message(cls, st: Stat) -> "DriveStat":
        return cls(
            mode=st.mode or 0, uid=st.uid or 0, gid=st.gid or 0, size=st.size or 0, blocks=st.blocks or 0,
            offset=st.offset or 0, byte_offset=st.byteOffset or 0, mtime=st.mtime or 0, ctime=st.ctime or 0,
        )

    @classmethod
    def directory(cls) -> "DriveStat":
        """The stat JS makes up for a directory that has entries but no node of its own."""
        return cls(mode=IFDIR | DEFAULT_DIR_MODE)

    def to_json(self) -> dict[str, int]:
        """JS's property names and order (times in ms)."""
        return {
            "dev": self.dev, "nlink": self.nlink, "rdev": self.rdev, "blksize": self.blksize, "ino": self.ino,
            "mode": self.mode, "uid": self.uid, "gid": self.gid, "size": self.size, "offset": self.offset,
            "byteOffset": self.byte_offset, "blocks": self.blocks, "atime": self.atime, "mtime": self.mtime,
            "ctime": self.ctime,
        }


def decode_stat(value: bytes | None, name: str = "") -> DriveStat:
    """A node's value as a :class:`DriveStat`; :class:`CorruptMetadataError` when it is not a Stat."""
    if value is None:
        raise CorruptMetadataError(f"{name or 'a node'} is a deletion, not a stat")
    try:
        return DriveStat.from_message(pb.decode(Stat, value))
    except pb.DecodeError as err:
        raise CorruptMetadataError(f"the stat of {name or 'a node'} does not decode: {err}") from None
