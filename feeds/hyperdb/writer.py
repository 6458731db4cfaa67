"""One writer of a hyperdb: a hypercore plus its feeds list and wire<->local maps (hyperdb 3.5.0 ``Writer``
in index.js).  Decoded nodes are kept in the db's shared cache (``Writers.cache``), keyed by pointer.

Feeds list.  A writer's latest ``InflatedEntry`` lists every writer it knew when it wrote it; positions in
that list are its *wire feed numbers*, used by the clocks and trie pointers of its entries.
``decode_map[wire] = local id`` and ``encode_map[local id] = wire`` translate (``None`` = no position).
Decoding an entry whose ``inflate`` block is not the loaded feeds list loads that list first: unknown keys
become writers of the db (``Writers.add``, which does not open their cores) **before** the clock and trie
are mapped.  When an authorized writer's list is loaded, every writer it lists is authorized.

Blocks are read synchronously (storage is synchronous); a block that is not stored locally raises
:class:`BlockMissing` so that the caller can wait for it (``await core.get``) and retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperparty import protobuf as pb

from . import keys
from .errors import CorruptEntryError, MissingFeedMappingsError
from .messages import Entry, InflatedEntry
from .node import Node, map_list

if TYPE_CHECKING:  # pragma: no cover
    from ..hypercore import Hypercore
    from .writers import Writers

__all__ = ["Writer", "BlockMissing"]



class BlockMissing(Exception):
    """Block ``seq`` of ``writer`` is not stored locally (yet)."""

    def __init__(self, writer: "Writer", seq: int) -> None:
        super().__init__(f"block {seq} of writer {writer.id} is not stored locally")
        self.writer = writer
        self.seq = seq


class Writer:
    """A writer feed of one db instance; ``id`` is its local id there."""

    def __init__(self, writers: "Writers", directory: str, key: bytes | None, core: "Hypercore | None" = None) -> None:
        self._writers = writers
        self.id = -1
        self.directory = directory
        self.key = key
        self.core = core
        self.feeds_message: list[bytes] | None = None  # keys of the latest loaded feeds list
        self.feeds_loaded = -1  # seq of the InflatedEntry that list came from
        self.feeds = 0  # seq of this writer's latest InflatedEntry (what `inflate` says)
        self.encode_map: list[int | None] = []
        self.decode_map: list[int] = []
        self.authorized = False
        self.next_seq = 0  # local writer: JS `_clock` (seq of the next entry + 1 after an append); 0 = unset

    def __repr__(self) -> str:
        key = self.key.hex()[:16] if self.key else None
        return f"Writer(id={self.id}, key={key}, authorized={self.authorized})"

    # -- lengths and blocks ------------------------------------------------------------------------------

    def length(self) -> int:
        """JS ``Writer.length()``: the longest length known (stored or announced by a peer); 0 while the core
        is not open (nothing stored: see ``Writers``).

        Like JS, this does not look at authorization: a writer is only registered when an authorized
        writer's feeds list (or ``authorize``, or this instance's own list) names it, and only authorized
        writers are replicated, so an unauthorized writer's blocks never get here.
        """
        core = self.core
        if core is None:
            return 0
        remote = core.remote_length
        return core.length if core.length >= remote else remote

    def head_seq(self) -> int | None:
        n = self.length()
        return n - 1 if n >= 2 else None

    def block(self, seq: int) -> bytes:
        core = self.core if self.core is not None else self._writers.open_core(self)
        if not core.has(seq):
            raise BlockMissing(self, seq)
        return core.read_block(seq)

    # -- decoding ----------------------------------------------------------------------------------------

    def get(self, seq: int) -> Node:
        """The decoded node at ``seq`` (from the cache, else read and decoded); may raise BlockMissing."""
        node = self._writers.cache.get(seq << 32 | self.id)
        if node is not None:
            return node
        return self.decode(seq, self.block(seq))

    def decode(self, seq: int, buf: bytes) -> Node:
        try:
            entry = Entry.decode(buf)
        except pb.DecodeError as err:
            raise CorruptEntryError(f"not a hyperdb entry: {err}", feed=self.key, seq=seq) from None
        inflate = entry.inflate or 0
        value = entry.value
        if self.feeds_message is not None and self.feeds_loaded == inflate:
            self.maybe_update_feeds()
        else:
            self._load_feeds(seq, inflate, buf)
        decode_map = self.decode_map
        if len(entry.clock) > len(decode_map):
            raise MissingFeedMappingsError("Missing feed mappings", feed=self.key, seq=seq)
        node = Node(
            entry.key or "",
            value,
            bool(entry.deleted),
            None,
            tuple(map_list(entry.clock, decode_map, 0)),
            inflate,
            seq,
            self.id,
            self.key,
            keys.path(entry.key, True),
            None if value is None else self._writers.codec,
            entry.trie,
            decode_map,
        )
        self._writers.cache[seq << 32 | self.id] = node
        return node

    def _load_feeds(self, seq: int, inflate: int, buf: bytes) -> None:
        """JS ``_loadFeeds`` + ``_addWriters``: read the feeds list of block ``inflate`` and adopt it."""
        if inflate > seq:
            raise CorruptEntryError(f"entry names a later block ({inflate}) as its feeds list", feed=self.key, seq=seq)
        raw = buf if inflate == seq else self.block(inflate)
        try:
            msg = InflatedEntry.decode(raw)
        except pb.DecodeError as err:
            raise CorruptEntryError(f"block {inflate} is not a feeds list: {err}", feed=self.key, seq=seq) from None
        listed = []
        for ref in msg.feeds:
            if ref.key is None or len(ref.key) != 32:
                raise CorruptEntryError("a feeds list names a key that is not 32 bytes", feed=self.key, seq=inflate)
            listed.append(bytes(ref.key))
        writers = self._writers
        for key in listed:
            writers.add(key)
        if inflate > self.feeds_loaded:
            self.feeds_loaded = self.feeds = inflate
            self.feeds_message = listed
        self.update_feeds()

    # -- feeds list ---------------------------------------------------------------------------------------

    def maybe_update_feeds(self) -> None:
        msg = self.feeds_message
        if msg is None:
            return
        if len(self.decode_map) != len(msg) or len(self.encode_map) != len(self._writers.list):
            self.update_feeds()

    def update_feeds(self) -> None:
        """JS ``_updateFeeds``: (re)build the maps from the feeds list; authorize what it lists when this
        writer is authorized."""
        writers = self._writers
        by_key = writers.by_key
        decode_map = self.decode_map
        encode_map = self.encode_map
        for i, key in enumerate(self.feeds_message or ()):
            w = by_key.get(key)
            if w is None:  # every listed key was added before; defensive
                w = writers.add(key)
            wid = w.id
            if i < len(decode_map):
                decode_map[i] = wid
            else:
                decode_map.extend([0] * (i - len(decode_map)))
                decode_map.append(wid)
            if wid >= len(encode_map):
                encode_map.extend([None] * (wid + 1 - len(encode_map)))
            encode_map[wid] = i
            if self.authorized:
                writers.authorize(w)

    def authorize(self) -> None:
        """Mark this writer authorized (and, through its feeds list, every writer it lists)."""
        if self.authorized:
            return
        self.authorized = True
        self._writers.authorized_ids.append(self.id)
        self._writers.note_authorized(self)
        if self.feeds_message is not None:
            self.update_feeds()

    def authorizes(self, key: bytes) -> bool:
        """JS ``Writer.authorizes``: ``key`` is this writer or reachable through loaded feeds lists."""
        by_key = self._writers.by_key
        visited: set[int] = set()
        stack: list[Writer] = [self]
        while stack:
            w = stack.pop()
            if w.key == key:
                return True
            if w.feeds_message is None or w.id in visited:
                continue
            visited.add(w.id)
            for listed in w.feeds_message:
                if listed == key:
                    return True
                other = by_key.get(listed)
                if other is not None:
                    stack.append(other)
        return False

    def needs_inflate(self) -> bool:
        msg = self.feeds_message
        return msg is None or len(msg) != len(self._writers.list)

    def adopt_own_feeds(self, seq: int, listed: list[bytes]) -> None:
        """After this (local) writer appended an InflatedEntry at ``seq`` listing ``listed``."""
        self.feeds_message = listed
        self.feeds_loaded = self.feeds = seq
        self.update_feeds()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key.hex() if self.key else None, "authorized": self.authorized}
