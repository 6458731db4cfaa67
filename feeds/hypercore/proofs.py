"""Proofs for peers and verified writes from peers: every check happens before the first write, and the
bitfield is written last inside the same storage transaction (one transaction per batch of blocks)."""

from __future__ import annotations

from typing import Any, Iterable

from ...protocol.messages import Node
from .errors import DataSizeError, NodeNotFoundError, NoProofError, VerificationError
from .state import CoreState, Proof, to_bytes
from .tree_index import TreeIndex
from .verify import proof_parts, verify_put

_new_proof = tuple.__new__  # Proof's NamedTuple constructor is an interpreted function: twice the cost

#: One block for :meth:`_Proofs.put_many`: ``(index, data or None, proof nodes, signature or None)``.
PutItem = tuple[int, "bytes | None", "list[Node]", "bytes | None"]


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
        return _new_proof(Proof, (nodes, signature, result.verified_by))

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
        self.put_many([(index, data, nodes, signature)], from_peer=from_peer)

    def put_many(self, items: Iterable[PutItem], *, from_peer: Any = None) -> None:
        """Verify and store several blocks as one batch: ``items`` are ``(index, data, nodes, signature)``
        with ``index >= 0``, ``data`` bytes (or None: hash only) and ``nodes`` well-formed :class:`Node`
        tuples (32-byte hashes) — what the protocol decoder hands over; :meth:`put` checks any other input.

        Items are verified in order, each against the tree as the items before it left it.  Then, in one
        storage transaction: the tree nodes (consecutive slots as one write), the data (consecutive blocks
        as one write), the signatures and, last, the bitfield pages (once for the batch).  Events follow the
        writes: ``append`` (once), ``download`` per block, ``sync`` (once); peers get one ``Have`` per run
        of consecutive blocks.  When an item fails verification the items before it are stored (each was
        verified) and the error is raised; nothing of the failing item is written.
        """
        self._check_open()
        tree = self.tree
        tree_set = tree.set
        tree_file = self._tree_file
        stage = tree_file.stage
        bf = self.bitfield
        key = self.key
        writable = self.writable
        data_writes: list[tuple[int, bytes]] = []
        signatures: dict[int, bytes] = {}
        downloaded: list[tuple[int, bytes]] = []
        grew = False
        error: BaseException | None = None
        for index, data, nodes, signature in items:
            # 1. verify (nothing is recorded for this item before every check passed)
            try:
                result = verify_put(tree, tree_file.get, key, self.length, index, data, nodes, signature)
                to_write = result.nodes
                if data:
                    offset, leaf = self._data_offset(index, to_write)
                    if leaf.size != len(data):
                        raise DataSizeError()
            except (VerificationError, NodeNotFoundError) as err:
                error = err
                break
            # 2. record: nodes staged, data and signature queued, bits set in memory (persisted last)
            for node in to_write:
                stage(node)
                tree_set(node.index)
            tree_set(2 * index)
            if data:
                data_writes.append((offset, data))
                self._offset_memo = (index, offset, len(data))
            if result.signature_slot >= 0:
                assert result.signature is not None  # a slot comes with the signature to store in it
                signatures[result.signature_slot] = result.signature
            new_roots = result.roots
            if new_roots is not None and result.verified_by // 2 > self.length:
                grew = True
                self.length = result.verified_by // 2
                self.byte_length = sum(r.size for r in new_roots)
                self._roots = list(new_roots)
                if self._synced is not None:
                    self._synced.seek(0)
            if data is not None:
                if bf.set(index, True):
                    downloaded.append((index, data))
                if not writable:
                    synced = self._synced
                    if synced is None:
                        synced = self._synced = bf.iterator(0, self.length)
                    if synced.next() == -1:
                        synced.range(0, self.length)
                        synced.seek(0)
                        if synced.next() == -1:
                            self._emit_sync = True

        if not (data_writes or signatures or tree_file.staged or bf.pages.dirty_count()):
            if error is not None:
                raise error
            return
        # 3. write: nodes, data, signatures, then the bitfield pages, in one transaction
        try:
            with self._storage.transaction():
                tree_file.flush_staged()
                self._write_data(data_writes)
                put_signature = self._signatures.put
                for slot, sig in signatures.items():
                    put_signature(slot, sig)
                self._write_bitfield()
        finally:
            tree_file.drop_staged()

        # 4. events
        if grew:
            self.emit("append")
        if downloaded:
            stats = self.stats
            stats["downloaded_blocks"] += len(downloaded)
            stats["downloaded_bytes"] += sum(len(d) for _, d in downloaded)
            emit = self.emit
            for index, data in downloaded:
                emit("download", index, data)
            if self.peers:
                self._announce_runs([i for i, _ in downloaded], from_peer)
        if self._emit_sync:
            self._emit_sync = False
            self.emit("sync")
        self._poll_waiting()
        if error is not None:
            raise error

    def _write_data(self, writes: list[tuple[int, bytes]]) -> None:
        """Write ``(offset, block)`` pairs, each run of adjacent blocks with one ``write_many``."""
        if not writes:
            return
        data = self._data
        if len(writes) == 1:
            data.write(writes[0][0], writes[0][1])
            return
        writes.sort(key=_first)
        run: list[bytes] = []
        start = end = -1
        for offset, block in writes:
            if offset != end and run:
                data.write_many(start, run)
                run = []
            if not run:
                start = end = offset
            run.append(block)
            end += len(block)
        data.write_many(start, run)

    def _announce_runs(self, indexes: list[int], from_peer: Any) -> None:
        """One ``Have`` per run of consecutive indexes (single blocks as JS sends them: no length)."""
        indexes.sort()
        start = prev = indexes[0]
        for i in indexes[1:]:
            if i != prev + 1:
                self._announce(start, prev - start + 1 if prev > start else None, from_peer)
                start = i
            prev = i
        self._announce(start, prev - start + 1 if prev > start else None, from_peer)


def _first(pair: tuple[int, bytes]) -> int:
    return pair[0]
