"""A set of block indices kept as sorted, disjoint ``[start, end)`` runs.

Replication uses it for "blocks the remote says it has": announcements arrive as ranges (``Have{start,
length}``) or as RLE bitfields that are mostly long runs, so runs keep memory proportional to the number
of gaps, not of blocks (a hostile ``Have{start: 0, length: 2**50}`` costs one run).  Written by hand
because it is ~80 lines and sortedcontainers has no interval type.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Iterator

__all__ = ["RangeSet", "runs_from_bits"]


class RangeSet:
    """Sorted disjoint half-open runs; ``add``/``remove`` of ranges, membership, iteration from a point."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def __len__(self) -> int:
        """Number of runs (not of indices)."""
        return len(self.starts)

    def __contains__(self, i: int) -> bool:
        k = bisect_right(self.starts, i) - 1
        return k >= 0 and i < self.ends[k]

    @property
    def last(self) -> int:
        """One past the highest index in the set (0 when empty)."""
        return self.ends[-1] if self.ends else 0

    def add(self, start: int, end: int) -> None:
        """Add ``[start, end)``, merging with touching runs."""
        if end <= start:
            return
        starts, ends = self.starts, self.ends
        lo = bisect_left(ends, start)  # first run ending at/after start (touching merges)
        hi = bisect_right(starts, end)  # runs starting at/before end
        if lo < hi:
            start = min(start, starts[lo])
            end = max(end, ends[hi - 1])
        starts[lo:hi] = [start]
        ends[lo:hi] = [end]

    def remove(self, start: int, end: int) -> None:
        """Remove ``[start, end)``."""
        if end <= start:
            return
        starts, ends = self.starts, self.ends
        lo = bisect_right(ends, start)  # first run ending after start
        hi = bisect_left(starts, end)  # runs starting before end
        if lo >= hi:
            return
        new_s: list[int] = []
        new_e: list[int] = []
        if starts[lo] < start:
            new_s.append(starts[lo])
            new_e.append(start)
        if ends[hi - 1] > end:
            new_s.append(end)
            new_e.append(ends[hi - 1])
        starts[lo:hi] = new_s
        ends[lo:hi] = new_e

    def runs_from(self, pos: int, end: int) -> Iterator[tuple[int, int]]:
        """The parts of runs inside ``[pos, end)``, in order."""
        starts, ends = self.starts, self.ends
        k = bisect_right(ends, pos)
        n = len(starts)
        while k < n and starts[k] < end:
            yield max(starts[k], pos), min(ends[k], end)
            k += 1


def runs_from_bits(bits: bytes, base: int) -> Iterator[tuple[int, int]]:
    """Runs of set bits in an MSB-first bitfield (bit ``i`` = block ``base + i``), as ``[start, end)``."""
    n = len(bits)
    i = 0
    run_start = -1
    while i < n:
        byte = bits[i]
        if byte == 0xFF:
            if run_start < 0:
                run_start = base + 8 * i
            # skip a whole stretch of 0xff bytes in C
            j = i + 1
            rest = bits[j:]
            j += len(rest) - len(rest.lstrip(b"\xff"))
            i = j
            continue
        if byte == 0:
            if run_start >= 0:
                yield run_start, base + 8 * i
                run_start = -1
            rest = bits[i:]
            i += len(rest) - len(rest.lstrip(b"\x00"))
            continue
        for bit in range(8):
            p = base + 8 * i + bit
            if byte & (0x80 >> bit):
                if run_start < 0:
                    run_start = p
            elif run_start >= 0:
                yield run_start, p
                run_start = -1
        i += 1
    if run_start >= 0:
        yield run_start, base + 8 * n
