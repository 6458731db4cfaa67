"""hypercore 7's bitfield (lib/bitfield.js on sparse-bitfield 3.0.3 and memory-pager 1.5.0).

One pager of 3584-byte pages holds three sparse bitfields (page ``j`` is stored at file offset
``32 + 3584*j``):

* bytes ``0..1023``    ``data``:  bit ``i`` = "block ``i`` is stored"     (blocks ``[8192*j, 8192*(j+1))``)
* bytes ``1024..3071`` ``tree``:  bit ``n`` = "tree node ``n`` is stored" (nodes ``[16384*j, ...)``)
* bytes ``3072..3583`` ``index``: 2-bit summaries of data bytes laid out as a flat tree, used to skip
  full regions when looking for missing blocks.

Bits are MSB first (byte ``i >> 3``, mask ``0x80 >> (i & 7)``).  The index region is updated exactly as
the JS code does it (including its quirks: the ``maxLength`` cut-off and ``_expand``), because it is
persisted and ``bitfield`` files must be byte-identical to those JS writes.  Every sub-bitfield keeps its
``byte_length`` the way sparse-bitfield does (``TreeIndex.blocks()``/``digest()`` read it).

Changed pages are tracked as dirty; :meth:`Bitfield.take_dirty_pages` hands them out (highest page first,
see ``core.py`` for why) to be written whole, as JS does.
"""

from __future__ import annotations

import re
from typing import Iterable, Literal, overload

from . import flat_tree, rle
from .errors import CorruptStorageError

__all__ = ["Pager", "SparseBitfield", "Bitfield", "BitfieldIterator", "DEFAULT_PAGE_SIZE"]

DEFAULT_PAGE_SIZE = 3584
DATA_PAGE_SIZE = 1024
TREE_PAGE_SIZE = 2048
INDEX_OFFSET = DATA_PAGE_SIZE + TREE_PAGE_SIZE

_INDEX_UPDATE_MASK = (63, 207, 243, 252)
_INDEX_ITERATE_MASK = (0, 192, 240, 252)
_DATA_ITERATE_MASK = (128, 192, 224, 240, 248, 252, 254, 255)
_DATA_UPDATE_MASK = (127, 191, 223, 239, 247, 251, 253, 254)


def _nibble_summary(x: int) -> int:
    return 3 if x == 15 else 0 if x == 0 else 1


_MAP_PARENT_RIGHT = tuple((_nibble_summary(i >> 4) << 2) | _nibble_summary(i & 15) for i in range(256))
_MAP_PARENT_LEFT = tuple(v << 4 for v in _MAP_PARENT_RIGHT)


def _next_data_0_bit(i: int) -> int:
    if i == 255:
        return -1
    # position (MSB first) of the first 0 bit
    for bit in range(8):
        if not i & (0x80 >> bit):
            return bit
    return -1  # pragma: no cover


_NEXT_DATA_0_BIT = tuple(_next_data_0_bit(i) for i in range(256))
_NEXT_INDEX_0_BIT = tuple(-1 if i == 255 else _NEXT_DATA_0_BIT[i] // 2 for i in range(256))
_TOTAL_1_BITS = tuple(bin(i).count("1") for i in range(256))
_NOT_FULL = re.compile(b"[^\xff]")  # a data byte with a block missing


def _index_value(byte: int) -> int:
    """The 2-bit summary of a data byte, pre-shifted to the top of an index byte."""
    return 192 if byte == 255 else 0 if byte == 0 else 64


class Pager:
    """memory-pager: fixed-size pages allocated on demand; ``length`` = highest page touched + 1.

    Pages loaded all-zero are not stored (they read as zeros) but still count toward ``length``.
    """

    __slots__ = ("page_size", "pages", "length", "_dirty", "_dirty_set")

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.pages: dict[int, bytearray] = {}
        self.length = 0
        self._dirty: list[int] = []
        self._dirty_set: set[int] = set()

    @overload
    def get(self, j: int, no_allocate: Literal[False] = False) -> bytearray: ...

    @overload
    def get(self, j: int, no_allocate: bool) -> bytearray | None: ...

    def get(self, j: int, no_allocate: bool = False) -> bytearray | None:
        page = self.pages.get(j)
        if page is None and not no_allocate:
            page = self.pages[j] = bytearray(self.page_size)
            if j >= self.length:
                self.length = j + 1
        return page

    def set(self, j: int, buf: bytes | None) -> None:
        """Install a loaded page (zero pages are dropped but counted)."""
        if j >= self.length:
            self.length = j + 1
        if not buf or not any(buf):
            self.pages.pop(j, None)
            return
        page = bytearray(buf[: self.page_size])
        if len(page) < self.page_size:
            page.extend(bytes(self.page_size - len(page)))
        self.pages[j] = page

    def updated(self, j: int) -> None:
        if j not in self._dirty_set:
            self._dirty_set.add(j)
            self._dirty.append(j)

    @property
    def dirty(self) -> list[int]:
        return list(self._dirty)

    def dirty_count(self) -> int:
        return len(self._dirty)

    def take_dirty(self) -> list[int]:
        dirty = self._dirty
        self._dirty = []
        self._dirty_set = set()
        return dirty


class SparseBitfield:
    """sparse-bitfield 3.0.3: a bitfield stored in a region of a :class:`Pager`'s pages.

    Byte ``b`` lives in pager page ``b // page_size`` at ``page_offset + b % page_size``.  ``byte_length``
    starts at ``pager.length * page_size`` and grows when a byte past it actually changes.
    """

    __slots__ = ("pager", "page_size", "page_offset", "byte_length", "track_updates", "_shift", "_mask", "_pages")

    def __init__(
        self,
        pager: Pager | None = None,
        page_size: int = 1024,
        page_offset: int = 0,
        track_updates: bool = False,
    ) -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ValueError("The page size should be a power of two")
        self.pager = pager if pager is not None else Pager(page_size)
        self.page_size = page_size
        self.page_offset = page_offset
        self.byte_length = self.pager.length * page_size
        self.track_updates = track_updates
        self._shift = page_size.bit_length() - 1
        self._mask = page_size - 1
        self._pages = self.pager.pages

    @property
    def length(self) -> int:
        """Length in bits (``8 * byte_length``)."""
        return self.byte_length << 3

    def get(self, i: int) -> bool:
        b = i >> 3
        page = self._pages.get(b >> self._shift)
        if page is None:
            return False
        return bool(page[self.page_offset + (b & self._mask)] & (128 >> (i & 7)))

    def __contains__(self, i: int) -> bool:
        return self.get(i)

    def get_byte(self, b: int) -> int:
        page = self._pages.get(b >> self._shift)
        if page is None:
            return 0
        return page[self.page_offset + (b & self._mask)]

    def set(self, i: int, value: bool = True) -> bool:
        """Set bit ``i``; True when it changed."""
        b = i >> 3
        byte = self.get_byte(b)
        mask = 128 >> (i & 7)
        return self.set_byte(b, (byte | mask) if value else (byte & (255 ^ mask)))

    def set_byte(self, b: int, value: int) -> bool:
        """Set byte ``b`` (allocating its page); True when it changed."""
        j = b >> self._shift
        page = self._pages.get(j)
        if page is None:
            page = self.pager.get(j)
        o = self.page_offset + (b & self._mask)
        if page[o] == value:
            return False
        page[o] = value
        if b >= self.byte_length:
            self.byte_length = b + 1
        if self.track_updates:
            self.pager.updated(j)
        return True

    def to_bytes(self) -> bytes:
        """All of this bitfield's bytes across ``pager.length`` pages (missing pages as zeros)."""
        out = bytearray(self.pager.length * self.page_size)
        ps = self.page_size
        po = self.page_offset
        for j, page in self._pages.items():
            if j < self.pager.length:
                out[j * ps : (j + 1) * ps] = page[po : po + ps]
        return bytes(out)

    def last(self) -> int:
        """Highest set bit, or -1."""
        for j in sorted(self._pages, reverse=True):
            page = self._pages[j]
            region = page[self.page_offset : self.page_offset + self.page_size]
            stripped = region.rstrip(b"\x00")
            if stripped:
                b = j * self.page_size + len(stripped) - 1
                byte = stripped[-1]
                return (b << 3) + 7 - ((byte & -byte).bit_length() - 1)
        return -1


class Bitfield:
    """The three hypercore bitfields sharing one pager (see the module docstring)."""

    def __init__(self, page_size: int = DEFAULT_PAGE_SIZE, pages: Iterable[bytes] | None = None) -> None:
        if not page_size:
            page_size = DEFAULT_PAGE_SIZE
        index_size = page_size - INDEX_OFFSET
        if index_size <= 0 or index_size & (index_size - 1):
            raise CorruptStorageError(f"Unsupported bitfield page size {page_size}")
        self.page_size = page_size
        self.index_size = index_size
        self.pages = Pager(page_size)
        if pages is not None:
            for j, buf in enumerate(pages):
                self.pages.set(j, buf)
        self.data = SparseBitfield(self.pages, DATA_PAGE_SIZE, 0, True)
        self.tree = SparseBitfield(self.pages, TREE_PAGE_SIZE, DATA_PAGE_SIZE, True)
        self.index = SparseBitfield(self.pages, index_size, INDEX_OFFSET, True)
        self.length = self.data.length
        self._iterator = flat_tree.Iterator(0)

    # -- data bits ----------------------------------------------------------------------------------

    def get(self, i: int) -> bool:
        """True when block ``i`` is stored."""
        b = i >> 3
        page = self.pages.pages.get(b >> 10)
        if page is None:
            return False
        return bool(page[b & 1023] & (128 >> (i & 7)))

    def __contains__(self, i: int) -> bool:
        return self.get(i)

    def set(self, i: int, value: bool = True) -> bool:
        """Mark block ``i`` present/absent (updating the index summaries); True when it changed."""
        o = i & 7
        b = i >> 3
        data = self.data
        v = (data.get_byte(b) | (128 >> o)) if value else (data.get_byte(b) & _DATA_UPDATE_MASK[o])
        if not data.set_byte(b, v):
            return False
        self.length = data.length
        self._set_index(b, v)
        return True

    def set_range(self, start: int, end: int) -> int:
        """``set(i, True)`` for every ``i`` in ``[start, end)`` in order; returns how many changed.

        Produces exactly the bytes (index region included) and page allocations of the per-block loop:
        the index update only looks at the 2-bit summary of the data byte, so it is called once per
        summary change (``00 -> 01`` on a byte's first bit, ``-> 11`` when it fills), which is when the
        per-block JS loop changes anything.
        """
        if end <= start:
            return 0
        data = self.data
        pager = self.pages
        pages = pager.pages
        changed = 0
        last_page = -1
        page: bytearray  # loaded on the first iteration (last_page starts at -1)
        i = start
        while i < end:
            b = i >> 3
            first = i & 7
            stop = min(8, first + end - i)  # bits [first, stop) of byte b
            j = b >> 10
            if j != last_page:
                cached = pages.get(j)
                page = cached if cached is not None else pager.get(j)
                last_page = j
            off = b & 1023
            old = page[off]
            bits = (0xFF >> first) & (0xFF << (8 - stop)) & 0xFF
            new = old | bits
            i += stop - first
            if new == old:
                continue
            page[off] = new
            changed += bin(new ^ old).count("1")
            if b >= data.byte_length:
                data.byte_length = b + 1
            pager.updated(j)
            if old == 0:
                # first new bit: summary 00 -> 01 (a single bit can never fill a byte)
                self._set_index(b, 1)
            if new == 0xFF:
                self._set_index(b, 0xFF)
        self.length = data.length
        return changed

    def total(self, start: int = 0, end: int | None = None) -> int:
        """Number of stored blocks in ``[start, end)`` (``end`` defaults to the bitfield length)."""
        if not start or start < 0:
            start = 0
        if not end:
            end = self.data.length
        if end < start:
            return 0
        if end > self.data.length:
            self._expand(end)
        o = start & 7
        e = end & 7
        pos = (start - o) >> 3
        last = (end - e) >> 3
        left_mask = 255 - (_DATA_ITERATE_MASK[o - 1] if o else 0)
        right_mask = _DATA_ITERATE_MASK[e - 1] if e else 0
        data = self.data
        byte = data.get_byte(pos)
        if pos == last:
            return _TOTAL_1_BITS[byte & left_mask & right_mask]
        total = _TOTAL_1_BITS[byte & left_mask]
        # whole bytes in between, page by page
        p = pos + 1
        pages = self.pages.pages
        while p < last:
            j = p >> 10
            stop = min(last, (j + 1) << 10)
            page = pages.get(j)
            if page is not None:
                chunk = page[(p & 1023) : (p & 1023) + (stop - p)]
                total += int.from_bytes(chunk, "big").bit_count()
            p = stop
        total += _TOTAL_1_BITS[data.get_byte(last) & right_mask]
        return total

    def compress(self, start: int = 0, length: int = 0) -> bytes:
        """RLE (bitfield-rle) of the data bits for blocks ``[start, start+length)`` (0, 0 = everything)."""
        if not start and not length:
            return rle.encode(self.data.to_bytes())
        out = bytearray(length // 8)
        p = start // DATA_PAGE_SIZE // 8
        end = p + length // DATA_PAGE_SIZE // 8
        first = p
        pages = self.pages.pages
        for q in range(p, end):
            page = pages.get(q)
            if page is None:
                continue
            at = (q - first) * DATA_PAGE_SIZE
            out[at : at + DATA_PAGE_SIZE] = page[0:DATA_PAGE_SIZE]
        return rle.encode(out)

    def first_missing(self, start: int, end: int) -> int:
        """First block in ``[start, end)`` whose data bit is 0, or -1.

        A plain scan of the data bytes: the next few bytes one by one, then a run of 0xFF bytes skipped in
        C (a regular-expression search, which copies nothing; slicing the rest of the page copied up to a
        KiB twice per call).  Unlike :meth:`iterator` and :meth:`total` it never touches the index region,
        so it can be used freely without changing the bytes that get persisted.
        """
        if end <= start:
            return -1
        pages = self.pages.pages
        i = start
        while i < end:
            page = pages.get(i >> 13)
            if page is None:
                return i
            b = (i >> 3) & 1023
            byte = page[b] | ((0xFF00 >> (i & 7)) & 0xFF)
            stop = min(1024, b + 9)
            while byte == 0xFF and b + 1 < stop:
                b += 1
                byte = page[b]
            if byte != 0xFF:
                n = ((((i >> 3) & ~1023) + b) << 3) + _NEXT_DATA_0_BIT[byte]
                return n if n < end else -1
            if b + 1 >= 1024:
                i = (((i >> 3) | 1023) + 1) << 3  # the next page
                continue
            found = _NOT_FULL.search(page, b + 1, 1024)
            b = found.start() if found is not None else 1024
            i = (((i >> 3) & ~1023) + b) << 3
        return -1

    # -- index summaries (ported literally: they are persisted) --------------------------------------

    def _set_index(self, b: int, value: int) -> bool:
        """Update the index summary of data byte ``b`` (now ``value``) and climb while bytes change.

        The flat-tree iterator walk of the JS code is inlined on local integers (this runs for every data
        byte whose summary changes, i.e. twice per 8 appended blocks).
        """
        o = b & 3
        start = (b >> 2) << 1
        index = self.index
        pages = self.pages.pages
        shift = index._shift
        mask = index._mask
        po = INDEX_OFFSET
        pager = self.pages
        j = start >> shift
        page = pages.get(j)
        cur = page[po + (start & mask)] if page is not None else 0
        byte = (cur & _INDEX_UPDATE_MASK[o]) | (_index_value(value) >> (2 * o))
        length = index.byte_length
        max_length = pager.length * self.index_size
        i = start
        offset = start >> 1
        factor = 2
        left_map = _MAP_PARENT_LEFT
        right_map = _MAP_PARENT_RIGHT
        while i < max_length:
            # index.set_byte(i, byte), inlined
            j = i >> shift
            page = pages.get(j)
            if page is None:
                page = pager.get(j)
            at = po + (i & mask)
            if page[at] == byte:
                break
            page[at] = byte
            if i >= index.byte_length:
                index.byte_length = i + 1
            pager.updated(j)
            # combine with the sibling and move to the parent
            if offset & 1:
                sib = i - factor
                sp = pages.get(sib >> shift)
                sbyte = sp[po + (sib & mask)] if sp is not None else 0
                byte = right_map[byte] | left_map[sbyte]
                i -= factor >> 1
            else:
                sib = i + factor
                sp = pages.get(sib >> shift)
                sbyte = sp[po + (sib & mask)] if sp is not None else 0
                byte = left_map[byte] | right_map[sbyte]
                i += factor >> 1
            offset >>= 1
            factor <<= 1
        if length != index.byte_length:
            self._expand(8 * length)
        return i != start

    def _expand(self, length: int) -> None:
        roots = flat_tree.full_roots(2 * length)
        index = self.index
        ite = self._iterator
        for r in roots:
            ite.seek(r)
            byte = index.get_byte(ite.index)
            while True:
                if ite.is_left():
                    byte = _MAP_PARENT_LEFT[byte] | _MAP_PARENT_RIGHT[index.get_byte(ite.sibling())]
                else:
                    byte = _MAP_PARENT_RIGHT[byte] | _MAP_PARENT_LEFT[index.get_byte(ite.sibling())]
                p = ite.parent()
                if 8 * p >= index.length or not index.set_byte(p, byte):
                    break

    # -- iteration ------------------------------------------------------------------------------------

    def iterator(self, start: int = 0, end: int = 0) -> "BitfieldIterator":
        """Iterator over missing blocks in ``[start, end)`` (``end`` 0 = the bitfield length)."""
        ite = BitfieldIterator(self)
        ite.range(start or 0, end or self.length)
        ite.seek(0)
        return ite

    # -- persistence ---------------------------------------------------------------------------------

    def take_dirty_pages(self) -> list[tuple[int, bytes]]:
        """``(page_index, page_bytes)`` of every changed page, highest page first; clears the dirty list."""
        dirty = self.pages.take_dirty()
        if not dirty:
            return []
        dirty.sort(reverse=True)
        pages = self.pages.pages
        zero = bytes(self.page_size)
        return [(j, bytes(pages[j]) if j in pages else zero) for j in dirty]

    def page_bytes(self, j: int) -> bytes:
        page = self.pages.pages.get(j)
        return bytes(page) if page is not None else bytes(self.page_size)


class BitfieldIterator:
    """Finds missing blocks (zero data bits) using the index to skip full regions (JS ``Iterator``)."""

    __slots__ = ("start", "end", "_index_end", "_pos", "_byte", "_bitfield")

    def __init__(self, bitfield: Bitfield) -> None:
        self.start = 0
        self.end = 0
        self._index_end = 0
        self._pos = 0
        self._byte = 0
        self._bitfield = bitfield

    def range(self, start: int, end: int) -> "BitfieldIterator":
        self.start = start
        self.end = end
        self._index_end = 2 * -(-end // 32)
        if self.end > self._bitfield.length:
            self._bitfield._expand(self.end)
        return self

    def seek(self, offset: int) -> "BitfieldIterator":
        offset += self.start
        if offset < self.start:
            offset = self.start
        if offset >= self.end:
            self._pos = -1
            return self
        o = offset & 7
        self._pos = (offset - o) >> 3
        self._byte = self._bitfield.data.get_byte(self._pos) | (_DATA_ITERATE_MASK[o - 1] if o else 0)
        return self

    def next(self) -> int:
        if self._pos == -1:
            return -1
        data = self._bitfield.data
        free = _NEXT_DATA_0_BIT[self._byte]
        while free == -1:
            self._pos += 1
            self._byte = data.get_byte(self._pos)
            free = _NEXT_DATA_0_BIT[self._byte]
            if free == -1:
                self._pos = self._skip_ahead(self._pos)
                if self._pos == -1:
                    return -1
                self._byte = data.get_byte(self._pos)
                free = _NEXT_DATA_0_BIT[self._byte]
        self._byte |= _DATA_ITERATE_MASK[free]
        n = 8 * self._pos + free
        return n if n < self.end else -1

    def _skip_ahead(self, start: int) -> int:
        index = self._bitfield.index
        tree_end = self._index_end
        ite = self._bitfield._iterator
        o = start & 3
        ite.seek(2 * ((start - o) >> 2))
        tree_byte = index.get_byte(ite.index) | _INDEX_ITERATE_MASK[o]
        while _NEXT_INDEX_0_BIT[tree_byte] == -1:
            if ite.is_left():
                ite.next()
            else:
                ite.next()
                ite.parent()
            if ite.peek_right_span() >= tree_end:
                while ite.peek_right_span() >= tree_end and ite.is_parent():
                    ite.left_child()
                if ite.peek_right_span() >= tree_end:
                    return -1
            tree_byte = index.get_byte(ite.index)
        while ite.factor > 2:
            if _NEXT_INDEX_0_BIT[tree_byte] < 2:
                ite.left_child()
            else:
                ite.right_child()
            tree_byte = index.get_byte(ite.index)
        free = _NEXT_INDEX_0_BIT[tree_byte]
        if free == -1:
            free = 4
        nxt = ite.index * 2 + free
        return start + 1 if nxt <= start else nxt
