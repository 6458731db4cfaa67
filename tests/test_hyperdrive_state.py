"""A hypothesis state machine of file-system operations on a Hyperdrive, against an in-memory model, on
every storage backend.

The model does not know about blocks, seqs or path indexes.  It keeps, per directory, one entry per
child name — the most recent operation that touched something under that child (time, put or delete,
the path it wrote) — plus the directory's own entry.  That is what an append-tree listing is:
``readdir`` lists children by that time, a put refreshes the entries along its path, and a delete of P
refreshes them down to the depth given by the closest live entry and drops the branch below it.  The
model keeps JS's delete quirk (a delete may drop a branch that still holds files, when that branch is
only represented by a deletion) because the tree must, for byte equality; the quirk shows in the
model as a branch disappearing, so the comparison stays exact.

Each step compares readdir (order included), stat (kind, mode, size), file bytes, exists and the errors
the drive raises (with nothing appended on an error), and a rule compares a checkout of a past version
with the model's snapshot of that version.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import tempfile
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from hyperparty.feeds.hyperdrive import (
    DirectoryNotEmptyError,
    FileExistsDriveError,
    Hyperdrive,
    HyperdriveError,
    InvalidPathError,
    NotADirectoryDriveError,
    NotAFileError,
    NotFoundError,
)
from hyperparty.storage import MemoryStorage, open_storage

from hyperdrive_ops import pattern

NAMES = ["a", "b", "c"]
PATHS = [tuple(p) for n in (1, 2, 3) for p in __import__("itertools").product(NAMES, repeat=n)]
SIZES = [0, 1, 7, 300, 65536, 65537, 140000]


@dataclass(frozen=True)
class Entry:
    time: int
    is_put: bool
    path: tuple[str, ...]  # the path of the operation (the representative node's name)
    data: bytes | None = None  # file content (self entries of files)
    is_dir: bool = False


def common(a: tuple, b: tuple) -> int:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return i


class Model:
    """Per directory: child name (None = the directory's own node) -> :class:`Entry`."""

    def __init__(self) -> None:
        self.time = 0
        self.dirs: dict[tuple, dict] = {}

    def node(self, path: tuple) -> Entry | None:
        e = self.dirs.get(path, {}).get(None)
        return e if e is not None and e.is_put else None

    def children(self, path: tuple) -> list[str] | None:
        entries = self.dirs.get(path)
        if not entries:
            return None
        return [k for k, _ in sorted(entries.items(), key=lambda kv: kv[1].time) if k is not None]

    def put(self, path: tuple, data: bytes | None, is_dir: bool) -> None:
        self.time += 1
        for k in range(len(path)):
            self.dirs.setdefault(path[:k], {})[path[k]] = Entry(self.time, True, path)
        self.dirs.setdefault(path, {})[None] = Entry(self.time, True, path, data, is_dir)

    def delete(self, path: tuple) -> None:
        self.time += 1
        closest: tuple | None = None
        for j in range(len(path), -1, -1):
            entries = sorted(self.dirs.get(path[:j], {}).values(), key=lambda e: -e.time)
            closest = next((e.path for e in entries if e.is_put and e.path != path), None)
            if closest is not None:
                break
        depth = common(path, closest or ()) + 1
        for k in range(depth - 1):
            self.dirs[path[:k]][path[k]] = Entry(self.time, False, path)
        k = depth - 1
        if k < len(path):
            self.dirs.get(path[:k], {}).pop(path[k], None)
            gone = path[: k + 1]
            for d in [d for d in self.dirs if d[: len(gone)] == gone]:
                del self.dirs[d]
        else:
            self.dirs.get(path, {}).pop(None, None)

    # what the drive answers -------------------------------------------------------------------------

    def stat(self, path: tuple) -> tuple[str, int]:
        """("file", size) / ("dir", 0) / ("implicit", 0); NotFoundError."""
        e = self.node(path)
        if e is not None:
            return ("dir", 0) if e.is_dir else ("file", len(e.data))
        if not path or self.children(path):
            return ("implicit", 0)
        raise NotFoundError(path)

    def readdir(self, path: tuple) -> list[str]:
        kids = self.children(path)
        if kids is None:
            if not path:
                return []
            raise NotFoundError(path)
        e = self.node(path)
        if e is not None and not e.is_dir:
            raise NotADirectoryDriveError(path)
        return kids

    def check_parents(self, path: tuple) -> None:
        for j in range(1, len(path)):
            e = self.node(path[:j])
            if e is not None and not e.is_dir:
                raise NotADirectoryDriveError(path)

    def write(self, path: tuple, data: bytes) -> None:
        self.check_parents(path)
        e = self.node(path)
        if (e is not None and e.is_dir) or (e is None and self.children(path)):
            raise NotAFileError(path)
        self.put(path, data, False)

    def mkdir(self, path: tuple) -> None:
        if self.node(path) is not None or self.children(path):
            raise FileExistsDriveError(path)
        self.check_parents(path)
        self.put(path, None, True)

    def unlink(self, path: tuple) -> None:
        e = self.node(path)
        if e is None:
            raise NotFoundError(path)
        if e.is_dir:
            raise NotAFileError(path)
        self.delete(path)

    def rmdir(self, path: tuple) -> None:
        e = self.node(path)
        if e is not None and not e.is_dir:
            raise NotADirectoryDriveError(path)
        if self.children(path):
            raise DirectoryNotEmptyError(path)
        if e is None:
            raise NotFoundError(path)
        self.delete(path)

    def all_dirs(self) -> list[tuple]:
        return sorted(self.dirs)


def p(path: tuple) -> str:
    return "/" + "/".join(path)


class DriveMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.mkdtemp(prefix="hyperdrive-state-")
        storage = MemoryStorage() if self.backend == "memory" else open_storage(f"{self.backend}:{self.tmp}/drive")
        self.storage = storage
        self.drive = Hyperdrive(storage)
        self.run(self.drive.ready())
        self.model = Model()
        self.snapshots = {self.drive.version: copy.deepcopy(self.model.dirs)}

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.drive.close())
        self.storage.close()
        self.loop.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def apply(self, model_op, drive_op) -> None:
        """Run the same operation on both; same error class, nothing appended on error."""
        lengths = (self.drive.metadata.length, self.drive.content.length)
        try:
            model_op()
        except HyperdriveError as err:
            with pytest.raises(type(err)):
                self.run(drive_op())
            assert (self.drive.metadata.length, self.drive.content.length) == lengths
            return
        self.run(drive_op())
        assert self.drive.metadata.length == lengths[0] + 1
        self.snapshots[self.drive.version] = copy.deepcopy(self.model.dirs)

    @rule(path=st.sampled_from(PATHS), size=st.sampled_from(SIZES), seed=st.integers(0, 255))
    def write(self, path, size, seed):
        data = pattern(size, seed)
        self.apply(lambda: self.model.write(path, data), lambda: self.drive.write_file(p(path), data))

    @rule(path=st.sampled_from(PATHS))
    def mkdir(self, path):
        self.apply(lambda: self.model.mkdir(path), lambda: self.drive.mkdir(p(path)))

    @rule(path=st.sampled_from(PATHS))
    def unlink(self, path):
        self.apply(lambda: self.model.unlink(path), lambda: self.drive.unlink(p(path)))

    def files(self) -> list[tuple]:
        return sorted(path for path in PATHS if (e := self.model.node(path)) is not None and not e.is_dir)

    @precondition(lambda self: self.files())
    @rule(data=st.data())
    def unlink_existing(self, data):
        path = data.draw(st.sampled_from(self.files()))
        self.apply(lambda: self.model.unlink(path), lambda: self.drive.unlink(p(path)))

    @rule(path=st.sampled_from(PATHS))
    def rmdir(self, path):
        self.apply(lambda: self.model.rmdir(path), lambda: self.drive.rmdir(p(path)))

    @rule(path=st.sampled_from(PATHS), bad=st.sampled_from(["/../", "..", "\0", "/x/../"]))
    def bad_path(self, path, bad):
        def refuse():
            raise InvalidPathError(bad)

        self.apply(refuse, lambda: self.drive.write_file(bad + p(path), b"x"))

    def same(self, model_call, drive_coro):
        """The drive answers what the model answers, or raises the same error class."""
        try:
            expected = model_call()
        except HyperdriveError as err:
            with pytest.raises(type(err)):
                self.run(drive_coro)
            return None
        assert self.run(drive_coro) == expected
        return expected

    def check_view(self, view, dirs: dict) -> None:
        model = Model()
        model.dirs = dirs
        for d in [()] + PATHS:
            self.same(lambda: model.readdir(d), view.readdir(p(d)))
        for path in PATHS:
            try:
                kind, size = model.stat(path)
            except NotFoundError:
                assert not self.run(view.exists(p(path)))
                with pytest.raises(NotFoundError):
                    self.run(view.stat(p(path)))
                continue
            st_ = self.run(view.stat(p(path)))
            assert (st_.is_file(), st_.is_directory(), st_.size) == (kind == "file", kind != "file", size), path
            if kind == "file":
                assert self.run(view.read_file(p(path))) == model.node(path).data
            elif kind == "implicit":
                assert st_.mode == 0o40755 and st_.mtime == 0

    @rule(path=st.sampled_from(PATHS))
    def readdir(self, path):
        self.same(lambda: self.model.readdir(path), self.drive.readdir(p(path)))

    @rule(path=st.sampled_from(PATHS), start=st.integers(0, 150000), length=st.integers(0, 150000))
    def read_range(self, path, start, length):
        e = self.model.node(path)
        if e is None or e.is_dir:
            with pytest.raises((NotFoundError, NotAFileError)):
                self.run(self.drive.read_file(p(path)))
            return
        got = self.run(self.drive.read_file(p(path), start=start, end=start + length))
        assert got == e.data[start : start + length]

    @precondition(lambda self: len(self.snapshots) > 1)
    @rule(data=st.data())
    def checkout(self, data):
        version = data.draw(st.sampled_from(sorted(self.snapshots)))
        self.check_view(self.drive.checkout(version), self.snapshots[version])

    @invariant()
    def same_tree(self):
        self.check_view(self.drive, self.model.dirs)


@pytest.mark.parametrize("backend_kind", ["memory", "file", "lmdb"])
def test_drive_state_machine(backend_kind):
    machine = type(f"DriveMachine_{backend_kind}", (DriveMachine,), {"backend": backend_kind})
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=25 if backend_kind == "memory" else 8, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )


def test_model_keeps_the_delete_quirk():
    """The history of JS's quirk (shared/spec/hyperdrive-9.md §4.7): unlinking /a/c drops /a/b/a, still a
    file, because the only other representative in /a's listing is the tombstone of /a/b/b."""
    m = DriveMachine()
    try:
        for path in [("a", "b", "a"), ("a", "b", "b")]:
            m.write(path, 3, 1)
        m.unlink(("a", "b", "b"))
        m.write(("a", "c"), 1, 2)
        m.write(("b",), 1, 3)
        assert m.run(m.drive.exists("/a/b/a"))
        m.unlink(("a", "c"))
        m.same_tree()
        assert not m.run(m.drive.exists("/a/b/a")) and m.run(m.drive.readdir("/")) == ["b"]
    finally:
        m.teardown()
