"""A decoded entry (what ``get``/``list``/``history`` return)."""

from __future__ import annotations

from typing import Any, Sequence

from . import trie as _trie
from .trie import Trie

__all__ = ["Node", "map_list", "filter_heads"]


class Node:
    """One entry of one writer.

    ``key`` (normalised), ``value`` (decoded with the db's value encoding; ``None`` when absent), ``deleted``,
    ``seq`` (block index in the writer's feed), ``feed`` (the writer's LOCAL id in this db instance: local ids
    differ between peers), ``feed_key`` (the writer's public key), ``clock`` and ``trie`` (local ids),
    ``inflate`` (seq of the author's feeds list) and ``path`` (hash digits, ``keys.path``).

    A node read from a feed decodes its value and its trie when they are first read: walks mostly need
    keys and a bucket or two (:meth:`tail`), and a value that does not decode then only fails the reads
    that return it, with :class:`~.errors.CorruptEntryError` (JS decodes everything with the entry).
    """

    __slots__ = (
        "key", "_value", "_codec", "deleted", "_trie", "_raw_trie", "_map", "_map_len", "_partial",
        "clock", "inflate", "seq", "feed", "feed_key", "path",
    )

    def __init__(
        self,
        key: str,
        value: Any,
        deleted: bool,
        trie: Trie | None,
        clock: Sequence[int],
        inflate: int,
        seq: int,
        feed: int,
        feed_key: bytes | None,
        path: bytes,
        codec: Any = None,
        raw_trie: bytes | None = None,
        decode_map: list | None = None,
    ) -> None:
        self.key = key
        self._value = value
        self._codec = codec  # set: ``value`` holds raw bytes still to decode with it
        self.deleted = deleted
        self._trie = trie
        self._raw_trie = raw_trie  # with ``trie`` None: the encoded trie, read with decode_map[:map_len]
        self._map = decode_map
        self._map_len = len(decode_map) if decode_map is not None else 0
        self._partial = False
        self.clock = clock
        self.inflate = inflate
        self.seq = seq
        self.feed = feed
        self.feed_key = feed_key
        self.path = path

    @property
    def value(self) -> Any:
        codec = self._codec
        if codec is not None:
            try:
                self._value = codec.decode(self._value)
            except Exception as err:  # noqa: BLE001 - any codec failure is bad input
                raise self._corrupt(f"value does not decode: {err}") from None
            self._codec = None
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self._value = value
        self._codec = None

    @property
    def trie(self) -> Trie:
        t = self._trie
        if t is None:
            try:
                t = self._trie = _trie.decode(self._raw_trie, self._map, self._map_len)  # type: ignore[arg-type]
            except _trie.TrieDecodeError as err:
                raise self._corrupt(str(err)) from None
            self._raw_trie = self._map = None
        return t

    def tail(self, start: int) -> Trie:
        """A trie good for positions >= ``start`` (the whole trie once decoded).  A node only read from
        deep down (the last step of a walk) gets just its last buckets decoded; a node read twice that way
        is decoded whole."""
        t = self._trie
        if t is not None:
            return t
        if start <= 0 or self._partial:
            return self.trie
        self._partial = True
        try:
            t, complete = _trie.decode_tail(self._raw_trie, self._map, start, self._map_len)  # type: ignore[arg-type]
        except _trie.TrieDecodeError as err:
            raise self._corrupt(str(err)) from None
        if complete:
            self._trie = t
            self._raw_trie = self._map = None
        return t

    def _corrupt(self, message: str) -> Exception:
        from .errors import CorruptEntryError

        return CorruptEntryError(message, feed=self.feed_key, seq=self.seq)

    def __repr__(self) -> str:
        flag = ", deleted" if self.deleted else ""
        value = "<undecoded>" if self._codec is not None else repr(self._value)
        return f"Node(key={self.key!r}, value={value}, seq={self.seq}, feed={self.feed}{flag})"


def map_list(values: Sequence[Any], mapping: Sequence[Any], default: Any) -> list:
    """JS ``Writer._mapList``: ``out[mapping[i]] = values[i]`` (``default`` past the end of ``values``),
    positions past ``mapping`` kept as they are, holes and falsy values replaced by ``default``.

    A ``None`` in ``mapping`` (JS ``undefined``) drops that value, as JS's ``mapped[undefined] = ...`` does.
    """
    n = len(mapping)
    nv = len(values)
    if nv <= n and _is_identity(mapping):
        out = [v or default for v in values]
        out.extend([default] * (n - nv))
        return out
    placed: dict[int, Any] = {}
    for i in range(n):
        target = mapping[i]
        if target is None:
            continue
        placed[target] = values[i] if i < nv else default
    for i in range(n, nv):
        placed[i] = values[i]
    size = max(placed) + 1 if placed else 0
    return [placed.get(i) or default for i in range(size)]


def _is_identity(mapping: Sequence[Any]) -> bool:
    for i, v in enumerate(mapping):
        if v != i:
            return False
    return True


def filter_heads(nodes: Sequence["Node | None"]) -> list["Node"]:
    """Drop empty slots and every node another node's clock has seen (JS ``filterHeads``): a node
    ``(feed, seq)`` is seen by ``other`` when ``other.clock[feed] >= seq + 1``.  The same entry twice (two
    objects for one ``(feed, seq)``) does not hide itself."""
    present = [n for n in nodes if n is not None]
    out = []
    for node in present:
        clock = node.seq + 1
        feed = node.feed
        for other in present:
            if other is node or (other.feed == feed and other.seq == node.seq):
                continue
            oc = other.clock
            if feed < len(oc) and oc[feed] >= clock:
                break
        else:
            out.append(node)
    return out
