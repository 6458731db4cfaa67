"""flat-tree index math: spec examples, an independent brute-force model, and the iterator."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from hyperparty.feeds.hypercore import flat_tree as ft


# -- an independent model: build the tree explicitly from (depth, offset) pairs ----------------------


def model_index(d: int, o: int) -> int:
    return (2 * o + 1) * 2**d - 1


def model_depth(i: int) -> int:
    d = 0
    while (i >> d) & 1:
        d += 1
    return d


def model_leaves(i: int) -> list[int]:
    """Leaf indexes below node i, by walking children recursively."""
    d = model_depth(i)
    if d == 0:
        return [i]
    o = (i + 1) // 2**d // 2
    left = model_index(d - 1, 2 * o)
    right = model_index(d - 1, 2 * o + 1)
    return model_leaves(left) + model_leaves(right)


def test_spec_examples() -> None:
    assert ft.full_roots(0) == []
    assert ft.full_roots(2) == [0]
    assert ft.full_roots(6) == [1, 4]
    assert ft.full_roots(12) == [3, 9]
    assert ft.full_roots(14) == [3, 9, 12]
    assert ft.full_roots(16) == [7]
    with pytest.raises(ValueError, match="depth\\(0\\)"):
        ft.full_roots(3)
    # the picture in the notes (8 blocks)
    assert ft.parent(0) == 1 and ft.parent(2) == 1 and ft.parent(1) == 3 and ft.parent(5) == 3
    assert ft.parent(3) == 7 and ft.parent(11) == 7 and ft.parent(13) == 11
    assert ft.sibling(0) == 2 and ft.sibling(2) == 0 and ft.sibling(3) == 11 and ft.sibling(9) == 13
    assert ft.children(7) == (3, 11) and ft.children(4) is None
    assert ft.left_child(0) == -1 and ft.right_child(0) == -1
    assert ft.spans(7) == (0, 14) and ft.spans(9) == (8, 10) and ft.spans(4) == (4, 4)
    assert ft.count(7) == 15 and ft.count(4) == 1
    assert ft.depth(7) == 3 and ft.offset(11) == 1 and ft.index(3, 1) == 23


@given(st.integers(min_value=0, max_value=2**20))
def test_functions_match_model(i: int) -> None:
    d = model_depth(i)
    o = (i + 1) // 2**d // 2
    assert ft.depth(i) == d
    assert ft.offset(i) == o
    assert ft.index(d, o) == i
    assert ft.parent(i) == model_index(d + 1, o // 2)
    assert ft.sibling(i) == model_index(d, o ^ 1)
    leaves = model_leaves(i) if d < 12 else None
    if leaves is not None:
        assert ft.left_span(i) == leaves[0]
        assert ft.right_span(i) == leaves[-1]
        assert ft.count(i) == 2 * len(leaves) - 1
    if d:
        assert ft.children(i) == (model_index(d - 1, 2 * o), model_index(d - 1, 2 * o + 1))
    # parent/child round trip
    p = ft.parent(i)
    assert i in ft.children(p)


@given(st.integers(min_value=0, max_value=2**40))
def test_full_roots_cover_prefix(n: int) -> None:
    roots = ft.full_roots(2 * n)
    covered = 0
    for r in roots:
        assert ft.left_span(r) == 2 * covered  # contiguous, ascending
        covered = ft.right_span(r) // 2 + 1
    assert covered == n
    # each root is a maximal complete subtree: its parent reaches past the prefix
    for r in roots:
        assert ft.right_span(ft.parent(r)) >= 2 * n


def test_large_indexes_are_exact() -> None:
    big = 2**70 + 2**65 - 1  # depth 65
    assert ft.depth(big) == 65
    assert ft.parent(ft.left_child(big)) == big
    assert ft.full_roots(2**61) == [2**60 - 1]


@given(st.integers(min_value=0, max_value=2**16), st.lists(st.sampled_from("np sLRlr"), max_size=30))
def test_iterator_matches_functions(start: int, moves: list[str]) -> None:
    it = ft.Iterator(start)
    i = start
    for m in moves:
        d = ft.depth(i)
        if m == "n":
            i = ft.index(d, ft.offset(i) + 1)
            assert it.next() == i
        elif m == "p":
            if ft.offset(i) > 0:
                i = ft.index(d, ft.offset(i) - 1)
            assert it.prev() == i
        elif m == "s":
            i = ft.sibling(i)
            assert it.sibling() == i
        elif m == " ":
            i = ft.parent(i)
            assert it.parent() == i
        elif m == "L":
            if d:
                i = ft.left_child(i)
            assert it.left_child() == i
        elif m == "R":
            if d:
                i = ft.right_child(i)
            assert it.right_child() == i
        elif m == "l":
            assert it.peek_left_span() == ft.left_span(i)
        elif m == "r":
            assert it.peek_right_span() == ft.right_span(i)
        assert it.index == i
        assert it.offset == ft.offset(i)
        assert it.factor == 2 ** (ft.depth(i) + 1)
        assert it.is_left() == (ft.offset(i) % 2 == 0)
