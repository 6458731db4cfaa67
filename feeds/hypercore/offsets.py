"""A memo of byte offsets by block index, for computing where a block's bytes start in the data file.

``offset(i)`` is the number of bytes in blocks ``[0, i)``.  Once the tree nodes that determine it are
stored it never changes (node sizes are immutable), so it can be remembered for the life of an open feed;
``Hypercore`` forgets it only when its storage is re-read (audit, repair, reopen).

The memo is a set of pages of :data:`PAGE_ENTRIES` signed 64-bit slots (``array('q')``), allocated on the
first offset stored in their range; ``-1`` marks an unknown slot.  That is 8 bytes per remembered block
(a 1 000 000-block feed: 8 MB) instead of the ~100 bytes of a ``dict`` entry, so the memo can keep every
offset a long feed needs: a peer serving or receiving blocks in random order then finds the offset of most
blocks after one or two steps instead of re-reading a root node per set bit of the index.  Past
``max_pages`` pages the memo starts over (a bound on memory for very long feeds).
"""

from __future__ import annotations

from array import array

__all__ = ["OffsetMemo", "PAGE_ENTRIES"]

PAGE_SHIFT = 10
PAGE_ENTRIES = 1 << PAGE_SHIFT  # 8 KiB per page
_MASK = PAGE_ENTRIES - 1
_BLANK = array("q", [-1]) * PAGE_ENTRIES

#: Default bound: 8 192 pages of 1 024 offsets, i.e. 8 388 608 blocks and 64 MiB.
MAX_PAGES = 8192


class OffsetMemo:
    """Remembered ``offset(i)`` values (``i >= 1``; ``offset(0)`` is 0 and never stored)."""

    __slots__ = ("pages", "max_pages")

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.pages: dict[int, array] = {}
        self.max_pages = max(1, max_pages)

    def get(self, i: int) -> int:
        """``offset(i)`` if remembered, else -1."""
        page = self.pages.get(i >> PAGE_SHIFT)
        if page is None:
            return -1
        return page[i & _MASK]

    def set(self, i: int, offset: int) -> None:
        """Remember ``offset(i)`` (``offset >= 0``)."""
        p = i >> PAGE_SHIFT
        page = self.pages.get(p)
        if page is None:
            if len(self.pages) >= self.max_pages:
                self.pages.clear()
            page = self.pages[p] = _BLANK[:]
        page[i & _MASK] = offset

    def clear(self) -> None:
        self.pages.clear()

    def __len__(self) -> int:
        """Pages in use (each holds up to :data:`PAGE_ENTRIES` offsets)."""
        return len(self.pages)
