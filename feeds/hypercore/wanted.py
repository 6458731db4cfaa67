"""Which block a fetcher asks for next (compiled with the hot path, see ``hyperparty/_native.py``).

:func:`first_wanted` is the search behind every Request a fetcher makes: the first block of a range that
the remote has (a :class:`~.ranges.RangeSet` of announced runs), the local feed lacks (its
:class:`~.bitfield.Bitfield`) and no peer of the feed is fetching (the feed's ``reserved`` bits).  Run in
the interpreter it cost about as much as verifying a block; compiled, the bitfield calls are native.
"""

from __future__ import annotations

from bisect import bisect_right

from .bitfield import Bitfield, SparseBitfield
from .ranges import RangeSet

__all__ = ["first_wanted"]


def first_wanted(remote_has: RangeSet, bitfield: Bitfield, reserved: SparseBitfield, start: int, end: int) -> int:
    """First block in ``[start, end)`` in ``remote_has``, missing from ``bitfield`` and not ``reserved``;
    -1 if none."""
    starts = remote_has.starts
    ends = remote_has.ends
    n = len(starts)
    k = bisect_right(ends, start)
    while k < n:
        a = starts[k]
        if a >= end:
            break
        b = ends[k]
        i = a if a > start else start
        stop = b if b < end else end
        while i < stop:
            i = bitfield.first_missing(i, stop)
            if i < 0:
                break
            if not reserved.get(i):
                return i
            i += 1
        k += 1
    return -1
