"""The storage contract (storage/base.py), checked on every backend: memory, file and LMDB.

``StorageContract`` is a mixin (dulwich's ObjectStoreTests habit): each backend class only says how to
make and reopen its storage.  A hypothesis test drives random writes/reads/deletes/truncates against a
plain ``bytearray`` model.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperparty.storage import (
    FileStorage,
    LmdbStorage,
    MemoryStorage,
    OutOfRangeError,
    StorageClosedError,
    open_storage,
)
from hyperparty.storage.lmdb_storage import PAGE_SIZE


class StorageContract:
    persistent = True

    @pytest.fixture
    def make(self, tmp_path):
        made = []

        def make(name: str = "s"):
            storage = self.new(tmp_path / name)
            made.append(storage)
            return storage

        yield make
        for s in made:
            s.close()

    def new(self, path):  # pragma: no cover - overridden
        raise NotImplementedError

    def test_new_file_is_empty_and_absent(self, make):
        s = make()
        f = s.open("tree")
        assert f.size() == 0 and not s.exists("tree")
        assert f.read(0, 0) == b""
        with pytest.raises(OutOfRangeError):
            f.read(0, 1)

    def test_write_read_overwrite(self, make):
        s = make()
        f = s.open("data")
        f.write(0, b"hello world")
        assert s.exists("data") and f.size() == 11
        f.write(6, b"WORLD!")
        assert f.read(0, 12) == b"hello WORLD!"
        assert f.read(3, 4) == b"lo W"
        with pytest.raises(OutOfRangeError):
            f.read(10, 3)

    def test_write_past_end_leaves_zero_hole(self, make):
        f = make().open("bitfield")
        f.write(10000, b"x")
        assert f.size() == 10001
        assert f.read(0, 10001) == bytes(10000) + b"x"

    def test_large_write_spanning_pages(self, make):
        f = make().open("data")
        blob = bytes(range(256)) * 100  # 25600 bytes, several LMDB pages
        f.write(5, blob)
        assert f.read(5, len(blob)) == blob
        assert f.read(0, 5) == bytes(5)

    def test_truncate_shrink_and_grow(self, make):
        f = make().open("signatures")
        f.write(0, b"abcdefghij" * 1000)
        f.truncate(4097)
        assert f.size() == 4097 and f.read(4090, 7) == (b"abcdefghij" * 1000)[4090:4097]
        f.truncate(5000)
        assert f.read(4097, 903) == bytes(903)

    def test_delete_middle_zeroes_and_tail_truncates(self, make):
        f = make().open("data")
        f.write(0, b"x" * 10000)
        f.delete(10, 9000)
        assert f.size() == 10000
        assert f.read(0, 10000) == b"x" * 10 + bytes(9000) + b"x" * 990
        f.delete(5000, 10**6)
        assert f.size() == 5000

    def test_negative_arguments_rejected(self, make):
        f = make().open("x")
        with pytest.raises(ValueError):
            f.read(-1, 1)
        with pytest.raises(ValueError):
            f.write(-1, b"a")

    def test_sub_namespaces_are_isolated(self, make):
        s = make()
        a, b = s.sub("0"), s.sub("1")
        a.open("key").write(0, b"A" * 32)
        b.open("key").write(0, b"B" * 32)
        assert a.open("key").read(0, 32) == b"A" * 32
        assert b.open("key").read(0, 32) == b"B" * 32
        assert not s.exists("key") and s.sub("0").exists("key")

    def test_invalid_names_rejected(self, make):
        s = make()
        for bad in ("", "../x", "a//b", "a/./b", "a\0b"):
            with pytest.raises(ValueError):
                s.open(bad)

    def test_closed_storage_and_file_refuse_use(self, make):
        s = make()
        f = s.open("tree")
        f.write(0, b"1")
        s.close()
        with pytest.raises(StorageClosedError):
            f.read(0, 1)
        with pytest.raises(StorageClosedError):
            s.open("tree")
        s.close()  # twice is harmless

    def test_transaction_groups_writes(self, make):
        s = make()
        f = s.open("data")
        with s.transaction():
            f.write(0, b"ab")
            with s.transaction():  # nested joins
                f.write(2, b"cd")
            assert f.read(0, 4) == b"abcd"  # reads see the pending writes
        assert f.read(0, 4) == b"abcd"

    def test_reopen_persists(self, tmp_path):
        if not self.persistent:
            pytest.skip("memory storage does not outlive its object")
        s = self.new(tmp_path / "p")
        s.sub("0").open("tree").write(100, b"node")
        s.close()
        s2 = self.new(tmp_path / "p")
        try:
            f = s2.sub("0").open("tree")
            assert f.size() == 104 and f.read(100, 4) == b"node"
        finally:
            s2.close()


class TestMemoryStorage(StorageContract):
    persistent = False

    def new(self, path):
        return MemoryStorage()


class TestFileStorage(StorageContract):
    def new(self, path):
        return FileStorage(path)

    def test_layout_is_plain_files(self, tmp_path):
        s = FileStorage(tmp_path)
        s.sub("0").open("key").write(0, b"k" * 32)
        s.close()
        assert (tmp_path / "0" / "key").read_bytes() == b"k" * 32


class TestLmdbStorage(StorageContract):
    def new(self, path):
        return LmdbStorage(path)

    def test_many_feeds_share_one_environment(self, tmp_path):
        a, b = LmdbStorage(tmp_path), LmdbStorage(tmp_path)
        try:
            a.sub("0").open("data").write(0, b"a")
            assert b.sub("0").open("data").read(0, 1) == b"a"
            assert a._env is b._env
        finally:
            a.close()
            b.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data.mdb", "lock.mdb"]

    def test_failed_transaction_leaves_nothing(self, tmp_path):
        s = LmdbStorage(tmp_path)
        try:
            f = s.open("data")
            f.write(0, b"keep")
            with pytest.raises(RuntimeError):
                with s.transaction():
                    f.write(0, b"LOST" * PAGE_SIZE)
                    raise RuntimeError("crash inside the batch")
            assert f.size() == 4 and f.read(0, 4) == b"keep"
        finally:
            s.close()


def test_open_storage_specs(tmp_path):
    assert isinstance(open_storage("memory"), MemoryStorage)
    f = open_storage(f"file:{tmp_path / 'f'}")
    l = open_storage(f"lmdb:{tmp_path / 'l'}")
    try:
        assert isinstance(f, FileStorage) and isinstance(l, LmdbStorage)
        assert open_storage(f) is f
    finally:
        f.close()
        l.close()
    for bad in ("", "disk:/x", "file:", "lmdb", "memory:x"):
        with pytest.raises(ValueError):
            open_storage(bad)


BACKENDS = {"memory": lambda p: MemoryStorage(), "file": FileStorage, "lmdb": LmdbStorage}


@pytest.mark.parametrize("backend", ["memory", "file", "lmdb"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 3 * 4096), st.binary(min_size=0, max_size=5000)),
        st.tuples(st.just("read"), st.integers(0, 4 * 4096), st.integers(0, 6000)),
        st.tuples(st.just("truncate"), st.integers(0, 4 * 4096), st.just(b"")),
        st.tuples(st.just("delete"), st.integers(0, 4 * 4096), st.integers(0, 9000)),
    ),
    max_size=25,
))
def test_random_operations_match_bytearray_model(backend, tmp_path_factory, ops):
    s = BACKENDS[backend](tmp_path_factory.mktemp("model"))
    try:
        f = s.open("file")
        model = bytearray()
        for op, a, b in ops:
            if op == "write":
                if a > len(model):
                    model.extend(bytes(a - len(model)))
                model[a:a + len(b)] = b
                f.write(a, b)
            elif op == "read":
                if a + b > len(model):
                    with pytest.raises(OutOfRangeError):
                        f.read(a, b)
                else:
                    assert f.read(a, b) == bytes(model[a:a + b])
            elif op == "truncate":
                if a < len(model):
                    del model[a:]
                else:
                    model.extend(bytes(a - len(model)))
                f.truncate(a)
            else:
                if a < len(model):
                    if a + b >= len(model):
                        del model[a:]
                    else:
                        model[a:a + b] = bytes(b)
                f.delete(a, b)
            assert f.size() == len(model)
        assert f.read(0, len(model)) == bytes(model)
    finally:
        s.close()
