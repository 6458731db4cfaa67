"""bitfield-rle, the hypercore bitfield pages and TreeIndex.

The fast paths (``Bitfield.set_range``, the inlined index climb, ``TreeIndex.set_leaves``) are checked
against straightforward models written here from the notes (per-block ``set``, an iterator-driven
index climb, per-leaf ``TreeIndex.set``), byte for byte including the persisted index region.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from hyperparty.feeds.hypercore import flat_tree as ft
from hyperparty.feeds.hypercore import rle
from hyperparty.feeds.hypercore.bitfield import Bitfield, SparseBitfield
from hyperparty.feeds.hypercore.tree_index import TreeIndex

# -- bitfield-rle ----------------------------------------------------------------------------------------


def test_rle_known_encodings() -> None:
    assert rle.encode(b"") == b""
    assert rle.encode(bytes(100)) == b""
    assert rle.encode(b"\xe0") == bytes.fromhex("02e0")
    assert rle.encode(b"\xfc") == bytes.fromhex("02fc")
    assert rle.encode(b"\x80") == bytes.fromhex("0280")
    assert rle.encode(b"\xff") == bytes.fromhex("07")
    assert rle.encode(b"\xff\xff") == bytes.fromhex("0b")
    # 100 x 0xFF: one run, code 4*100 + 2 + 1 = 403 = varint 93 03
    assert rle.encode(b"\xff" * 100) == bytes.fromhex("9303")
    # a short zero gap stays inside the literal, a long one becomes a run
    assert rle.encode(b"\x01\x00\x01") == bytes.fromhex("06010001")
    assert rle.encode(b"\x01" + bytes(20) + b"\x01") == bytes.fromhex("0201" "51" "0201")
    assert rle.encode(b"\xff" * 8 + b"\x0f") == bytes.fromhex("23" "020f")


def test_rle_decode_and_errors() -> None:
    assert rle.decode(bytes.fromhex("02e0")) == b"\xe0"
    assert rle.decode(bytes.fromhex("02e0"), align=4) == b"\xe0\x00\x00\x00"
    assert rle.decode(bytes.fromhex("9303")) == b"\xff" * 100
    assert rle.decode(b"") == b""
    with pytest.raises(rle.RLEError, match="Invalid RLE bitfield"):
        rle.decode(bytes.fromhex("0a01"))  # literal of 5 bytes, only 1 present
    with pytest.raises(rle.RLEError):
        rle.decode(b"\x80")  # truncated varint
    with pytest.raises(rle.RLEError, match="too large"):
        rle.decode(bytes.fromhex("ffffff7f"), max_length=1 << 20)  # a run of ~67M bytes


@given(st.lists(st.sampled_from([0, 0, 0, 255, 255, 1, 0x80, 0xE0]), max_size=300))
def test_rle_roundtrip(values: list[int]) -> None:
    data = bytes(values)
    enc = rle.encode(data)
    assert rle.decode(enc) == data.rstrip(b"\x00")
    padded = rle.decode(enc, align=4)
    assert len(padded) % 4 == 0 and padded.rstrip(b"\x00") == data.rstrip(b"\x00")
    assert len(enc) <= len(data) + 3


# -- bitfield: a literal model of the JS index update ---------------------------------------------------

INDEX_UPDATE_MASK = (63, 207, 243, 252)


def model_summary(x: int) -> int:
    n = lambda v: 3 if v == 15 else 0 if v == 0 else 1  # noqa: E731
    return (n(x >> 4) << 2) | n(x & 15)


def model_set_index(bf: Bitfield, b: int, value: int) -> None:
    """_setIndex as written in the notes, driving a flat_tree.Iterator (no inlining)."""
    o = b & 3
    start = 2 * (b >> 2)
    summary = 192 if value == 255 else 0 if value == 0 else 64
    byte = (bf.index.get_byte(start) & INDEX_UPDATE_MASK[o]) | (summary >> (2 * o))
    old_len = bf.index.length
    max_len = bf.pages.length * bf.index_size
    it = ft.Iterator(start)
    while it.index < max_len and bf.index.set_byte(it.index, byte):
        left = it.is_left()
        sib = bf.index.get_byte(it.sibling())
        byte = (model_summary(byte) << 4 | model_summary(sib)) if left else (model_summary(sib) << 4 | model_summary(byte))
        it.parent()
    if bf.index.length != old_len:
        bf._expand(old_len)


def model_set(bf: Bitfield, i: int, value: bool) -> bool:
    b = i >> 3
    old = bf.data.get_byte(b)
    v = old | (0x80 >> (i & 7)) if value else old & ~(0x80 >> (i & 7)) & 0xFF
    if not bf.data.set_byte(b, v):
        return False
    bf.length = bf.data.length
    model_set_index(bf, b, v)
    return True


def all_pages(bf: Bitfield) -> bytes:
    return b"".join(bf.page_bytes(j) for j in range(bf.pages.length))


def test_single_set_matches_model_across_pages() -> None:
    rnd = random.Random(7)
    fast, model = Bitfield(), Bitfield()
    indexes = list(range(0, 70)) + [rnd.randrange(0, 40000) for _ in range(3000)] + list(range(8180, 8300))
    for i in indexes:
        v = rnd.random() < 0.9
        assert fast.set(i, v) == model_set(model, i, v)
    assert all_pages(fast) == all_pages(model)
    assert fast.pages.length == model.pages.length
    assert (fast.data.byte_length, fast.index.byte_length) == (model.data.byte_length, model.index.byte_length)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20000), st.integers(1, 3000)), min_size=1, max_size=6),
    st.lists(st.integers(0, 24000), max_size=40),
)
def test_set_range_matches_per_block_sets(ranges: list[tuple[int, int]], pre: list[int]) -> None:
    fast, model = Bitfield(), Bitfield()
    for i in pre:  # some scattered bits first
        fast.set(i, True)
        model_set(model, i, True)
    for start, n in ranges:
        changed = fast.set_range(start, start + n)
        expected = sum(model_set(model, i, True) for i in range(start, start + n))
        assert changed == expected
    assert all_pages(fast) == all_pages(model)
    assert fast.length == model.length
    assert sorted(fast.pages.take_dirty()) == sorted(model.pages.take_dirty())


def test_pages_roundtrip_and_dirty_order() -> None:
    bf = Bitfield()
    bf.set_range(0, 20000)
    dirty = bf.take_dirty_pages()
    assert [j for j, _ in dirty] == [2, 1, 0]  # highest page first
    assert bf.take_dirty_pages() == []
    loaded = Bitfield(3584, [page for _, page in sorted(dirty)])
    assert all_pages(loaded) == all_pages(bf)
    assert loaded.data.byte_length == 3 * 1024 and loaded.tree.byte_length == 3 * 2048
    assert all(loaded.get(i) for i in range(0, 20000, 997)) and not loaded.get(20000)
    assert loaded.first_missing(0, 30000) == 20000
    assert loaded.first_missing(5, 19999) == -1
    loaded.set(12345, False)
    assert loaded.first_missing(3, 20000) == 12345 and loaded.first_missing(12346, 20000) == -1
    assert Bitfield().first_missing(7, 9) == 7
    # a short last page is padded, an all-zero page counts but is not stored
    short = Bitfield(3584, [bytes(3584), b"\x80"])
    assert short.pages.length == 2 and 0 not in short.pages.pages
    assert short.get(8192) and not short.get(0)


@given(st.sets(st.integers(0, 5000), max_size=400), st.integers(0, 5200), st.integers(0, 5200))
def test_iterator_total_and_compress(bits: set[int], a: int, b: int) -> None:
    bf = Bitfield()
    for i in sorted(bits):
        bf.set(i, True)
    start, end = min(a, b), max(a, b)
    missing = [i for i in range(start, end) if i not in bits]
    ite = bf.iterator(start, end)
    got = []
    while (n := ite.next()) != -1:
        got.append(n)
    if end > start:
        assert got == missing
    assert bf.first_missing(start, end) == (missing[0] if missing else -1)
    if end:  # (end 0 means "to the end" in JS)
        assert bf.total(start, end) == sum(1 for i in bits if start <= i < end)
    data = bf.data.to_bytes()
    assert bf.compress(0, 0) == rle.encode(data)
    assert bf.compress(0, 8192) == rle.encode(data[:1024])


def test_sparse_bitfield_lengths() -> None:
    sb = SparseBitfield()
    assert sb.length == 0
    assert sb.set(10, True) and not sb.set(10, True)
    assert sb.byte_length == 2 and sb.length == 16
    assert sb.get(10) and not sb.get(11)
    assert sb.set(100000, True) and sb.last() == 100000
    assert sb.set(100000, False) and sb.last() == 10
    with pytest.raises(ValueError):
        SparseBitfield(page_size=1000)


# -- TreeIndex --------------------------------------------------------------------------------------------


def tree_with(nodes: list[int]) -> TreeIndex:
    t = TreeIndex()
    for n in nodes:
        t.set(n)
    return t


def test_tree_index_set_propagates() -> None:
    t = tree_with([0, 2])
    assert t.get(1)  # both children -> parent
    t = tree_with([0, 2, 4])
    assert not t.get(3) and not t.get(5)
    t.set(6)
    assert t.get(5) and t.get(3)
    assert not t.set(6)


def test_verified_by_and_blocks() -> None:
    t = tree_with([0, 1, 2, 4])
    assert t.verified_by(1) == 6
    assert t.verified_by(4) == 6
    assert t.verified_by(6) == 0
    assert t.blocks() == 3
    full = tree_with([2 * i for i in range(13)])
    for r in ft.full_roots(26):
        assert full.verified_by(r) == 26
    assert full.blocks() == 13
    assert TreeIndex().blocks() == 0


def test_digest_examples() -> None:
    # replica holding blocks a, b of a feed (nodes 0, 1, 2) asks for block 2 (node 4): JS sends nodes=4
    t = tree_with([0, 2])
    assert t.digest(4) == 4
    assert t.digest(0) == 1  # already has it
    assert TreeIndex().digest(4) == 0
    # holding the sibling and a trusted ancestor: nothing needed
    t = tree_with([0, 2, 4, 6])
    assert t.digest(2) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 3000), st.integers(32, 2000), st.lists(st.integers(0, 4000), max_size=30))
def test_set_leaves_matches_per_leaf_set(start: int, n: int, pre: list[int]) -> None:
    fast, model = TreeIndex(), TreeIndex()
    for p in pre:  # arbitrary earlier marks, set the JS way (keeps the parent invariant)
        fast.set(p)
        model.set(p)
    fast.set_leaves(start, start + n)
    for i in range(start, start + n):
        model.set(2 * i)
    assert fast.bitfield.to_bytes() == model.bitfield.to_bytes()
    assert fast.bitfield.byte_length == model.bitfield.byte_length


def test_proof_indexes_from_digest() -> None:
    writer = tree_with([2 * i for i in range(3)])  # a, b, c
    # empty requester: sibling path + other roots, verified by the full length
    p = writer.proof(0, digest=0)
    assert p.nodes == [2, 4] and p.verified_by == 6
    p = writer.proof(4, digest=0)
    assert p.nodes == [1] and p.verified_by == 6
    # requester with nodes 0, 1, 2 (digest 4) asking for node 4: only the signature is needed
    remote = TreeIndex()
    p = writer.proof(4, digest=4, remote_tree=remote)
    assert p.nodes == [] and p.verified_by == 6
    assert remote.get(1)
    # digest 1: value only; hash requests always include the node itself
    assert writer.proof(2, digest=1) == ([], 0)
    assert writer.proof(2, digest=1, hash=True) == ([2], 0)
    assert writer.proof(8, digest=0) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20000), st.integers(1, 9000)), max_size=6),
       st.lists(st.tuples(st.integers(0, 20100), st.integers(0, 20100)), min_size=1, max_size=20))
def test_first_missing_across_full_bytes_and_pages(runs, queries) -> None:
    """Long runs of stored blocks (0xFF bytes, whole 8192-block pages) are skipped, not misread."""
    bf = Bitfield()
    have: set[int] = set()
    for start, length in runs:
        bf.set_range(start, start + length)
        have.update(range(start, start + length))
    for a, b in queries:
        start, end = min(a, b), max(a, b)
        expected = next((i for i in range(start, end) if i not in have), -1)
        assert bf.first_missing(start, end) == expected, (start, end)


@settings(max_examples=200, deadline=None)
@given(remote=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 900)), max_size=5),
       stored=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 900)), max_size=5),
       reserved=st.sets(st.integers(0, 3200), max_size=60),
       start=st.integers(0, 3200), length=st.integers(0, 3200))
def test_first_wanted_is_the_first_block_remote_has_we_lack_and_nobody_fetches(remote, stored, reserved, start, length):
    """``wanted.first_wanted`` (a fetcher's next Request) against the definition, block by block."""
    from hyperparty.feeds.hypercore.ranges import RangeSet
    from hyperparty.feeds.hypercore.wanted import first_wanted

    has = RangeSet()
    for a, n in remote:
        has.add(a, a + n)
    bf = Bitfield()
    for a, n in stored:
        bf.set_range(a, a + n)
    res = SparseBitfield()
    for i in reserved:
        res.set(i, True)
    end = start + length
    expected = next((i for i in range(start, end) if i in has and not bf.get(i) and i not in reserved), -1)
    assert first_wanted(has, bf, res, start, end) == expected
