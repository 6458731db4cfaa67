"""Proofs for peers and verified writes from peers: every check happens before the first write, and the
bitfield is written last inside the same storage transaction."""

from __future__ import annotations

from typing import Any

from .errors import DataSizeError, NoProofError, VerificationError
from .state import CoreState, Proof, to_bytes
from .tree_index import TreeIndex
from .verify import proof_parts, verify_put


class _Proofs(CoreState):
    """The proofs methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    def digest(self, index: int) -> int:
        """The Request ``nodes`` digest for block ``index`` (``tree.digest(2*index)``)."""
        self._check_open()
        return self.tree.digest(2 * index)

    def proof(
        self,
        index: int,
        *,
        digest: int = 0,
        hash: bool = False,
        remote_tree: TreeIndex | None = None,
    ) -> Proof:
        """The nodes (and signature) a peer with ``digest``/``remote_tree`` needs to verify block ``index``."""
        self._check_open()
        result = self.tree.proof(2 * index, digest, hash, remote_tree)
        if result is None:
            raise NoProofError()
        get = self._tree_file.get
        nodes = [get(n) for n in result.nodes]
        signature = None
        if result.verified_by:
            signature = self._signatures.get(result.verified_by // 2 - 1)
        return Proof(nodes, signature, result.verified_by)

    def put(self, index: int, data: bytes | None, proof: Any, *, from_peer: Any = None) -> None:
        """Verify block ``index`` (``data``; None for a hash-only response) with ``proof`` and store it.

        ``proof`` has ``nodes`` (objects with ``index``, ``hash``, ``size``) and ``signature`` (bytes or
        None), e.g. a :class:`Proof` or a protocol ``Data`` message.  Every check happens before the first
        write; on error (a :class:`VerificationError` subclass with the JS message, or
        ``NodeNotFoundError``) storage is unchanged.
        """
        self._check_open()
        self._check_can_write()
        if index < 0:
            raise VerificationError("Negative block index")
        if data is not None:
            data = to_bytes(data)
        nodes, signature = proof_parts(proof)
        result = verify_put(self.tree, self._tree_file.get, self.key, self.length, index, data, nodes, signature)
        to_write = result.nodes
        new_roots = result.roots
        sig_slot = result.signature_slot
        tree = self.tree

        # data placement (checked before writing anything)
        offset = 0
        if data:
            cached = {n.index: n for n in to_write}
            offset, leaf = self._data_offset(index, cached)
            if leaf.size != len(data):
                raise DataSizeError()
            memo = (index, offset, leaf.size)

        # 4. write: nodes, data, signature, then the bitfield
        new_length = result.verified_by // 2
        grew = new_roots is not None and new_length > self.length
        bf = self.bitfield
        downloaded = False
        with self._storage.transaction():
            put_node = self._tree_file.put
            for node in to_write:
                put_node(node.index, node.hash, node.size)
            if data:
                self._data.write(offset, data)
                self._offset_memo = memo
            if sig_slot >= 0:
                assert result.signature is not None  # a slot comes with the signature to store in it
                self._signatures.put(sig_slot, result.signature)
            if grew:
                assert new_roots is not None  # grew implies verified roots
                self.length = new_length
                self.byte_length = sum(r.size for r in new_roots)
                self._roots = list(new_roots)
                if self._synced is not None:
                    self._synced.seek(0)
            for node in to_write:
                tree.set(node.index)
            tree.set(2 * index)
            if data is not None:
                downloaded = bf.set(index, True)
                if not self.writable:
                    if self._synced is None:
                        self._synced = bf.iterator(0, self.length)
                    if self._synced.next() == -1:
                        self._synced.range(0, self.length)
                        self._synced.seek(0)
                        if self._synced.next() == -1:
                            self._emit_sync = True
            self._write_bitfield()

        if grew:
            self.emit("append")
        if downloaded:
            assert data is not None  # only a block with data sets its bit
            self.stats["downloaded_blocks"] += 1
            self.stats["downloaded_bytes"] += len(data)
            self.emit("download", index, data)
        if data is not None and self.peers:
            self._announce(index, None, from_peer)
        if self._emit_sync:
            self._emit_sync = False
            self.emit("sync")
        self._poll_waiting()
