"""append-tree 2.4.4: a file-system tree stored as one Node per hypercore block.

Every put or delete appends one :class:`~.messages.Node` whose ``paths`` field (see :mod:`.path_index`)
lists, for each directory on its path, one representative node per child name.  Reading starts at the
head (the last block, or the checkout's block) and follows representatives down, so any version of the
tree is readable from its own head.  The algorithms (shared/spec/hyperdrive-9.md §4, checked against the
JS sources):

* ``listing(D)``: from the head, while the current node's common prefix ``c`` with ``D`` is shorter than
  ``D``, move to the representative of ``D[c]`` in the node's list ``c``; list ``len(D)`` of the node
  reached is the listing (nodes in it may be ``D`` itself, its children, or deeper nodes).
* ``put(names, value)`` at block ``S``: list ``k`` of the new node is ``listing(names[:k])`` without the
  entry whose component ``k`` is ``names[k]`` (none, at ``k = len(names)``), plus ``S``.  An empty tree
  gives ``[S]`` at every depth.
* ``delete(names)``: the closest live entry ``C`` is the last node with a value and another name in
  ``listing(names[:j])`` for ``j = len(names) .. 0``; ``depth = common(names, C) + 1``; list ``k`` for
  ``k < depth`` is ``listing(names[:k])`` without the deleted branch, plus ``S`` while ``k + 1 < depth``.
  JS's quirk (tombstone representatives are skipped in the closest search) is kept for byte equality.
* ``get(names)``: descend like a listing, using list ``c`` without the node itself; the node named
  ``names`` is the answer when it has a value.

Writes are split in two: :meth:`AppendTree.prepare_put` / :meth:`prepare_delete` read the tree and
compute the new node's index (so a read error happens before anything is written — hyperdrive
appends file content in between), and :meth:`AppendTree.commit` appends it.

Beyond JS: a hostile index that sends a descent back up (no progress) raises
:class:`CorruptMetadataError` where JS would recurse forever; undecodable nodes raise it too.
"""

from __future__ import annotations

import dataclasses
from typing import AsyncIterator, Sequence

from hyperparty import protobuf as pb

from ..hypercore import BlockChecksumError, CorruptStorageError, NodeNotFoundError
from .errors import CorruptMetadataError, HyperdriveError, ReadOnlyError
from .messages import Node
from .node_cache import Brief, NodeCache, TreeNode
from .path_index import deflate, inflate
from .paths import common_prefix, join

__all__ = ["AppendTree", "PendingNode"]

_STORAGE_ERRORS = (BlockChecksumError, CorruptStorageError, NodeNotFoundError)


def _comp(names: tuple[str, ...], k: int) -> str | None:
    """Component ``k`` of ``names``, None past the end."""
    return names[k] if k < len(names) else None


@dataclasses.dataclass
class PendingNode:
    """A node computed by ``prepare_*`` and not appended yet."""

    seq: int
    names: tuple[str, ...]
    index: list[list[int]]
    children: dict[int, tuple[dict, bool]]


class AppendTree:
    """append-tree over ``core`` (a Hypercore) whose first ``offset`` blocks are not nodes.

    ``checkout``: a read-only tree whose head is that block (a checkout below ``offset`` is empty).
    ``timeout``: seconds to wait for a block a replica does not have yet (None: wait).
    """

    def __init__(self, core, *, offset: int = 1, checkout: int | None = None,
                 cache: NodeCache | None = None, timeout: float | None = None) -> None:
        self.core = core
        self.offset = offset
        self.checkout_seq = checkout
        self.cache = cache if cache is not None else NodeCache()
        self.timeout = timeout

    @property
    def readonly(self) -> bool:
        return self.checkout_seq is not None

    def checkout(self, seq: int) -> "AppendTree":
        """The tree as it was when block ``seq`` was its head (shares this tree's cache)."""
        return AppendTree(self.core, offset=self.offset, checkout=seq, cache=self.cache, timeout=self.timeout)

    def head_seq(self) -> int:
        """Block number of the head, -1 for an empty tree."""
        if self.checkout_seq is not None:
            return self.checkout_seq if self.checkout_seq >= self.offset else -1
        length = self.core.length
        return length - 1 if length > self.offset else -1

    async def head(self) -> TreeNode | None:
        seq = self.head_seq()
        return None if seq < 0 else await self.node(seq)

    # ------------------------------------------------------------------------------------------------
    # reading nodes

    async def read_block(self, seq: int) -> bytes:
        """Block ``seq`` of the core (waiting for replication when it is not local yet)."""
        core = self.core
        try:
            if core.has(seq):
                return core.read_block(seq)
            return await core.get(seq, timeout=self.timeout)
        except _STORAGE_ERRORS as err:
            raise CorruptMetadataError(f"metadata block {seq} cannot be read: {err}") from err

    def decode(self, seq: int, raw: bytes) -> TreeNode:
        try:
            msg = pb.decode(Node, raw)
        except pb.DecodeError as err:
            raise CorruptMetadataError(f"metadata block {seq} is not an append-tree node: {err}") from None
        return TreeNode(seq, msg.name or "", msg.value, msg.paths)

    async def node(self, seq: int) -> TreeNode:
        """The node at block ``seq`` (cached)."""
        node = self.cache.get(seq)
        if node is None:
            node = self.decode(seq, await self.read_block(seq))
            self.cache.add(node)
        return node

    async def briefs(self, seqs: Sequence[int]) -> dict[int, Brief]:
        """The cache's brief dict, holding ``(name, components, is_put)`` of every seq in ``seqs``.

        Use the result before the next ``await``."""
        brief = self.cache.brief
        while True:
            missing = set(seqs).difference(brief.keys())
            if not missing:
                return brief
            self.cache.make_room(len(missing))
            for seq in sorted(missing):
                node = self.cache.get(seq)
                if node is None:
                    node = self.decode(seq, await self.read_block(seq))
                self.cache.add_brief(seq, node.brief())

    def index(self, node: TreeNode) -> list[list[int]]:
        if node.index is None:
            node.index = inflate(node.seq, node.paths, self.offset)
        return node.index

    async def children(self, node: TreeNode, k: int) -> tuple[dict, bool]:
        """``(component -> seq, exact)`` of list ``k`` of ``node`` (first occurrence wins)."""
        got = node.children.get(k)
        if got is not None:
            return got
        lst = self.index(node)[k]
        brief = await self.briefs(lst)
        mapping: dict[str | None, int] = {}
        for seq in lst:
            mapping.setdefault(_comp(brief[seq][1], k), seq)
        got = (mapping, len(mapping) == len(lst))
        node.children[k] = got
        self.cache.grew(node, len(mapping))
        return got

    # ------------------------------------------------------------------------------------------------
    # descent

    async def locate(self, head: TreeNode, names: tuple[str, ...]) -> TreeNode | None:
        """The node whose list ``len(names)`` is the listing of directory ``names`` (None: empty)."""
        node = head
        floor = -1
        while True:
            c = common_prefix(node.names, names)
            if c <= floor:
                raise CorruptMetadataError(f"path index of block {node.seq} does not lead towards {join(names)}")
            floor = c
            index = self.index(node)
            lst = index[c] if c < len(index) else None
            if c == len(names):
                return node if lst else None
            if not lst or (len(lst) == 1 and lst[0] == node.seq):
                return None
            seq = (await self.children(node, c))[0].get(names[c])
            if seq is None:
                return None
            node = await self.node(seq)

    async def listing(self, head: TreeNode | None, names: tuple[str, ...]) -> list[int]:
        """The representatives (seqs, in stored order) of directory ``names``."""
        if head is None:
            return []
        node = await self.locate(head, names)
        return [] if node is None else self.index(node)[len(names)]

    async def get(self, names: tuple[str, ...]) -> TreeNode | None:
        """The put node named ``names`` (None when absent or deleted)."""
        node = await self.head()
        floor = -1
        while node is not None:
            c = common_prefix(names, node.names)
            if c == len(node.names) == len(names):
                return node if node.is_put else None
            if c <= floor:
                raise CorruptMetadataError(f"path index of block {node.seq} does not lead towards {join(names)}")
            floor = c
            index = self.index(node)
            if c >= len(index):
                return None
            lst = index[c]
            if not lst or (len(lst) == 1 and lst[0] == node.seq):
                return None
            seq = (await self.children(node, c))[0].get(_comp(names, c))
            node = None if seq is None else await self.node(seq)
        return None

    async def entries(self, names: tuple[str, ...]) -> list[str] | None:
        """Child names of directory ``names`` in listing order (None when the listing is empty)."""
        seqs = await self.listing(await self.head(), names)
        if not seqs:
            return None
        brief = await self.briefs(seqs)
        n = len(names)
        out = []
        for seq in seqs:
            comps = brief[seq][1]
            if len(comps) > n:
                out.append(comps[n])
        return out

    # ------------------------------------------------------------------------------------------------
    # writing

    async def _filtered(self, head: TreeNode, names: tuple[str, ...], k: int, seq: int,
                        add_self: bool) -> tuple[list[int], tuple[dict, bool] | None]:
        """List ``k`` of a new node at ``seq``: the listing of ``names[:k]`` without the branch of
        ``names`` (plus ``seq`` when ``add_self``), and its child map when it can be derived cheaply."""
        target = _comp(names, k)
        node = await self.locate(head, names[:k])
        mapping: dict[str | None, int]
        if node is None:
            lst: list[int] = []
            mapping, exact = {}, True
        else:
            lst = self.index(node)[k]
            mapping, exact = await self.children(node, k)
        if exact:
            drop = mapping.get(target)
            out = list(lst)
            new_map = dict(mapping)
            if drop is not None:
                out.remove(drop)
                del new_map[target]
            if add_self:
                out.append(seq)
                new_map[target] = seq
            return out, (new_map, True)
        brief = await self.briefs(lst)
        ignore = join(names)
        out = [s for s in lst if _comp(brief[s][1], k) != target and brief[s][0] != ignore]
        if add_self:
            out.append(seq)
        return out, None

    async def prepare_put(self, names: tuple[str, ...]) -> PendingNode:
        """The node a put of ``names`` would append now (nothing is written)."""
        self._check_writable()
        seq = self.core.length
        head = await self.head()
        n = len(names)
        if head is None:
            index = [[seq] for _ in range(n + 1)]
            children = {k: ({_comp(names, k): seq}, True) for k in range(n + 1)}
            return PendingNode(seq, names, index, children)
        index, children = [], {}
        for k in range(n + 1):
            lst, mapping = await self._filtered(head, names, k, seq, True)
            index.append(lst)
            if mapping is not None:
                children[k] = mapping
        return PendingNode(seq, names, index, children)

    async def prepare_delete(self, names: tuple[str, ...]) -> PendingNode | None:
        """The tombstone a delete of ``names`` would append now (None for an empty tree)."""
        self._check_writable()
        seq = self.core.length
        head = await self.head()
        if head is None:
            return None
        ignore = join(names)
        closest: tuple[str, ...] | None = None
        for j in range(len(names), -1, -1):
            seqs = await self.listing(head, names[:j])
            brief = await self.briefs(seqs)
            for s in reversed(seqs):
                name, comps, is_put = brief[s]
                if name != ignore and is_put:
                    closest = comps
                    break
            if closest is not None:
                break
        depth = common_prefix(names, closest or ()) + 1
        index, children = [], {}
        for k in range(depth):
            lst, mapping = await self._filtered(head, names, k, seq, k + 1 < depth)
            index.append(lst)
            if mapping is not None:
                children[k] = mapping
        return PendingNode(seq, names, index, children)

    def commit(self, pending: PendingNode, value: bytes | None) -> int:
        """Append ``pending`` with ``value`` (None: a tombstone); returns its block number."""
        if self.core.length != pending.seq:
            raise HyperdriveError("the metadata feed grew while a write was being prepared")
        name = join(pending.names)
        try:
            paths = deflate(pending.seq, pending.index)
        except ValueError as err:
            raise CorruptMetadataError(f"the path index read for {name} is not ordered: {err}") from None
        raw = pb.encode(Node(name=name, value=value, paths=paths))
        self.core.append_sync([raw])
        node = TreeNode(pending.seq, name, value, paths, pending.index)
        node.children.update(pending.children)
        self.cache.add(node)
        return pending.seq

    async def put(self, names: tuple[str, ...], value: bytes) -> int:
        return self.commit(await self.prepare_put(names), value)

    async def delete(self, names: tuple[str, ...]) -> int | None:
        pending = await self.prepare_delete(names)
        return None if pending is None else self.commit(pending, None)

    def _check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError("Cannot write to a checkout")

    # ------------------------------------------------------------------------------------------------
    # history

    async def history(self, start: int = 0, end: int | None = None) -> AsyncIterator[TreeNode]:
        """Nodes of blocks ``[max(start, offset), end)``; ``end`` defaults to the head + 1."""
        stop = self.head_seq() + 1 if end is None else end
        for seq in range(max(start, self.offset), stop):
            yield await self.node(seq)
