"""A hypothesis state machine: random put / delete / batch / get / list / checkout / reopen against a dict
model, on every storage backend.

Keys are 1-3 segments from a small alphabet (so prefixes and shared paths are common); hidden keys live in
a second model.  Segment hash collisions are left to the recorded vectors: there JS's delete has quirks
(it cannot delete the older of two colliding keys) that no dict model has.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from hyperparty import crypto
from hyperparty.feeds.hypertrie import Hypertrie
from util import Backend

SEGMENTS = st.sampled_from(["a", "b", "c", "dd", "é"])
KEYS = st.lists(SEGMENTS, min_size=1, max_size=3).map("/".join)
PREFIXES = st.lists(SEGMENTS, min_size=0, max_size=2).map("/".join)
VALUES = st.binary(max_size=12)
PK, SK = crypto.key_pair(bytes([0x41]) * 32)


def under(prefix: str, key: str) -> bool:
    return not prefix or key == prefix or key.startswith(prefix + "/")


class TrieMachine(RuleBasedStateMachine):
    kind = "memory"

    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="trie-state-"))
        self.backend = Backend(self.kind, self.tmp)
        self.model: dict[str, bytes] = {}
        self.hidden: dict[str, bytes] = {}
        self.seqs: dict[bool, dict[str, int]] = {False: {}, True: {}}  # hidden -> key -> seq of its node
        self.versions: dict[int, tuple[dict[str, bytes], dict[str, int]]] = {}
        self.trie = self.open()
        self.snapshot()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def open(self) -> Hypertrie:
        trie = Hypertrie(self.backend.open("trie"), PK, SK)
        self.run(trie.ready())
        return trie

    def snapshot(self) -> None:
        self.versions[self.trie.version] = (dict(self.model), dict(self.seqs[False]))

    def wrote(self, *entries) -> None:
        """Track the seq of every node written (a delete re-puts a neighbour: its seq changes too)."""
        for e in entries:
            if e is not None and e.key:
                self.seqs[e.hidden][e.key] = e.seq

    def teardown(self) -> None:
        if hasattr(self, "trie"):
            self.run(self.trie.close())
            self.backend.close_all()
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(key=KEYS, value=VALUES)
    def put(self, key: str, value: bytes) -> None:
        e = self.run(self.trie.put(key, value))
        assert (e.key, e.value, e.seq) == (key, value, self.trie.version - 1)
        self.wrote(e)
        self.model[key] = value
        self.snapshot()

    @rule(key=KEYS, value=VALUES)
    def put_hidden(self, key: str, value: bytes) -> None:
        self.wrote(self.run(self.trie.put(key, value, hidden=True)))
        self.hidden[key] = value
        self.snapshot()

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        before = self.trie.version
        written = self.run(self.trie.delete(key))
        if key in self.model:
            assert written is not None and self.trie.version == before + 1
            del self.model[key]
            del self.seqs[False][key]
            self.wrote(written)
            self.snapshot()
        else:
            assert written is None and self.trie.version == before  # nothing written

    @rule(key=KEYS)
    def delete_hidden(self, key: str) -> None:
        written = self.run(self.trie.delete(key, hidden=True))
        assert (written is not None) == (key in self.hidden)
        if self.hidden.pop(key, None) is not None:
            del self.seqs[True][key]
        self.wrote(written)
        self.snapshot()

    @rule(ops=st.lists(st.tuples(st.booleans(), KEYS, VALUES), max_size=6))
    def batch(self, ops) -> None:
        before = self.trie.version
        written = self.run(
            self.trie.batch([{"type": "put", "key": k, "value": v} if p else {"type": "del", "key": k} for p, k, v in ops])
        )
        appended = 0
        for p, k, v in ops:
            if p:
                self.model[k] = v
                appended += 1
            elif k in self.model:
                del self.model[k]
                del self.seqs[False][k]
                appended += 1
            else:
                continue
            self.wrote(written[appended - 1])
        assert len(written) == appended and self.trie.version == before + appended
        self.snapshot()

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        e = self.run(self.trie.get(key))
        assert (e.value if e else None) == self.model.get(key)
        h = self.run(self.trie.get(key, hidden=True))
        assert (h.value if h else None) == self.hidden.get(key)

    @rule(prefix=PREFIXES, recursive=st.booleans())
    def list(self, prefix: str, recursive: bool) -> None:
        got = self.run(self.trie.list(prefix, recursive=recursive))
        if recursive:
            assert sorted((e.key, e.value) for e in got) == sorted((k, v) for k, v in self.model.items() if under(prefix, k))
        else:  # one entry per child branch (or the prefix key itself), each really stored under the prefix
            assert all(self.model.get(e.key) == e.value and under(prefix, e.key) for e in got)
            depth = len(prefix.split("/")) if prefix else 0
            children = {tuple(k.split("/")[: depth + 1]) for k in self.model if under(prefix, k)}
            assert len(got) == len(children)

    @precondition(lambda self: len(self.versions) > 1)
    @rule(data=st.data())
    def checkout(self, data) -> None:
        version = data.draw(st.sampled_from(sorted(self.versions)))
        co = self.trie.checkout(version)
        model, seqs = self.versions[version]
        assert co.version == version
        got = self.run(co.list())
        assert sorted((e.key, e.value) for e in got) == sorted(model.items())
        key = data.draw(KEYS)
        e = self.run(co.get(key))
        assert (e.value if e else None) == model.get(key)
        # the diff names every key whose node differs (a delete's re-put neighbour too), with both sides
        now = self.seqs[False]
        diff = self.run(_collect(self.trie.diff(version)))
        assert {d.key for d in diff} == {k for k in set(seqs) | set(now) if seqs.get(k) != now.get(k)}
        for d in diff:
            assert (d.left.value if d.left else None) == self.model.get(d.key)
            assert (d.right.value if d.right else None) == model.get(d.key)

    @rule()
    def reopen(self) -> None:
        self.run(self.trie.close())
        self.backend.close_all()
        self.trie = self.open()

    @invariant()
    def version_is_length(self) -> None:
        if hasattr(self, "trie"):
            assert self.trie.version == self.trie.core.length


async def _collect(it):
    return [x async for x in it]


@pytest.mark.parametrize("kind", ["memory", "file", "lmdb"])
def test_trie_state_machine(kind: str) -> None:
    machine = type(f"TrieMachine_{kind}", (TrieMachine,), {"kind": kind})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=40 if kind == "memory" else 15,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
