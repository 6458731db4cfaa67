"""The writers of one db instance: local ids, keys, storage names, authorization, lazy core opening.

* ``list[i]`` is the writer with local id ``i`` (JS ``db._writers`` / ``db.feeds``): 0 = the source, then
  (when the source is not writable here) 1 = this instance's own ``local`` writer, then writers in the order
  they become known (``authorize()`` calls, keys found in feeds lists).
* Storage names as JS: ``source/``, ``local/``, ``peers/<hex(discovery key)>/`` (a sub-namespace each).
* **Cores open lazily.**  Registering a writer is free: its core is opened when it already has storage
  (a writer replicated in an earlier session), when a read needs one of its blocks, or when it becomes
  authorized — the latter only while fewer than ``max_open`` writer cores are open (JS can replicate at
  most 256 feeds on one stream anyway).  So a feeds list naming 100 000 writers gives 100 000 registry entries, not 100 000 open
  hypercores.  A writer whose core is not open has length 0 (nothing stored, nothing announced).
* Decoded nodes of every writer share one least-recently-used cache (``cache_size`` nodes).
* Newly authorized writers are queued in ``learned`` until the db announces them (``HyperDB._learned_core``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..hypercore import Hypercore
from ..hypercore import crypto as core_crypto
from .cache import NodeCache
from .codecs import Codec
from .writer import Writer

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import Storage

__all__ = ["Writers", "MAX_OPEN_WRITERS", "CACHE_SIZE"]

MAX_OPEN_WRITERS = 256
CACHE_SIZE = 1 << 15  # decoded nodes kept per db, least recently used dropped (JS: 4096 per writer)


class Writers:
    def __init__(
        self,
        storage: "Storage",
        codec: Codec,
        *,
        sparse: bool = False,
        max_open: int = MAX_OPEN_WRITERS,
        cache_size: int = CACHE_SIZE,
        core_options: dict[str, Any] | None = None,
    ) -> None:
        self.storage = storage
        self.codec = codec
        self.sparse = sparse
        self.max_open = max_open
        self.core_options = dict(core_options or {})
        self.list: list[Writer] = []
        self.by_key: dict[bytes, Writer] = {}
        self.authorized_ids: list[int] = []
        self._local: Writer | None = None
        self.open_writers: list[Writer] = []  # writers with an open core, by local id
        self.learned: list[Writer] = []  # authorized writers not yet announced
        self.cache = NodeCache(cache_size)  # pointer (seq << 32 | writer id) -> decoded node
        self.on_core_open: Callable[[Writer], None] | None = None

    @property
    def local(self) -> Writer:
        """This instance's own writer (set when the db opens)."""
        if self._local is None:
            raise RuntimeError("the db is not open")
        return self._local

    @local.setter
    def local(self, writer: Writer) -> None:
        self._local = writer

    def is_local(self, writer: Writer) -> bool:
        return writer is self._local

    def __len__(self) -> int:
        return len(self.list)

    # -- registration ------------------------------------------------------------------------------------

    def push(self, writer: Writer) -> Writer:
        writer.id = len(self.list)
        self.list.append(writer)
        if writer.key is not None:
            self.by_key.setdefault(writer.key, writer)
        if writer.core is not None:
            self._note_open(writer)
        return writer

    def add(self, key: bytes) -> Writer:
        """The writer with ``key``, registered (as ``peers/<dkey hex>``) if unknown.  JS ``_addWriter``."""
        writer = self.by_key.get(key)
        if writer is not None:
            return writer
        directory = "peers/" + core_crypto.discovery_key(key).hex()
        writer = self.push(Writer(self, directory, key))
        if self.storage.exists(directory + "/key"):
            self.open_core(writer)
        return writer

    def make_core(self, directory: str, key: bytes | None = None, **options: Any) -> Hypercore:
        opts = dict(self.core_options)
        opts.update(options)
        opts.setdefault("sparse", self.sparse)
        return Hypercore(self.storage.sub(directory), key=key, **opts)

    def open_core(self, writer: Writer) -> Hypercore:
        """Open (synchronously) the core of ``writer`` if it is not open yet."""
        core = writer.core
        if core is None:
            core = self.make_core(writer.directory, writer.key)
            core.open_sync()
            writer.core = core
            self._note_open(writer)
        return core

    def _note_open(self, writer: Writer) -> None:
        ws = self.open_writers
        ws.append(writer)
        if len(ws) > 1 and ws[-2].id > writer.id:
            ws.sort(key=lambda w: w.id)
        if self.on_core_open is not None:
            self.on_core_open(writer)

    # -- authorization -------------------------------------------------------------------------------------

    def authorize(self, writer: Writer) -> None:
        writer.authorize()

    def note_authorized(self, writer: Writer) -> None:
        self.learned.append(writer)

    def take_learned(self) -> list[Writer]:
        """Authorized writers to announce now: their cores are opened, at most ``max_open`` automatically."""
        out = []
        keep: list[Writer] = []
        learned = self.learned
        for idx, writer in enumerate(learned):
            if writer.core is None:
                if len(self.open_writers) >= self.max_open:
                    keep = learned[idx:]  # the rest wait (opened on demand by reads)
                    break
                self.open_core(writer)
            out.append(writer)
        self.learned = keep
        return out

    def authorized_writers(self) -> list[Writer]:
        return [self.list[i] for i in self.authorized_ids]

    def close(self) -> list[Hypercore]:
        cores = [w.core for w in self.open_writers if w.core is not None]
        self.open_writers = []
        return cores
