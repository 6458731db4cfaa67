"""hyperdrive 9.16.0 (with append-tree 2.4.4 metadata) in Python, byte-compatible with the JS package.

``Hyperdrive`` (:mod:`.drive`) is the archive: a :class:`~hyperparty.feeds.Feed` of two hypercores,
metadata (an append-tree of Stat records, :mod:`.tree`) and content (file bytes).  The pieces:
:mod:`.messages` (Index, Stat, Node), :mod:`.path_index` (the deflated ``paths`` field), :mod:`.paths`
(normalisation and checks), :mod:`.keys` (content key derivation), :mod:`.stat`, :mod:`.files`
(streaming readers and writers), :mod:`.reader` (the read API shared with checkouts), :mod:`.errors`.
"""

from .drive import Hyperdrive
from .errors import (
    ContentCorruptError,
    ContentError,
    ContentRangeError,
    CorruptMetadataError,
    DirectoryNotEmptyError,
    FileExistsDriveError,
    HyperdriveError,
    InvalidPathError,
    NotADirectoryDriveError,
    NotAFileError,
    NotFoundError,
    ReadOnlyError,
    VersionError,
)
from .files import BLOCK_SIZE, FileReader, FileWriter
from .keys import content_key_pair
from .paths import normalize
from .reader import Change, Checkout
from .stat import DriveStat
from .tree import AppendTree

__all__ = [
    "Hyperdrive", "Checkout", "Change", "DriveStat", "AppendTree", "FileReader", "FileWriter", "BLOCK_SIZE",
    "content_key_pair", "normalize",
    "HyperdriveError", "InvalidPathError", "NotFoundError", "FileExistsDriveError", "NotAFileError",
    "NotADirectoryDriveError", "DirectoryNotEmptyError", "ReadOnlyError", "CorruptMetadataError",
    "ContentError", "ContentRangeError", "ContentCorruptError", "VersionError",
]
