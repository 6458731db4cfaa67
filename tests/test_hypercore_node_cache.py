"""The tree-node cache (feeds/hypercore/node_cache.py): bounded, keeps recently used nodes, and keeps its
nodes and dicts out of the cyclic garbage collector's walk when that is safe."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperparty.feeds.hypercore.node_cache import NodeCache
from hyperparty.protocol.messages import Node
from hyperparty import untrack as untrack_module
from hyperparty.untrack import AVAILABLE


def node(i: int) -> Node:
    return Node(i, bytes([i % 256]) * 32, i)


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 16), ops=st.lists(st.tuples(st.booleans(), st.integers(0, 40)), max_size=200))
def test_bounded_and_recently_used_nodes_stay(size, ops):
    cache = NodeCache(size)
    recent: list[int] = []  # indexes in order of last use (put or hit)
    for is_put, i in ops:
        if is_put:
            cache.put(node(i))
            recent = [j for j in recent if j != i] + [i]
        else:
            got = cache.get(i)
            if got is not None:
                assert got == node(i)  # never a wrong node
                recent = [j for j in recent if j != i] + [i]
        assert len(cache) <= size
        assert set(cache) <= set(recent)
        for j in recent[-max(1, size // 2):]:  # the last size/2 distinct indexes used are always cached
            assert j in cache, (j, recent)


def test_replaces_pops_and_clears():
    cache = NodeCache(8)
    cache.put(node(1))
    cache.put(Node(1, b"\x07" * 32, 99))
    assert cache.get(1) == Node(1, b"\x07" * 32, 99) and len(cache) == 1
    cache.pop(1)
    assert cache.get(1) is None and 1 not in cache
    for i in range(6):
        cache.put(node(i))
    cache.clear()
    assert len(cache) == 0 and cache.get(3) is None


@pytest.mark.skipif(not AVAILABLE, reason="the C API is not reachable on this interpreter")
def test_nodes_and_generations_are_untracked_when_safe():
    cache = NodeCache(400)  # 300 puts: 200 in the old generation, 100 in the young one
    nodes = [node(i) for i in range(300)]
    for n in nodes:
        cache.put(n)
    assert not any(gc.is_tracked(n) for n in nodes)
    assert len(cache.old) == 200 and not gc.is_tracked(cache.old)
    assert not gc.is_tracked(cache.young)  # storing a NamedTuple tracks a dict again: untracked each time
    # a node the cache did not make safe (a bytes subclass could reference anything) keeps its dict visible
    class Weird(bytes):
        pass

    odd = Node(5000, Weird(b"\x01" * 32), 1)
    cache.put(odd)
    assert gc.is_tracked(odd) and gc.is_tracked(cache.young)
    cache.put(node(5001))  # later safe nodes do not hide it from the collector
    assert gc.is_tracked(cache.young)
    assert cache.get(5000) is odd


@pytest.mark.skipif(not AVAILABLE, reason="the C API is not reachable on this interpreter")
def test_a_cycle_through_an_unsafe_node_is_still_collected():
    class Holder(bytes):
        pass

    cache = NodeCache(64)
    h = Holder(b"\x02" * 32)
    n = Node(1, h, 1)
    h.back = n  # a cycle: node -> hash -> node
    cache.put(n)
    cache.clear()
    del n, h
    before = gc.collect()
    assert before >= 1  # the cycle was visible, hence collected


def _untrack_implementations() -> list:
    impls = [pytest.param(untrack_module._load_ctypes(), id="ctypes")]
    try:
        from hyperparty._gc import untrack as untrack_c
    except ImportError:
        untrack_c = None
    impls.append(pytest.param(untrack_c, id="extension"))
    return impls


@pytest.mark.parametrize("untrack", _untrack_implementations())
def test_untrack_takes_tracked_containers_out_and_leaves_anything_else_alone(untrack):
    if untrack is None:
        pytest.skip("not available here (the extension is built by `make setup`; ctypes needs CPython)")
    n = node(7)
    d = {1: n}
    assert gc.is_tracked(n) and gc.is_tracked(d)
    untrack(n)
    untrack(d)
    untrack(n)  # twice: still fine
    assert not gc.is_tracked(n) and not gc.is_tracked(d)
    for atom in (b"bytes", 12345, "text", None, 1.5):  # not containers: calling the C API on them would crash
        untrack(atom)
    assert d[1] is n and n == node(7)  # nothing else changes


def test_the_package_uses_the_extension_when_it_was_built():
    built = list(Path(untrack_module.__file__).parent.glob("_gc.*"))
    expected = "extension" if any(p.suffix in (".so", ".pyd") for p in built) else untrack_module.IMPLEMENTATION
    assert untrack_module.IMPLEMENTATION == expected


def test_a_node_read_from_the_tree_file_is_cached_untracked():
    from hyperparty.feeds.hypercore.format import HEADER_SIZE, TreeFile, encode_node
    from hyperparty.storage import MemoryStorage

    file = MemoryStorage().open("tree")
    tree = TreeFile(file, cache_size=8)
    file.write(HEADER_SIZE + 40 * 3, encode_node(b"\x05" * 32, 77))
    got = tree.get(3)
    assert got == Node(3, b"\x05" * 32, 77) and type(got) is Node and 3 in tree.cache
    assert tree.get(3) is got
    if AVAILABLE:
        assert not gc.is_tracked(got) and not gc.is_tracked(tree.cache.young)
