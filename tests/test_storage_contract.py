"""The storage contract (storage/base.py), checked on every backend: memory, file and LMDB.

``StorageContract`` is a mixin (dulwich's ObjectStoreTests habit): each backend class only says how to
make (and reopen) its storage.  ``StorageMachine`` is a hypothesis state machine that drives random
writes, batched writes, reads, deletes, truncates, transactions and reopens against a plain ``bytearray``
model, once per backend.  LMDB-specific checks (shared environments, atomic transactions, threads,
sparse files, the page layout) follow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import lmdb
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hyperparty.storage import (
    FileStorage,
    LmdbStorage,
    MemoryStorage,
    OutOfRangeError,
    Storage,
    StorageClosedError,
    StorageError,
    open_storage,
)
from hyperparty.storage import lmdb_storage, paged
from hyperparty.storage.lmdb_storage import FORMAT_KEY, LMDB_PAGE_HEADER

PAGE = 4096  # offsets below straddle 4 KiB and LMDB's 4080-byte pages alike


class StorageContract:
    """Mixin: subclasses define ``new(path)`` (a storage on ``path``; the same path reopens it)."""

    @pytest.fixture
    def make(self, tmp_path):
        made: list[Storage] = []

        def make(name: str = "s") -> Storage:
            storage = self.new(tmp_path / name)
            made.append(storage)
            return storage

        yield make
        for s in made:
            s.close()

    def new(self, path) -> Storage:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_new_file_is_empty_and_absent(self, make):
        s = make()
        f = s.open("tree")
        assert f.size() == 0 and not s.exists("tree")
        assert f.read(0, 0) == b"" and f.read_all() == b""
        with pytest.raises(OutOfRangeError):
            f.read(0, 1)
        with pytest.raises(OutOfRangeError):
            f.read(1, 0)
        f.delete(0, 10)  # nothing to delete: still absent
        assert not s.exists("tree")

    def test_truncate_and_empty_write_create_the_file(self, make):
        s = make()
        s.open("a").truncate(0)
        assert s.exists("a") and s.open("a").size() == 0
        s.open("b").write(0, b"")
        assert s.exists("b")
        s.open("c").write(7, b"")
        assert s.open("c").size() == 7 and s.open("c").read(0, 7) == bytes(7)

    def test_write_read_overwrite(self, make):
        s = make()
        f = s.open("data")
        f.write(0, b"hello world")
        assert s.exists("data") and f.size() == 11
        f.write(6, b"WORLD!")
        assert f.read(0, 12) == b"hello WORLD!"
        assert f.read(3, 4) == b"lo W"
        assert f.read(12, 0) == b""
        with pytest.raises(OutOfRangeError):
            f.read(10, 3)
        with pytest.raises(OutOfRangeError):
            f.read(13, 0)

    def test_accepts_bytes_like_data(self, make):
        f = make().open("data")
        f.write(0, bytearray(b"abc"))
        f.write(3, memoryview(b"defg")[1:3])
        f.write_many(5, [bytearray(b"h"), memoryview(b"ij")])
        assert f.read_all() == b"abcefhij"
        assert type(f.read(0, 2)) is bytes

    def test_write_past_end_leaves_zero_hole(self, make):
        f = make().open("bitfield")
        f.write(10000, b"x")
        assert f.size() == 10001
        assert f.read(0, 10001) == bytes(10000) + b"x"
        assert f.read(9000, 10) == bytes(10)

    def test_large_write_spanning_pages(self, make):
        f = make().open("data")
        blob = os.urandom(7 * PAGE + 123)
        f.write(5, blob)
        assert f.read(5, len(blob)) == blob
        assert f.read(0, 5) == bytes(5)
        f.write(PAGE - 3, b"overwrite across a page boundary")
        expect = bytearray(bytes(5) + blob)
        expect[PAGE - 3 : PAGE - 3 + 32] = b"overwrite across a page boundary"
        assert f.read_all() == expect

    def test_write_many_equals_one_joined_write(self, make):
        s = make()
        chunks = [os.urandom(n) for n in (1, 4079, 4080, 4081, 17, 0, 8192, 3, 12000, 1)]
        a, b = s.open("a"), s.open("b")
        for f in (a, b):
            f.write(0, b"z" * 20000)
        a.write_many(4075, chunks)
        b.write(4075, b"".join(chunks))
        assert a.size() == b.size() and a.read_all() == b.read_all()
        a.write_many(a.size() + 100, [b"tail", b"!"])
        assert a.read(a.size() - 105, 105) == bytes(100) + b"tail!"
        a.write_many(3, [])
        assert a.read(0, 4) == b"zzzz"

    def test_writes_around_page_edges(self, make):
        """Every write position relative to the stored bytes around the 4080/4096-byte page edges."""
        s = make()
        edges = [0, 1, 2, 4078, 4079, 4080, 4081, 4094, 4095, 4096, 4097, 8160, 8161]
        k = 0
        for length in (0, 3, 4080, 4081, 4096, 8159):
            base = bytes((i * 7 + 1) % 251 for i in range(length))
            for offset in edges:
                for n in (1, 2, 3, 4080 - offset % 4080, 4096 - offset % 4096 + 1):
                    data = bytes((offset + i) % 253 for i in range(n))
                    f = s.open(f"f{k}")
                    k += 1
                    f.write(0, base)
                    f.write(offset, data)
                    model = bytearray(base)
                    model.extend(bytes(max(0, offset - length)))
                    model[offset : offset + n] = data
                    assert f.read_all() == model, (length, offset, n)
                    f.close()

    def test_truncate_shrink_and_grow(self, make):
        f = make().open("signatures")
        f.write(0, b"abcdefghij" * 1000)
        f.truncate(4097)
        assert f.size() == 4097 and f.read(4090, 7) == (b"abcdefghij" * 1000)[4090:4097]
        f.truncate(10000)  # growing again must not bring the old bytes back
        assert f.read(4097, 5903) == bytes(5903)
        f.truncate(0)
        assert f.size() == 0
        f.truncate(3)
        assert f.read_all() == bytes(3)

    def test_delete_middle_zeroes_and_tail_truncates(self, make):
        f = make().open("data")
        f.write(0, b"x" * 20000)
        f.delete(10, 9000)
        assert f.size() == 20000
        assert f.read(0, 20000) == b"x" * 10 + bytes(9000) + b"x" * 10990
        f.delete(5000, 10**6)
        assert f.size() == 5000
        f.delete(6000, 10)  # past the end: nothing happens
        f.delete(100, 0)
        assert f.size() == 5000 and f.read(0, 10) == b"x" * 10
        f.delete(4990, 10)  # reaching the end exactly truncates
        assert f.size() == 4990
        f.truncate(5000)
        assert f.read(4990, 10) == bytes(10)

    def test_negative_arguments_rejected(self, make):
        s = make()
        f = s.open("x")
        for call in (lambda: f.read(-1, 1), lambda: f.read(0, -1), lambda: f.write(-1, b"a"),
                     lambda: f.write_many(-1, [b"a", b"b"]), lambda: f.delete(-1, 1), lambda: f.truncate(-1)):
            with pytest.raises(ValueError):
                call()
        assert not s.exists("x")

    def test_two_handles_share_the_file(self, make):
        s = make()
        a, b = s.open("tree"), s.open("tree")
        a.write(0, b"one")
        assert b.read(0, 3) == b"one"
        b.truncate(1)
        assert a.size() == 1
        a.close()
        assert b.read_all() == b"o"

    def test_sub_namespaces_are_isolated(self, make):
        s = make()
        a, b = s.sub("0"), s.sub("1")
        a.open("key").write(0, b"A" * 32)
        b.open("key").write(0, b"B" * 32)
        a.sub("x").open("key").write(0, b"C")
        assert a.open("key").read(0, 32) == b"A" * 32
        assert b.open("key").read(0, 32) == b"B" * 32
        assert s.sub("0/x").open("key").read_all() == b"C"
        assert not s.exists("key") and s.sub("0").exists("key") and not s.sub("2").exists("key")
        assert s.exists("0/key") and s.open("1/key").read(0, 1) == b"B"

    def test_invalid_names_rejected(self, make):
        s = make()
        for bad in ("", "/", "../x", "a//b", "a/./b", "a\0b", ".."):
            with pytest.raises(ValueError):
                s.open(bad)
            with pytest.raises(ValueError):
                s.exists(bad)
        for bad in ("..", "a/../b", "x\0"):
            with pytest.raises(ValueError):
                s.sub(bad)
        with pytest.raises(TypeError):
            s.open(b"tree")  # type: ignore[arg-type]

    def test_closed_storage_and_file_refuse_use(self, make):
        s = make()
        f = s.open("tree")
        f.write(0, b"1")
        sub = s.sub("0")
        g = sub.open("data")
        s.close()
        for call in (lambda: f.read(0, 1), lambda: f.write(0, b"2"), lambda: f.size(), lambda: g.size(),
                     lambda: s.open("tree"), lambda: s.exists("tree"), lambda: s.sub("1"), lambda: sub.open("x")):
            with pytest.raises(StorageClosedError):
                call()
        with pytest.raises(StorageClosedError):
            with s.transaction():
                pass
        s.close()  # twice is harmless
        f.close()

    def test_closing_a_sub_closes_only_its_files(self, make):
        s = make()
        top = s.open("top")
        sub = s.sub("0")
        inner = sub.open("data")
        sub.close()
        with pytest.raises(StorageClosedError):
            inner.write(0, b"x")
        with pytest.raises(StorageClosedError):
            sub.open("data")
        top.write(0, b"still open")
        assert s.sub("0").open("data").size() == 0

    def test_closed_file_refuses_use(self, make):
        f = make().open("data")
        f.write(0, b"abc")
        f.close()
        f.close()
        for call in (lambda: f.read(0, 1), lambda: f.write(0, b"x"), lambda: f.truncate(0), lambda: f.delete(0, 1),
                     lambda: f.size(), lambda: f.flush()):
            with pytest.raises(StorageClosedError):
                call()

    def test_transaction_groups_writes(self, make):
        s = make()
        f = s.open("data")
        g = s.sub("1").open("tree")
        with s.transaction():
            f.write(0, b"ab")
            with s.sub("1").transaction():  # nested, from another namespace: joins
                f.write(2, b"cd")
                g.write(0, b"t")
            assert f.read(0, 4) == b"abcd" and g.size() == 1  # reads see the pending writes
            f.truncate(3)
            assert f.size() == 3
        assert f.read_all() == b"abc" and g.read_all() == b"t"

    def test_exception_leaves_the_transaction(self, make):
        s = make()
        f = s.open("data")
        with pytest.raises(KeyError):
            with s.transaction():
                f.write(0, b"x")
                raise KeyError("boom")
        f.write(0, b"after")  # the storage is usable again, outside any transaction
        assert f.read_all() == b"after"

    def test_flush_and_description(self, make):
        s = make()
        f = s.open("data")
        f.flush()  # nothing written yet
        f.write(0, b"durable")
        f.flush()
        assert isinstance(s.description, str) and s.description
        assert s.sub("7").description != s.description

    def test_reopen_persists(self, tmp_path):
        s = self.new(tmp_path / "p")
        s.sub("0").open("tree").write(100, b"node")
        s.open("empty").truncate(0)
        s.close()
        s2 = self.new(tmp_path / "p")
        try:
            f = s2.sub("0").open("tree")
            assert f.size() == 104 and f.read(100, 4) == b"node" and f.read(0, 100) == bytes(100)
            assert s2.exists("empty") and not s2.exists("tree")
        finally:
            s2.close()


class TestMemoryStorage(StorageContract):
    def new(self, path):
        """A memory storage on the files dict kept for ``path``: the same path "reopens" it."""
        dicts = self.__dict__.setdefault("_dicts", {})
        return MemoryStorage(dicts.setdefault(str(path), {}))

    def test_shared_dict_reopens(self):
        files: dict = {}
        MemoryStorage(files).sub("a").open("key").write(0, b"k")
        assert MemoryStorage(files).sub("a").open("key").read_all() == b"k"
        assert list(files) == ["a/key"]

    def test_sparse_files_cost_only_their_pages(self):
        """Like random-access-memory: a write far past the end allocates one page, not the gap."""
        files: dict = {}
        f = MemoryStorage(files).open("data")
        f.write(1 << 40, b"far")
        assert f.size() == (1 << 40) + 3 and f.read((1 << 40) - 2, 5) == b"\0\0far"
        buf = files["data"]
        assert len(buf.pages) == 1 and sum(map(len, buf.pages.values())) <= paged.PAGE_SIZE
        f.delete(5, 1 << 39)
        f.truncate(1 << 41)
        assert len(buf.pages) == 1 and f.read((1 << 40) + 1, 2) == b"ar"
        f.truncate(10)
        assert f.read_all() == bytes(10) and not buf.pages

    def test_bytes_values_are_taken_as_files(self):
        """A dict of plain bytes (e.g. files copied from disk) opens as those files; buffers compare equal
        to the bytes they hold."""
        files: dict = {"key": b"k" * 32, "data": bytearray(b"abc")}
        s = MemoryStorage(files)
        assert s.open("key").read_all() == b"k" * 32
        s.open("data").write(3, b"def")
        assert files["data"] == b"abcdef" and bytes(files["data"]) == b"abcdef" and len(files["data"]) == 6


class TestFileStorage(StorageContract):
    def new(self, path):
        return FileStorage(path)

    def test_layout_is_plain_files(self, tmp_path):
        s = FileStorage(tmp_path)
        s.sub("0").open("key").write(0, b"k" * 32)
        s.open("data").write(3, b"d")
        s.close()
        assert (tmp_path / "0" / "key").read_bytes() == b"k" * 32
        assert (tmp_path / "data").read_bytes() == b"\0\0\0d"

    def test_not_a_directory(self, tmp_path):
        (tmp_path / "plain").write_bytes(b"")
        with pytest.raises(StorageError):
            FileStorage(tmp_path / "plain")


class TestLmdbStorage(StorageContract):
    def new(self, path):
        return LmdbStorage(path)

    def test_many_feeds_share_one_environment(self, tmp_path):
        a, b = LmdbStorage(tmp_path), LmdbStorage(str(tmp_path) + "/")
        try:
            a.sub("0").open("data").write(0, b"a")
            assert b.sub("0").open("data").read(0, 1) == b"a"
            assert a._env is b._env and a.sub("9")._env is a._env
            a.close()
            b.sub("1").open("data").write(0, b"b")  # still open: b holds a reference
        finally:
            a.close()
            b.close()
        assert os.path.realpath(tmp_path) not in lmdb_storage._ENVS
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data.mdb", "lock.mdb"]
        c = LmdbStorage(tmp_path)
        try:
            assert c.open("0/data").read_all() == b"a" and c.open("1/data").read_all() == b"b"
        finally:
            c.close()

    def test_failed_transaction_leaves_nothing(self, tmp_path):
        s = LmdbStorage(tmp_path)
        try:
            f, g = s.open("data"), s.sub("other").open("tree")
            f.write(0, b"keep")
            with pytest.raises(RuntimeError):
                with s.transaction():
                    f.write(0, b"LOST" * PAGE)
                    f.truncate(2)
                    g.write(0, b"lost too")
                    with s.transaction():
                        f.write(10, b"inner")
                    raise RuntimeError("crash inside the batch")
            assert f.size() == 4 and f.read(0, 4) == b"keep"
            assert g.size() == 0 and not s.sub("other").exists("tree")
        finally:
            s.close()

    def test_transaction_spans_storages_on_one_environment(self, tmp_path):
        a, b = LmdbStorage(tmp_path), LmdbStorage(tmp_path)
        try:
            with pytest.raises(RuntimeError):
                with a.transaction():
                    a.open("x").write(0, b"1")
                    b.open("y").write(0, b"2")  # another root on the same env joins the transaction
                    raise RuntimeError
            assert not a.exists("x") and not b.exists("y")
        finally:
            a.close()
            b.close()

    def test_other_threads_see_committed_state_and_wait_to_write(self, tmp_path):
        s = LmdbStorage(tmp_path)
        f = s.open("data")
        f.write(0, b"old")
        seen: list = []
        writer = threading.Thread(target=lambda: f.write(0, b"thread"))
        try:
            with s.transaction():
                f.write(0, b"new")
                reader = threading.Thread(target=lambda: seen.append((f.read(0, 3), s.exists("late"))))
                reader.start()
                reader.join(5)
                writer.start()
                time.sleep(0.05)
                assert writer.is_alive()  # waiting for LMDB's writer lock
                s.open("late").write(0, b"l")
            writer.join(5)
            assert not writer.is_alive()
            assert seen == [(b"old", False)]
            assert f.read_all() == b"thread"  # the thread's write landed after the commit
        finally:
            s.close()

    def test_close_inside_a_transaction_commits_at_its_end(self, tmp_path):
        s = LmdbStorage(tmp_path)
        with s.transaction():
            s.open("data").write(0, b"written before close")
            s.close()
            with pytest.raises(StorageClosedError):
                s.open("data")
        s2 = LmdbStorage(tmp_path)
        try:
            assert s2.open("data").read_all() == b"written before close"
        finally:
            s2.close()

    def test_sparse_files_cost_only_their_pages(self, tmp_path):
        s = LmdbStorage(tmp_path)
        try:
            f = s.open("data")
            f.write(1 << 40, b"far")
            assert f.size() == (1 << 40) + 3 and f.read((1 << 40) - 2, 5) == b"\0\0far"
            f.delete(5, 1 << 39)
            f.truncate(1 << 41)
            f.truncate(10)
            assert f.read_all() == bytes(10)
            with s._env.env.begin() as txn:
                assert txn.stat()["entries"] == 2  # the format record and the size record
        finally:
            s.close()

    def test_page_layout(self, tmp_path):
        s = LmdbStorage(tmp_path)
        try:
            ps = s.page_size
            assert ps == s._env.env.stat()["psize"] - LMDB_PAGE_HEADER
            blob = os.urandom(4 << 20)
            f = s.open("data")
            f.write_many(0, [blob[i : i + 1000] for i in range(0, len(blob), 1000)])
            with s._env.env.begin() as txn:
                pages = [(k, v) for k, v in txn.cursor() if k.startswith(b"pdata\0")]
            assert len(pages) == -(-len(blob) // ps)
            assert all(len(v) == ps for _, v in pages[:-1]) and len(pages[-1][1]) == len(blob) % ps
            assert [int.from_bytes(k[-8:], "big") for k, _ in pages] == list(range(len(pages)))
            assert f.read_all() == blob
            s._env.env.sync(True)
            # one LMDB page per stored page: the environment is not much larger than the data
            assert os.path.getsize(tmp_path / "data.mdb") < 1.1 * len(blob) + (1 << 20)
        finally:
            s.close()

    def test_refuses_a_foreign_environment(self, tmp_path):
        env = lmdb.open(str(tmp_path), map_size=1 << 20)
        with env.begin(write=True) as txn:
            txn.put(FORMAT_KEY, b"99 4080")
        env.close()
        with pytest.raises(StorageError, match="not a hyperparty"):
            LmdbStorage(tmp_path)
        assert os.path.realpath(tmp_path) not in lmdb_storage._ENVS

    def test_another_process_reads_committed_data(self, tmp_path):
        s = LmdbStorage(tmp_path)
        try:
            s.sub("feed").open("key").write(0, b"from the parent")
            code = ("import sys; from hyperparty.storage import open_storage; "
                    "s = open_storage(sys.argv[1]); sys.stdout.write(s.open('feed/key').read_all().decode()); "
                    "s.open('child').write(0, b'c'); s.close()")
            out = subprocess.run([sys.executable, "-c", code, f"lmdb:{tmp_path}"], capture_output=True,
                                 text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            assert out.stdout == "from the parent"
            assert s.open("child").read_all() == b"c"  # and the parent sees the child's commit
        finally:
            s.close()


def test_open_storage_specs(tmp_path):
    assert isinstance(open_storage("memory"), MemoryStorage)
    f = open_storage(f"file:{tmp_path / 'f'}")
    l = open_storage(f"lmdb:{tmp_path / 'l'}")
    try:
        assert isinstance(f, FileStorage) and isinstance(l, LmdbStorage)
        assert open_storage(f) is f and open_storage(l) is l
        assert f.directory == str(tmp_path / "f") and l.description == f"lmdb:{tmp_path / 'l'}"
    finally:
        f.close()
        l.close()
    for bad in ("", "disk:/x", "file:", "lmdb", "lmdb:", "memory:x", "Memory", "file"):
        with pytest.raises(ValueError):
            open_storage(bad)
    with pytest.raises(TypeError):
        open_storage(42)  # type: ignore[arg-type]


# -- random operation sequences against a bytearray model, on every backend ---------------------------

OFFSETS = st.one_of(
    st.integers(0, 12),
    st.integers(0, 4 * PAGE),
    st.sampled_from([4078, 4079, 4080, 4081, 4082, 4094, 4095, 4096, 4097, 8159, 8160, 8161, 8192]),
)
DATA = st.one_of(st.binary(max_size=6), st.binary(max_size=3 * PAGE))


class StorageMachine(RuleBasedStateMachine):
    """One file (plus one in a sibling namespace that must stay untouched) against a bytearray."""

    kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="hp-storage-")
        self.files: dict = {}  # the memory backend's dict, so it can "reopen" too
        self.model = bytearray()
        self._open()
        self.other.write(0, b"other namespace")

    def _open(self) -> None:
        if self.kind == "memory":
            self.storage = MemoryStorage(self.files)
        else:
            self.storage = open_storage(f"{self.kind}:{self.dir}")
        self.file = self.storage.sub("feed").open("data")
        self.other = self.storage.sub("feed2").open("data")

    def teardown(self) -> None:
        self.storage.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _grow(self, end: int) -> None:
        if end > len(self.model):
            self.model.extend(bytes(end - len(self.model)))

    @rule(offset=OFFSETS, data=DATA)
    def write(self, offset: int, data: bytes) -> None:
        self._grow(offset)
        self.model[offset : offset + len(data)] = data
        self.file.write(offset, data)

    @rule(offset=OFFSETS, chunks=st.lists(st.binary(max_size=PAGE + 100), max_size=8))
    def write_many(self, offset: int, chunks: list[bytes]) -> None:
        data = b"".join(chunks)  # write_many is exactly write(offset, joined)
        self._grow(offset)
        self.model[offset : offset + len(data)] = data
        self.file.write_many(offset, chunks)

    @rule(offset=OFFSETS, length=st.integers(0, 2 * PAGE))
    def read(self, offset: int, length: int) -> None:
        if offset + length > len(self.model):
            with pytest.raises(OutOfRangeError):
                self.file.read(offset, length)
        else:
            assert self.file.read(offset, length) == bytes(self.model[offset : offset + length])

    @rule(length=OFFSETS)
    def truncate(self, length: int) -> None:
        del self.model[length:]
        self._grow(length)
        self.file.truncate(length)

    @rule(offset=OFFSETS, length=st.integers(0, 3 * PAGE))
    def delete(self, offset: int, length: int) -> None:
        if offset < len(self.model) and length:
            if offset + length >= len(self.model):
                del self.model[offset:]
            else:
                self.model[offset : offset + length] = bytes(length)
        self.file.delete(offset, length)

    @rule(offset=OFFSETS, data=st.binary(max_size=PAGE), length=OFFSETS)
    def transaction(self, offset: int, data: bytes, length: int) -> None:
        with self.storage.transaction():
            self.write(offset, data)
            self.truncate(length)
            self.read(0, min(len(self.model), 10))

    @rule()
    def reopen(self) -> None:
        self.storage.close()
        self._open()

    @invariant()
    def same_bytes(self) -> None:
        assert self.file.size() == len(self.model)
        assert self.file.read_all() == bytes(self.model)
        assert self.other.read_all() == b"other namespace"


MACHINE_SETTINGS = settings(max_examples=40, stateful_step_count=15, deadline=None)


class MemoryMachine(StorageMachine):
    kind = "memory"


class FileMachine(StorageMachine):
    kind = "file"


class LmdbMachine(StorageMachine):
    kind = "lmdb"


TestMemoryModel = MemoryMachine.TestCase
TestMemoryModel.settings = MACHINE_SETTINGS
class SmallPagesMemoryMachine(StorageMachine):
    """The memory backend with 64-byte pages, so random offsets cross page edges and land in holes."""

    kind = "memory"

    def __init__(self) -> None:
        self._saved = (paged.PAGE_SHIFT, paged.PAGE_SIZE, paged._MASK)
        paged.PAGE_SHIFT, paged.PAGE_SIZE, paged._MASK = 6, 64, 63
        super().__init__()

    def teardown(self) -> None:
        super().teardown()
        paged.PAGE_SHIFT, paged.PAGE_SIZE, paged._MASK = self._saved


TestSmallPagesMemoryModel = SmallPagesMemoryMachine.TestCase
TestSmallPagesMemoryModel.settings = settings(max_examples=150, stateful_step_count=20, deadline=None)
TestFileModel = FileMachine.TestCase
TestFileModel.settings = MACHINE_SETTINGS
TestLmdbModel = LmdbMachine.TestCase
TestLmdbModel.settings = MACHINE_SETTINGS
