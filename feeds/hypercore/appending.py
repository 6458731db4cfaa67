"""Appending: one batch of blocks is hashed into tree nodes, signed once and written data first, bitfield
last, inside one storage transaction; peers are told with a Have."""

from __future__ import annotations

from typing import Any, Sequence

from . import crypto
from .errors import NotWritableError
from .format import HEADER_SIZE
from .state import CoreState, to_bytes
from ...protocol.messages import Node

_blake2b = crypto._blake2b


class _Appending(CoreState):
    """The appending methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    async def append(self, data: "bytes | str | Sequence[bytes | str]") -> int:
        """Append one block or a list of blocks (one batch, one signature); returns the first seq."""
        await self._ensure_open()
        if isinstance(data, (bytes, bytearray, memoryview, str)):
            blocks = [to_bytes(data)]
        else:
            blocks = [to_bytes(b) for b in data]
        return self.append_sync(blocks)

    def append_sync(self, blocks: Sequence[bytes]) -> int:
        """Synchronous batch append of ``bytes`` blocks (the feed must be open)."""
        self._check_open()
        if not self.writable:
            raise NotWritableError()
        assert self._secret_key is not None  # writable: the secret key is known
        start = self.length
        n = len(blocks)
        if n == 0:
            return start

        # -- build the node batch: slots for nodes [2*start, 2*start + 2n - 2], zero when incomplete
        roots: list = list(self._roots)
        lo = start << 1
        buf = bytearray(40 * (2 * n - 1))
        extra: list[tuple[int, bytes]] = []
        blake = _blake2b
        b = start
        total = 0
        for data in blocks:
            size = len(data)
            total += size
            sz = size.to_bytes(8, "big")
            h = blake(b"\x00" + sz + data, digest_size=32).digest()
            idx = b << 1
            o = (idx - lo) * 40
            buf[o : o + 40] = h + sz
            k = b
            while k & 1:
                left = roots.pop()
                size += left[2]
                sz = size.to_bytes(8, "big")
                h = blake(b"\x01" + sz + left[1] + h, digest_size=32).digest()
                idx = (left[0] + idx) >> 1
                if idx >= lo:
                    o = (idx - lo) * 40
                    buf[o : o + 40] = h + sz
                else:
                    extra.append((idx, h + sz))
                k >>= 1
            roots.append((idx, h, size))
            b += 1
        roots = [r if isinstance(r, Node) else Node(*r) for r in roots]
        signature = crypto.sign(crypto.tree_hash(roots), self._secret_key)

        data_file = self._data
        tree_file = self._tree_file.file
        with self._storage.transaction():
            data_file.write_many(self.byte_length, blocks)
            tree_file.write(HEADER_SIZE + 40 * lo, buf)
            for idx, raw in extra:
                tree_file.write(HEADER_SIZE + 40 * idx, raw)
            self._signatures.put(start + n - 1, signature)
            bf = self.bitfield
            if n == 1:
                bf.set(start, True)
                self.tree.set(lo)
            else:
                bf.set_range(start, start + n)
                self.tree.set_leaves(start, start + n)
            self._write_bitfield()

        self._roots = roots
        self.byte_length += total
        self.length = start + n
        self._verified.fill(start, start + n)
        self.emit("append")
        if self.peers:
            self._announce(start, n if n > 1 else None)
        if self.waiting or self.selections:
            self._poll_waiting()
        return start

    def _write_bitfield(self) -> None:
        """Write every dirty bitfield page whole, highest page first (see module docstring)."""
        dirty = self.bitfield.take_dirty_pages()
        if not dirty:
            return
        f = self._files["bitfield"]
        ps = self.bitfield.page_size
        for j, page in dirty:
            f.write(HEADER_SIZE + ps * j, page)

    def _announce(self, start: int, length: int | None, from_peer: Any = None) -> None:
        """Tell every peer but ``from_peer`` that we have new blocks (``length`` None = one block, as JS)."""
        for peer in list(self.peers):
            if peer is not from_peer:
                peer.have(start, length)

    def update_peers(self) -> None:
        """Ask every replication peer to (re)consider what to request (JS ``_updatePeers``)."""
        for peer in list(self.peers):
            peer.update()
