"""The state every part of :class:`~hyperparty.feeds.hypercore.core.Hypercore` shares.

``Hypercore`` is composed of mixins along the seams of the JS ``index.js`` (``opening``, ``appending``,
``reading``, ``proofs``, ``waits``, ``maintenance``).  :class:`CoreState` declares the attributes they
share (set by ``Hypercore.__init__`` and ``_open``) and, for type checkers only, the methods one part
calls in another — the internal contract between the parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from ...protocol.messages import Node

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import RandomAccessFile, Storage
    from ..base import Attachment
    from .bitfield import Bitfield, SparseBitfield
    from .integrity import Problem
    from .offsets import OffsetMemo
    from .format import SignatureFile, TreeFile
    from .selections import Selection, Waiting
    from .tree_index import TreeIndex

__all__ = ["CoreState", "Proof", "to_bytes", "read_exact"]


class Proof(NamedTuple):
    """A proof for one block: nodes (``Node(index, hash, size)``) and the signature (or None).

    ``verified_by`` is ``2 * length`` of the signed tree when the proof reaches the roots, else 0.
    """

    nodes: list[Node]
    signature: bytes | None
    verified_by: int = 0


def to_bytes(value: Any) -> bytes:
    """A block as bytes (``str`` is UTF-8 encoded)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"hypercore blocks are bytes or str, not {type(value).__name__}")


def read_exact(file: "RandomAccessFile", length: int) -> bytes | None:
    """The first ``length`` bytes of ``file``, or None when it is shorter."""
    if file.size() < length:
        return None
    return file.read(0, length)


class CoreState:
    """Attributes shared by the parts of a hypercore (see the module docstring)."""

    # identity and options
    _key: bytes | None
    _secret_key: bytes | None
    _discovery_key: bytes | None
    id: bytes
    live: bool
    _sparse: bool
    max_requests: int | None
    allow_push: bool
    extensions: list[str]
    _create_if_missing: bool
    _overwrite: bool
    _want_writable: bool
    _store_secret_key: bool
    _cache_size: int
    _storage: "Storage"
    _owns_storage: bool
    read_only: bool
    _allow_damaged: bool
    _key_given: bytes | None
    _signing_checked: bool

    # state
    length: int
    byte_length: int
    writable: bool
    readable: bool
    opened: bool
    closed: bool
    recovered: tuple[int, int] | None
    damage: list["Problem"]
    _open_error: BaseException | None

    # storage (set by _open)
    bitfield: "Bitfield"
    tree: "TreeIndex"
    _files: dict[str, "RandomAccessFile"]
    _tree_file: "TreeFile"
    _signatures: "SignatureFile"
    _data: "RandomAccessFile"
    _roots: list[Node]
    _emit_sync: bool
    _offset_memo: tuple[int, int, int]
    _prefix_memo: "OffsetMemo"
    _synced: Any

    # replication-facing state (read and written by replicate.py)
    peers: list[Any]
    selections: list["Selection"]
    waiting: list["Waiting"]
    reserved: "SparseBitfield"
    _verified: "SparseBitfield"
    stats: dict[str, int]

    if TYPE_CHECKING:  # the calls one part makes into another

        @property
        def key(self) -> bytes: ...

        @property
        def discovery_key(self) -> bytes: ...

        def emit(self, event: str, *args: Any) -> bool: ...

        def attachments(self) -> list["Attachment"]: ...

        def _announce(self, start: int, length: int | None, from_peer: Any = None) -> None:
            ...

        def _check_length(self, length: int) -> tuple[str, list[Node]]:
            ...

        def _check_open(self) -> None:
            ...

        def _check_can_write(self) -> None:
            ...

        def block_failed(self, index: int) -> None:
            ...

        def _data_offset(self, index: int, verified: Sequence[Node] = ()) -> tuple[int, Node]:
            ...

        async def _ensure_open(self) -> None:
            ...

        def _poll_waiting(self) -> None:
            ...

        async def _wait(self, entry: Any, queue: list, timeout: float | None) -> None:
            ...

        def _write_bitfield(self) -> None:
            ...

        async def download(
            self,
            start: int = 0,
            end: int = -1,
            *,
            linear: bool = False,
            hash: bool = False,
            timeout: float | None = None,
        ) -> None:
            ...

        def update_peers(self) -> None:
            ...
