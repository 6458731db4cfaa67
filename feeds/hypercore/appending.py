"""Appending: one batch of blocks is hashed into tree nodes, signed once and written data first, bitfield
last, inside one storage transaction; peers are told with a Have.

Checks before anything is written: the feed is writable, not read-only and not damaged; every block fits
in one protocol message (:data:`MAX_BLOCK_SIZE`: a larger block could be stored but never replicated);
and the new signature verifies against the stored public key (a damaged secret key would otherwise sign a
log nobody, not even this feed on its next open, can verify).

The signature check: opening refuses to use a secret key whose seed does not derive its public half (which
must be the feed key), and with such a key every ed25519 signature verifies — so the first signature made
after opening is verified explicitly (before anything is written) and later ones need not be: a verify
costs twice a signature, and would make single-block appends almost three times slower."""

from __future__ import annotations

from typing import Any, Sequence

from . import crypto, integrity
from .errors import BlockTooLargeError, NotWritableError, ReadOnlyFeedError, SecretKeyError
from .format import HEADER_SIZE
from .state import CoreState, to_bytes
from ...protocol.messages import Node
from ...protocol.wire import MAX_FRAME

_blake2b = crypto._blake2b

#: The largest block an append accepts: a ``Data`` message carries the block plus its proof (up to ~128
#: nodes of ~60 bytes, a signature, field headers) in one frame of at most ``MAX_FRAME`` bytes (8 MiB, the
#: limit of hypercore-protocol 6: "Remote message is larger than 8MB").  16 KiB is kept for the rest.
MAX_BLOCK_SIZE = MAX_FRAME - 16 * 1024


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
        self._check_can_write()
        if not self.writable:
            secret = [p for p in self.damage if p.file == "secret_key"]
            if secret:
                raise SecretKeyError(f"{secret[0].message}; nothing was written", secret)
            raise NotWritableError()
        assert self._secret_key is not None  # writable: the secret key is known
        start = self.length
        n = len(blocks)
        if n == 0:
            return start
        for k, data in enumerate(blocks):
            if len(data) > MAX_BLOCK_SIZE:
                raise BlockTooLargeError(
                    f"block {start + k} is {len(data)} bytes: a block can be at most {MAX_BLOCK_SIZE} bytes, or it "
                    f"could never replicate (the wire carries at most {MAX_FRAME} bytes, 8 MiB, per message)")

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
        signed = crypto.tree_hash(roots)
        signature = crypto.sign(signed, self._secret_key)
        if not self._signing_checked:  # see the module docstring
            if not crypto.verify(signed, signature, self.key):
                raise SecretKeyError("the secret key made a signature the public key does not verify (secret_key "
                                     "is damaged); nothing was written")
            self._signing_checked = True

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
        self.emit("append")
        if self.peers:
            self._announce(start, n if n > 1 else None)
        if self.waiting or self.selections:
            self._poll_waiting()
        return start

    def _check_can_write(self) -> None:
        """Refuse writes to a feed opened read-only or found damaged (nothing is written)."""
        if self.read_only:
            raise ReadOnlyFeedError()
        fatal = integrity.storage_damage(self.damage)
        if fatal:
            raise integrity.damage_error(fatal, self._storage)

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
