"""Maintenance: ``audit`` (re-hash every stored block and parent, re-verify the signature, clear bad
blocks) and ``clear`` (forget a range of blocks)."""

from __future__ import annotations

from typing import Any

from . import crypto, integrity
from .errors import NodeNotFoundError
from .state import CoreState
from ...storage.base import OutOfRangeError


class _Maintenance(CoreState):
    """The maintenance methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    async def audit(self) -> dict[str, Any]:
        """Re-hash every stored block against its leaf node and every stored parent against its children,
        re-verify the signature of the current length, and clear the data bits of bad blocks.

        Returns ``{"valid", "invalid", "invalid_blocks", "bad_nodes", "signature_ok"}``.
        """
        await self._ensure_open()
        report: dict[str, Any] = {"valid": 0, "invalid": 0, "invalid_blocks": [], "bad_nodes": [], "signature_ok": True}
        bf = self.bitfield
        self._tree_file.clear_cache()
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        for i in range(self.length):
            if not bf.get(i):
                continue
            ok = False
            try:
                offset, leaf = self._data_offset(i)
                self._offset_memo = (i, offset, leaf.size)
                data = self._data.read(offset, leaf.size) if leaf.size else b""
                ok = crypto.leaf_hash(data) == leaf.hash
            except (NodeNotFoundError, OutOfRangeError):
                ok = False
            if ok:
                report["valid"] += 1
            else:
                report["invalid"] += 1
                report["invalid_blocks"].append(i)
                bf.set(i, False)
                self._verified.set(i, False)
        report["bad_nodes"] = integrity.audit_parents(self.tree.bitfield, self._tree_file, self.length)
        if self.length:
            status, _ = self._check_length(self.length)
            report["signature_ok"] = status == "ok"
        with self._storage.transaction():
            self._write_bitfield()
        return report

    async def clear(self, start: int, end: int | None = None) -> None:
        """Forget blocks ``[start, end)``: clear their data bits and zero their bytes (tree nodes stay)."""
        await self._ensure_open()
        if end is None:
            end = start + 1
        changed = False
        for i in range(start, end):
            self._verified.set(i, False)
            if self.bitfield.set(i, False):
                changed = True
        if not changed:
            return
        for peer in list(self.peers):
            unhave = getattr(peer, "unhave", None)
            if unhave is not None:
                unhave(start, end - start)
        try:
            lo, _ = self._data_offset(start)
            if end >= self.length:
                hi = self.byte_length
            else:
                hi, _ = self._data_offset(end)
        except NodeNotFoundError:
            lo = hi = 0
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        with self._storage.transaction():
            if hi > lo:
                self._data.delete(lo, hi - lo)
            self._write_bitfield()
        self.emit("clear", start, end)
