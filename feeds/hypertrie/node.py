"""A decoded (or freshly built) hypertrie node: key, value bytes, flags, its hash path and its trie.

Nodes are immutable once they have a seq (the block index they were read from or written to), so they are
cached by seq and shared between lookups.  ``flags`` is the stored number ``user_flags << 8 | hidden``.
"""

from __future__ import annotations

from . import trie_encoding
from .errors import CorruptNodeError
from .messages import NodeMessage
from .path import key_path, normalize_key

from hyperparty import protobuf as pb

__all__ = ["Node", "HIDDEN", "collides"]

HIDDEN = 1


class Node:
    """``key`` (normalised), ``segments``, ``digits`` (the path), ``value_buffer`` (bytes or None), ``flags``,
    ``trie`` (position -> slots) and ``seq``.  ``length`` is the number of path positions.

    A decoded node keeps its ``trie_buffer`` and decodes the trie when it is first needed (a lookup never
    needs the trie of the node it ends on); a trie buffer that does not decode raises then, every time.
    """

    __slots__ = ("key", "segments", "digits", "length", "value_buffer", "flags", "_trie", "trie_buffer", "seq")

    def __init__(
        self, key: str, value_buffer: bytes | None, flags: int, trie: dict | None, seq: int, trie_buffer: bytes | None = None
    ) -> None:
        key = normalize_key(key)
        self.key = key
        self.segments, self.digits = key_path(key, bool(flags & HIDDEN))
        self.length = len(self.digits)
        self.value_buffer = value_buffer
        self.flags = flags
        self._trie = trie
        self.trie_buffer = trie_buffer
        self.seq = seq

    @property
    def trie(self) -> dict:
        """Position -> bucket (decoded from ``trie_buffer`` on first use)."""
        t = self._trie
        if t is None:
            tb = self.trie_buffer
            t = self._trie = trie_encoding.decode(tb, self.seq) if tb is not None else {}
            self.trie_buffer = None
        return t

    @property
    def hidden(self) -> bool:
        return bool(self.flags & HIDDEN)

    def path(self, i: int) -> int:
        """The path value at position ``i`` (4 past the end)."""
        d = self.digits
        return d[i] if i < len(d) else 4

    @classmethod
    def decode(cls, buf: bytes, seq: int) -> "Node":
        """The node stored in block ``seq`` (raises :class:`CorruptNodeError`, :class:`BadPointerError`)."""
        try:
            msg = NodeMessage.decode(buf)
        except pb.DecodeError as exc:
            raise CorruptNodeError(seq, str(exc)) from None
        return cls(msg.key or "", msg.value_buffer, msg.flags or 0, None, seq, msg.trie_buffer)

    def encode(self) -> bytes:
        """The block bytes: ``Node{key, valueBuffer?, trieBuffer, seq, flags}``."""
        return NodeMessage(
            key=self.key,
            value_buffer=self.value_buffer,
            trie_buffer=trie_encoding.encode(self.trie),
            seq=self.seq,
            flags=self.flags,
        ).encode()

    def __repr__(self) -> str:
        return f"Node(seq={self.seq}, key={self.key!r}, value={self.value_buffer!r}, flags={self.flags})"


def collides(a: Node, b: Node, i: int) -> bool:
    """JS ``a.collides(b, i)``: at segment end ``i``, do ``a`` and ``b`` have different segment strings there?

    ``i == 0`` is never a collision; at ``i == a.length - 1`` the whole keys are compared (unreachable from
    the walks, which only ask at segment ends, but kept as JS has it).  A missing segment is ``None`` here
    (JS ``undefined``): two missing segments are equal.
    """
    if not i:
        return False
    if i == a.length - 1:
        return a.key != b.key
    j = (i - 1) >> 5
    sa, sb = a.segments, b.segments
    return (sa[j] if j < len(sa) else None) != (sb[j] if j < len(sb) else None)
