"""What changed between two versions of a trie (hypertrie 3.8.0 ``lib/diff.js``).

Both tries are walked in lock-step from the prefix node: a stack of ``(i, left, right)`` entries, where
``left`` is a node of this trie and ``right`` one of the other version that sit at the same place.  An
entry whose two sides are the same node (same seq) is pruned: everything below it is shared.  At each
position, for digits 0..4, the two nodes themselves and the pointers of both buckets are paired up (the
k-th left candidate with the k-th right candidate), skipping pointers present on both sides.  An entry
whose nodes reach the end of their paths yields ``(left, right)``; one side ending alone yields that side
with None on the other.  Segment-end collision fix-ups (``_maybe_collides``) follow JS exactly, including
its pairing heuristic for chains.  Nodes named by pointers are read after the whole position has been
laid out, as JS's asynchronous reads complete after it; yield order is hash order.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from .fetch import Fetcher
from .get import Probe, get_node
from .node import Node, collides

__all__ = ["TrieDiff"]

_EMPTY: list = []


class _Entry:
    __slots__ = ("i", "left", "right", "skip")

    def __init__(self, i: int, left: Node | None, right: Node | None, skip: bool = False) -> None:
        self.i = i
        self.left = left
        self.right = right
        self.skip = skip


def _seq(node: Node | None) -> int:
    return node.seq if node is not None else 0


def _not_in_bucket(val: int, seq: int, bucket: list) -> bool:
    for s in range(val, len(bucket), 5):
        if bucket[s] == seq:
            return False
    return True


def _top_collides(top: _Entry) -> bool:
    i = top.i
    if top.left is None or top.right is None or not (i and not i & 31):
        return False
    return collides(top.left, top.right, i)


class TrieDiff:
    """Async iterator of ``(left, right)`` node pairs (either may be None) that differ between two tries."""

    def __init__(
        self,
        fetch: Fetcher,
        left_head: Callable[[], Awaitable["Node | None"]],
        right_head: Callable[[], Awaitable["Node | None"]],
        prefix: str = "",
        *,
        hidden: bool = False,
        skip_left_null: bool = False,
        skip_right_null: bool = False,
    ) -> None:
        self._fetch = fetch
        self._left_head = left_head
        self._right_head = right_head
        self._prefix = prefix or ""  # normalised once, by the lookups (iterator: twice, as JS)
        self._hidden = hidden
        self._skip_left_null = skip_left_null
        self._skip_right_null = skip_right_null
        self._stack: list[_Entry] = []
        self._opened = False

    def __aiter__(self) -> "TrieDiff":
        return self

    async def __anext__(self) -> tuple[Node | None, Node | None]:
        pair = await self.next()
        if pair is None:
            raise StopAsyncIteration
        return pair

    async def _open(self) -> None:
        self._opened = True
        fetch = self._fetch
        a = await get_node(fetch, await self._left_head(), self._prefix, hidden=self._hidden, prefix=True)
        b = await get_node(fetch, await self._right_head(), self._prefix, hidden=self._hidden, prefix=True)
        self._stack.append(_Entry(Probe(self._prefix, self._hidden).length - 1, a, b))

    def _push_stack(self, at: int, i: int) -> _Entry:
        stack = self._stack
        if len(stack) == at:
            stack.append(_Entry(i, None, None))
        return stack[at]

    async def next(self) -> tuple[Node | None, Node | None] | None:
        """The next differing pair, or None at the end."""
        if not self._opened:
            await self._open()
        stack = self._stack
        skip_left_null = self._skip_left_null
        skip_right_null = self._skip_right_null
        while stack:
            e = stack.pop()
            i, left, right = e.i, e.left, e.right
            if e.skip or _seq(left) == _seq(right):
                continue
            done_left = left is not None and i >= left.length
            done_right = right is not None and i >= right.length
            if done_left and done_right:
                return left, right
            if right is None and left is not None and skip_right_null:
                continue
            if left is None and right is not None and skip_left_null:
                continue
            left_val = left.path(i) if left is not None else 5
            right_val = right.path(i) if right is not None else 6
            left_bucket = (left.trie.get(i) if left is not None else None) or _EMPTY
            right_bucket = (right.trie.get(i) if right is not None else None) or _EMPTY
            pending: list[tuple[_Entry, bool, int]] = []
            needs_check: list[tuple[int, int]] = []
            for j in range(5):
                left_seq = _seq(left) if left_val == j else 0
                right_seq = _seq(right) if right_val == j else 0
                base = left_len = right_len = len(stack)
                if left_seq != right_seq:
                    if not done_left and left_seq and _not_in_bucket(j, left_seq, right_bucket):
                        self._push_stack(left_len, i + 1).left = left
                        left_len += 1
                    if not done_right and right_seq and _not_in_bucket(j, right_seq, left_bucket):
                        self._push_stack(right_len, i + 1).right = right
                        right_len += 1
                if not done_left:
                    push_left = not skip_right_null or (j < len(right_bucket) and right_bucket[j])
                    for val in range(j, len(left_bucket), 5):
                        seq = left_bucket[val]
                        if not seq:
                            break
                        if seq != right_seq and _not_in_bucket(j, seq, right_bucket):
                            top = self._push_stack(left_len, i + 1)
                            left_len += 1
                            if push_left or top.right is not None:
                                pending.append((top, True, seq))
                            else:
                                top.skip = True
                if not done_right:
                    push_right = not skip_left_null or (j < len(left_bucket) and left_bucket[j])
                    for val in range(j, len(right_bucket), 5):
                        seq = right_bucket[val]
                        if not seq:
                            break
                        if seq != left_seq and _not_in_bucket(j, seq, left_bucket):
                            top = self._push_stack(right_len, i + 1)
                            right_len += 1
                            if push_right or top.left is not None:
                                pending.append((top, False, seq))
                            else:
                                top.skip = True
                if i and not i & 31 and len(stack) > base:
                    if not pending:
                        self._maybe_collides(base, len(stack))
                    else:
                        needs_check.append((base, len(stack)))
            for top, is_left, seq in pending:
                node = await self._fetch(seq)
                if node is not None:
                    if is_left:
                        top.left = node
                    else:
                        top.right = node
            while needs_check:
                lo, hi = needs_check.pop()
                self._maybe_collides(lo, hi)
            if done_left:
                return left, None
            if done_right:
                return None, right
        return None

    def _maybe_collides(self, start: int, end: int) -> None:
        """JS ``_maybeCollides``: entries ``start..end`` share a hash prefix ending at a segment end; split
        pairs whose segments differ.  (JS's re-pairing test calls ``collides`` without a position, which is
        always false, so a colliding entry swaps its right side with the first entry that has a left one; an
        entry without a left side keeps swapping in JS, which never ends: here the revisits are bounded.)"""
        stack = self._stack
        if end - start == 1:
            top = stack[start]
            if _top_collides(top):
                stack.append(_Entry(top.i, None, top.right, top.skip))
                top.right = None
            return
        i = start
        revisits = 0
        while i < end:
            top = stack[i]
            if _top_collides(top) or top.left is None:
                right = top.right
                for j in range(start, end):
                    other = stack[j]
                    if other.left is not None:
                        top.right = other.right
                        other.right = right
                        # JS revisits without bound; an entry without a left side then swaps forever
                        revisits += 1
                        if revisits <= end - start:
                            i -= 1
                        break
                if top.right is right and top.left is not None:
                    stack.append(_Entry(top.i, None, right, top.skip))
                    top.right = None
            i += 1
