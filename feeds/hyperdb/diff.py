"""Differences between two views of a db (hyperdb 3.5.0 ``lib/differ.js``).

Two iterators over the same prefix are walked side by side in hash order (``path digits + "@" + key``);
each step yields ``{"left": nodes | None, "right": nodes | None}`` for a key present on one side only or
whose versions differ ((feed, seq) lists not equal).  Keys equal on both sides are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .iterator import Iterator
from .node import Node
from .steps import Steps

if TYPE_CHECKING:  # pragma: no cover
    from .view import ReadView

__all__ = ["Differ"]


class Differ(Steps):
    def __init__(
        self,
        left: "ReadView",
        right: "ReadView",
        prefix: str = "",
        *,
        map: Callable[[Node], Any] | None = None,
        reduce: Callable[[Any, Any], Any] | None = None,
        **options: Any,
    ) -> None:
        self._left = Iterator(left, prefix, **options)
        self._right = Iterator(right, prefix, **options)
        self._map = map
        self._reduce = reduce
        self._l: list[Node] | None = None
        self._r: list[Node] | None = None

    async def next(self) -> dict[str, Any] | None:
        while True:
            if self._l is None:
                self._l = await self._left.next()
            if self._r is None:
                self._r = await self._right.next()
            left, right = self._l, self._r
            if left is None and right is None:
                return None
            if left is None or right is None:
                self._l = self._r = None
                return {"left": self._prereturn(left), "right": self._prereturn(right)}
            kl, kr = left[0].key, right[0].key
            if kl == kr:
                self._l = self._r = None
                if _same(left, right):
                    continue
                return {"left": self._prereturn(left), "right": self._prereturn(right)}
            sl = "".join(map_digit(d) for d in left[0].path) + "@" + kl
            sr = "".join(map_digit(d) for d in right[0].path) + "@" + kr
            if sl < sr:
                self._l = None
                return {"left": self._prereturn(left), "right": None}
            self._r = None
            return {"left": None, "right": self._prereturn(right)}

    def _prereturn(self, nodes: list[Node] | None) -> Any:
        if nodes is None:
            return None
        out: Any = nodes
        if self._map is not None:
            out = [self._map(n) for n in out]
        if self._reduce is not None:
            acc = out[0]
            for n in out[1:]:
                acc = self._reduce(acc, n)
            out = acc
        return out


def map_digit(d: int) -> str:
    return chr(48 + d)


def _same(a: list[Node], b: list[Node]) -> bool:
    return len(a) == len(b) and all(x.feed == y.feed and x.seq == y.seq for x, y in zip(a, b))
