"""``Steps``: the async-iterator protocol over a ``next()`` that returns ``None`` at the end (the shape of
JS's nanoiterator, which hyperdb's iterators, history and diff streams use)."""

from __future__ import annotations

from typing import Any

__all__ = ["Steps"]


class Steps:
    async def next(self) -> Any:  # pragma: no cover - overridden
        return None

    def __aiter__(self) -> "Steps":
        return self

    async def __anext__(self) -> Any:
        item = await self.next()
        if item is None:
            raise StopAsyncIteration
        return item
