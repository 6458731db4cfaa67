"""A sparse growable byte buffer made of fixed-size pages: the bytes behind one in-memory file.

random-access-memory (the JS memory storage) keeps a file as pages of 1 MiB allocated on first write, so
a write far past the end costs one page, not the whole gap.  :class:`PagedBuffer` does the same: page ``p``
holds bytes ``[p * PAGE_SIZE, (p + 1) * PAGE_SIZE)``.  While the file fits in its first page, that page is
a ``bytearray`` only as long as its last written byte (small files stay small); once the file is longer,
its pages are allocated whole, as random-access-memory does (a page grown by each write past its end was
reallocated and copied again and again when a replica's blocks arrived out of order).  A missing page,
or the part of a page past its bytearray, reads as zeros.  ``len()`` is the file's logical size, which
may end inside a hole.

Why not one ``bytearray``: a replica that receives the last block of a 1 GiB feed first would zero-fill
and touch 1 GiB in a single synchronous call, freezing the event loop for seconds (long enough for a JS
peer's 5 s keep-alive timeout to drop the connection), and a signed feed claiming a huge byte length
could make it allocate more than the machine has.

The buffer compares equal to ``bytes``/``bytearray`` of the same content and ``bytes(buf)`` gives the whole
content, so tests can look at a :class:`~hyperparty.storage.MemoryStorage` dictionary as before.
"""

from __future__ import annotations

from typing import Union

__all__ = ["PagedBuffer", "PAGE_SIZE"]

PAGE_SHIFT = 20
PAGE_SIZE = 1 << PAGE_SHIFT  # random-access-memory's default page size
_MASK = PAGE_SIZE - 1
# zeros to extend a page from: a slice of this view is copied without allocating a temporary (a fresh
# ``bytes(n)`` of more than 128 KiB is a new mapping the kernel must fault in, then unmap)
_ZEROS = memoryview(bytes(PAGE_SIZE))

BytesLike = Union[bytes, bytearray, memoryview]


class PagedBuffer:
    """Sparse bytes: pages of :data:`PAGE_SIZE` allocated on first write; holes read as zeros."""

    __slots__ = ("pages", "length")

    def __init__(self, data: BytesLike = b"") -> None:
        self.pages: dict[int, bytearray] = {}
        self.length = 0
        if len(data):
            self.write(0, data)

    # -- the file operations (offsets are checked by the caller) -------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (zeros where nothing was written; the caller checks the range)."""
        o = offset & _MASK
        if o + length <= PAGE_SIZE:  # within one page: the common case
            page = self.pages.get(offset >> PAGE_SHIFT)
            if page is None:
                return bytes(length)
            chunk = page[o : o + length]
            if len(chunk) < length:
                chunk += bytes(length - len(chunk))
            return bytes(chunk)
        out = bytearray()
        pages = self.pages
        end = offset + length
        while offset < end:
            o = offset & _MASK
            n = min(PAGE_SIZE - o, end - offset)
            page = pages.get(offset >> PAGE_SHIFT)
            have = 0
            if page is not None:
                chunk = page[o : o + n]
                out += chunk
                have = len(chunk)
            if have < n:
                out += bytes(n - have)
            offset += n
        return bytes(out)

    def write(self, offset: int, data: BytesLike) -> None:
        """Overwrite ``[offset, offset + len(data))``, growing the logical size as needed."""
        n = len(data)
        end = offset + n
        if end > self.length:
            self.length = end
        if not n:
            return
        o = offset & _MASK
        if o + n <= PAGE_SIZE:  # within one page: the common case
            self._page_at(offset >> PAGE_SHIFT, o)[o : o + n] = data
            return
        view = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else memoryview(data)
        pos = 0
        while pos < n:
            o = offset & _MASK
            k = min(PAGE_SIZE - o, n - pos)
            self._page_at(offset >> PAGE_SHIFT, o)[o : o + k] = view[pos : pos + k]
            pos += k
            offset += k

    def _page_at(self, p: int, o: int) -> bytearray:
        """Page ``p``, created or zero-extended so that it reaches byte ``o`` (a write starts there): to
        ``o`` while the file fits in one page, else whole (``length`` already counts the write)."""
        page = self.pages.get(p)
        if page is None:
            page = self.pages[p] = bytearray(PAGE_SIZE if self.length > PAGE_SIZE else o)
        elif len(page) < o:
            page += _ZEROS[: (PAGE_SIZE if self.length > PAGE_SIZE else o) - len(page)]
        return page

    def zero(self, offset: int, length: int) -> None:
        """Zero ``[offset, offset + length)`` inside the buffer (its size does not change)."""
        end = min(offset + length, self.length)
        pages = self.pages
        while offset < end:
            o = offset & _MASK
            k = min(PAGE_SIZE - o, end - offset)
            p = offset >> PAGE_SHIFT
            page = pages.get(p)
            if page is not None:
                if o == 0 and k >= len(page):
                    del pages[p]
                elif o < len(page):
                    stop = min(o + k, len(page))
                    page[o:stop] = _ZEROS[: stop - o]
            offset += k

    def truncate(self, length: int) -> None:
        """Shrink to ``length`` bytes (dropping pages past it), or grow with zeros (no page is allocated)."""
        if length < self.length:
            last = (length - 1) >> PAGE_SHIFT if length else -1
            for p in [p for p in self.pages if p > last]:
                del self.pages[p]
            o = length & _MASK
            page = self.pages.get(last)
            if page is not None and o and len(page) > o:
                del page[o:]
        self.length = length

    def copy(self) -> "PagedBuffer":
        other = PagedBuffer()
        other.pages = {p: bytearray(page) for p, page in self.pages.items()}
        other.length = self.length
        return other

    # -- looking at it as bytes --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.length

    def __bytes__(self) -> bytes:
        return self.read(0, self.length)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PagedBuffer):
            return self.length == other.length and bytes(self) == bytes(other)
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.length == len(other) and bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"<PagedBuffer {self.length} bytes in {len(self.pages)} pages>"
