"""The errors a drive raises.  Every one is a :class:`HyperdriveError`; most also subclass the matching
built-in ``OSError``/``ValueError`` so callers can catch ``FileNotFoundError`` and friends."""

from __future__ import annotations

__all__ = [
    "HyperdriveError",
    "InvalidPathError",
    "NotFoundError",
    "FileExistsDriveError",
    "NotAFileError",
    "NotADirectoryDriveError",
    "DirectoryNotEmptyError",
    "ReadOnlyError",
    "CorruptMetadataError",
    "ContentError",
    "ContentRangeError",
    "ContentCorruptError",
    "VersionError",
]


class HyperdriveError(Exception):
    """Base class of every hyperdrive error."""


class InvalidPathError(HyperdriveError, ValueError):
    """A path with a NUL byte or a ``..`` component (rejected before anything is read or written)."""


class NotFoundError(HyperdriveError, FileNotFoundError):
    """No file or directory at this path (JS: ``<path> could not be found``)."""


class FileExistsDriveError(HyperdriveError, FileExistsError):
    """``mkdir`` of a path that already exists."""


class NotAFileError(HyperdriveError, IsADirectoryError):
    """A file operation (read, unlink, overwrite) on a directory."""


class NotADirectoryDriveError(HyperdriveError, NotADirectoryError):
    """A directory operation on a file, or a path below a file."""


class DirectoryNotEmptyError(HyperdriveError, OSError):
    """``rmdir`` of a directory that still has entries (JS: ``Directory is not empty``)."""


class ReadOnlyError(HyperdriveError, PermissionError):
    """A write on a drive without its secret key, or on a checkout (JS: ``Cannot write to a checkout``)."""


class CorruptMetadataError(HyperdriveError):
    """A metadata block that does not decode: the Index, an append-tree Node, its path index or its Stat."""


class ContentError(HyperdriveError):
    """A file's content cannot be read."""


class ContentRangeError(ContentError):
    """A Stat pointing past the content feed, or whose blocks do not add up to its size."""


class ContentCorruptError(ContentError):
    """A content block is missing from storage or does not match its hash."""


class VersionError(HyperdriveError, ValueError):
    """A checkout of a version the metadata feed does not have."""
