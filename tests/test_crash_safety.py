"""Crash safety and bad storage.

* A child process replicates a feed into a file or LMDB replica (received chunks are stored as batches:
  one transaction, bitfield pages last) and is SIGKILLed at random moments; after each kill the replica
  must open with no torn tail, every block whose bit is set must read back as exactly the writer's block,
  an audit must pass, and the next child must go on fetching from there.
* A child process appends deterministic blocks (single appends and batches) to a file or LMDB feed and
  is SIGKILLed at random moments; after each append returns it records the committed length in a report
  file.  After each kill the feed must open, its length must be a batch boundary of the child's plan and
  at least the last reported length (on LMDB with no torn tail to recover: each batch is one
  transaction), every block must read back as exactly what the child wrote, and an audit must pass.
* Damaged files: flipped bytes in data/tree/signatures, truncated files (damage that repair undoes), a
  wrong key, and a block with a bad proof, on every backend (tests/test_damaged_*.py go further).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hyperparty.feeds.hypercore import (
    AnotherHypercoreError,
    DamagedFeedError,
    BlockChecksumError,
    BlockNotAvailable,
    Hypercore,
    LocalSignatureError,
    SignatureVerificationError,
    VerificationError,
    crypto,
)
from hyperparty.storage.memory import MemoryStorage

from hyperparty.storage import open_storage
from util import Backend

SEED = b"\x2a" * 32
PK, SK = crypto.key_pair(SEED)


def block(i: int) -> bytes:
    """What the child writes at seq ``i``."""
    return b"block %d " % i + bytes([i % 251]) * (i % 29)


def batch_size(length: int) -> int:
    """The child's plan: the batch appended when the feed has ``length`` blocks."""
    r = random.Random(length).random()
    if r < 0.7:
        return 1
    if r < 0.97:
        return random.Random(length + 1).randint(2, 20)
    return random.Random(length + 2).randint(200, 1200)


def boundaries(limit: int) -> set[int]:
    out = {0}
    n = 0
    while n <= limit:
        n += batch_size(n)
        out.add(n)
    return out


CHILD = textwrap.dedent(
    """
    import os, sys
    sys.path[:0] = [{testdir!r}]
    from test_crash_safety import block, batch_size, PK, SK
    from hyperparty.feeds.hypercore import Hypercore
    from hyperparty.storage import open_storage

    storage = open_storage(sys.argv[1])
    report = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
    core = Hypercore(storage, key=PK, secret_key=SK)
    core.open_sync()
    os.write(1, b"ready %d\\n" % core.length)
    while True:
        n = core.length
        size = batch_size(n)
        if size == 1:
            core.append_sync([block(n)])
        else:
            core.append_sync([block(i) for i in range(n, n + size)])
        os.pwrite(report, core.length.to_bytes(8, "big"), 0)  # committed: survives the kill
    """
)


def check_feed(spec: str, previous: int, committed: int = 0, audit: bool = False) -> int:
    """Open the killed child's feed and verify it: the blocks appended since the ``previous`` check (and
    a few before), all of them with ``audit``; ``committed`` is the last length the child reported."""

    async def run() -> int:
        storage = open_storage(spec)
        core = Hypercore(storage)
        try:
            await core.ready()
            assert core.key == PK and core.writable
            n = core.length
            assert n in boundaries(n), f"length {n} is not a batch boundary"
            # a recovered tail may drop at most the batch being written at the kill
            assert n >= previous or core.recovered is not None
            assert n >= committed, f"length {n} lost batches the child reported committed ({committed})"
            if spec.startswith("lmdb:"):
                assert core.recovered is None  # one transaction per batch: never a torn tail
            if n:
                assert core.has(0, n)
                start = max(0, min(previous, n) - 50)
                got = core.read_batch(start, n)
                assert got == [block(i) for i in range(start, n)]
                assert core.byte_length == sum(len(block(i)) for i in range(n))
                if audit:
                    report = await core.audit()
                    assert report["valid"] == n and report["invalid"] == 0 and report["signature_ok"], report
            return n
        finally:
            await core.close()
            storage.close()

    return asyncio.run(run()) if not _in_loop() else _run_in_thread(run)


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _run_in_thread(coro_fn):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(lambda: asyncio.run(coro_fn())).result()


@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_sigkill_during_appends(kind: str, tmp_path) -> None:
    spec = f"{kind}:{tmp_path / 'feed'}"
    report = tmp_path / "committed"
    code = CHILD.format(testdir=os.path.dirname(os.path.abspath(__file__)))
    rnd = random.Random(1234)
    length = 0
    deadline = time.monotonic() + 25
    kills = 0
    for _ in range(5):
        if time.monotonic() > deadline:
            break
        child = subprocess.Popen([sys.executable, "-c", code, spec, str(report)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        try:
            line = _read_line(child, timeout=20)
            assert line.startswith(b"ready"), (line, child.stderr.read() if child.poll() is not None else b"")
            time.sleep(rnd.uniform(0.02, 0.25))
            assert child.poll() is None, child.stderr.read()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            child.stdout.close()
            child.stderr.close()
        kills += 1
        committed = int.from_bytes(report.read_bytes(), "big") if report.exists() else 0
        length = check_feed(spec, length, committed)
    assert kills >= 2
    assert committed > 0 and length > 0
    assert check_feed(spec, length, length, audit=True) == length  # every block and node re-hashed


def _read_line(proc: subprocess.Popen, timeout: float) -> bytes:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    end = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not sel.select(left):
            raise TimeoutError("child did not get ready")
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            break
        buf += chunk
    sel.close()
    return buf


# -- SIGKILL while a replica stores received chunks (the batched fetch path) -----------------------------

FETCH_BLOCKS = 12000

FETCH_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    sys.path[:0] = [{testdir!r}]
    from test_crash_safety import block, PK, SK, FETCH_BLOCKS
    from hyperparty.feeds.hypercore import Hypercore
    from hyperparty.protocol.transport import pipe
    from hyperparty.storage import MemoryStorage, open_storage

    async def main():
        writer = Hypercore(MemoryStorage(), key=PK, secret_key=SK)
        for start in range(0, FETCH_BLOCKS, 1000):
            await writer.append([block(i) for i in range(start, start + 1000)])
        replica = Hypercore(open_storage(sys.argv[1]), key=PK)
        await replica.ready()
        os.write(1, b"ready %d\\n" % replica.downloaded())
        await asyncio.wait_for(pipe(writer.replicate(live=False), replica.replicate(live=False)).wait(), 60)
        os.write(1, b"done %d\\n" % replica.downloaded())
        await asyncio.sleep(3600)  # killed by the test

    asyncio.run(main())
    """
)


def check_replica(spec: str) -> int:
    """Open the killed child's replica: no torn tail, every stored block is the writer's, audit passes."""

    async def run() -> int:
        storage = open_storage(spec)
        core = Hypercore(storage, key=PK)
        try:
            await core.ready()
            assert core.recovered is None, core.recovered  # bits are written last: never a torn tail
            assert core.length in (0, FETCH_BLOCKS)  # the writer signed one length
            stored = [i for i in range(core.length) if core.has(i)]
            for i in stored:
                assert core.read_block(i) == block(i), i  # hashed against its leaf node on first read
            report = await core.audit()
            assert report["invalid"] == 0 and report["valid"] == len(stored) and report["signature_ok"], report
            assert not report["bad_nodes"], report
            return len(stored)
        finally:
            await core.close()
            storage.close()

    return asyncio.run(run()) if not _in_loop() else _run_in_thread(run)


@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_sigkill_while_storing_received_chunks(kind: str, tmp_path) -> None:
    spec = f"{kind}:{tmp_path / 'replica'}"
    code = FETCH_CHILD.format(testdir=os.path.dirname(os.path.abspath(__file__)))
    rnd = random.Random(4321)
    stored = 0
    partial = 0
    deadline = time.monotonic() + 40
    for _ in range(6):
        if time.monotonic() > deadline or stored == FETCH_BLOCKS:
            break
        child = subprocess.Popen([sys.executable, "-c", code, spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = _read_line(child, timeout=30)
            assert line.startswith(b"ready"), (line, child.stderr.read() if child.poll() is not None else b"")
            assert int(line.split()[1]) == stored  # the next child starts from what the last one stored
            time.sleep(rnd.uniform(0.05, 0.4))
            assert child.poll() is None, child.stderr.read()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            child.stdout.close()
            child.stderr.close()
        now = check_replica(spec)
        assert now >= stored  # a kill never loses blocks an earlier child stored
        if 0 < now < FETCH_BLOCKS:
            partial += 1
        stored = now
    assert partial >= 1, "no kill landed in the middle of the fetch"
    # a last child completes the fetch from where the killed ones left it
    child = subprocess.Popen([sys.executable, "-c", code, spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _read_line(child, timeout=30).startswith(b"ready")
        assert _read_line(child, timeout=90) == b"done %d\n" % FETCH_BLOCKS
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert check_replica(spec) == FETCH_BLOCKS


# -- damaged storage, on every backend ---------------------------------------------------------------


BATCHES = [1, 1, 5, 1, 20, 3, 1]  # 32 blocks; batch ends at 1, 2, 7, 8, 28, 31, 32


async def make_feed(backend: Backend) -> list[bytes]:
    storage = backend.open()
    core = Hypercore(storage, key=PK, secret_key=SK)
    n = 0
    for size in BATCHES:
        await core.append([block(i) for i in range(n, n + size)])
        n += size
    await core.close()
    backend._opened.remove(storage)
    storage.close()
    return [block(i) for i in range(n)]


async def open_feed(backend: Backend, **kwargs) -> Hypercore:
    core = Hypercore(backend.open(), **kwargs)
    await core.ready()
    return core


def flip_at(offset: int):
    def edit(f) -> None:
        b = f.read(offset, 1)
        f.write(offset, bytes([b[0] ^ 0x40]))

    return edit


async def test_flipped_data_byte(backend: Backend) -> None:
    blocks = await make_feed(backend)
    offset = sum(len(b) for b in blocks[:10]) + 2
    backend.patch("data", flip_at(offset))
    core = await open_feed(backend)
    assert core.length == 32
    assert await core.get(9) == blocks[9]
    with pytest.raises(BlockChecksumError):
        await core.get(10)
    with pytest.raises(BlockChecksumError):
        core.read_batch(8, 12)
    report = await core.audit()
    assert report["invalid_blocks"] == [10] and report["valid"] == 31 and report["signature_ok"]
    assert not core.has(10)
    with pytest.raises(BlockNotAvailable):
        await core.get(10, wait=False)
    await core.close()


async def test_flipped_leaf_and_parent_nodes(backend: Backend) -> None:
    blocks = await make_feed(backend)
    backend.patch("tree", flip_at(32 + 40 * 6 + 5))  # leaf of block 3
    backend.patch("tree", flip_at(32 + 40 * 9 + 1))  # parent 9 (blocks 4, 5): not a root of 32
    core = await open_feed(backend)
    assert core.length == 32 and core.recovered is None
    with pytest.raises(BlockChecksumError):
        await core.get(3)
    assert await core.get(4) == blocks[4]
    report = await core.audit()
    assert report["invalid_blocks"] == [3]
    # 5 = parent of the bad leaf 6, 9 = the flipped parent, 11 = parent of 9
    assert report["bad_nodes"] == [5, 9, 11]
    # a proof built from the bad parent is refused by a replica
    replica = Hypercore(MemoryStorage(), key=PK, sparse=True)
    await replica.ready()
    with pytest.raises(SignatureVerificationError):
        replica.put(6, blocks[6], core.proof(6))  # its proof carries node 9
    await core.close()


async def test_flipped_root_or_signature_refuses_to_open(backend: Backend) -> None:
    await make_feed(backend)
    backend.patch("tree", flip_at(32 + 40 * 31 + 3))  # node 31 = the single root of 32 blocks
    with pytest.raises(LocalSignatureError):
        await open_feed(backend)
    backend.close_all()
    backend.patch("tree", flip_at(32 + 40 * 31 + 3))  # undo
    backend.patch("signatures", flip_at(32 + 64 * 31 + 7))
    with pytest.raises(LocalSignatureError):
        await open_feed(backend)
    backend.close_all()
    backend.patch("signatures", flip_at(32 + 64 * 31 + 7))  # undo
    core = await open_feed(backend)
    assert core.length == 32
    await core.close()


async def test_wrong_key(backend: Backend) -> None:
    await make_feed(backend)
    other, _ = crypto.key_pair(b"\x01" * 32)
    with pytest.raises(AnotherHypercoreError):
        await open_feed(backend, key=other)
    backend.close_all()
    # a key file replaced by another key: every signature fails -> refuse, do not wipe
    backend.patch("key", lambda f: f.write(0, other))
    backend.patch("secret_key", lambda f: f.truncate(0))
    with pytest.raises(LocalSignatureError):
        await open_feed(backend)
    backend.close_all()
    backend.patch("key", lambda f: f.write(0, PK))
    core = await open_feed(backend, key=PK)
    assert core.length == 32 and not core.writable
    await core.close()


@pytest.mark.parametrize(
    "file,cut,kept,repaired",
    [
        # last signature torn: the writer's tree still holds the roots of 32, so repair signs 32 again
        ("signatures", 32 + 64 * 31 + 10, 31, 32),
        # signatures of the last three batches gone: more than the last batch -> damage; signed again
        ("signatures", 32 + 64 * 27, 8, 32),
        # node 31 (the root of 32 blocks) torn, and every node after it gone; the roots of lengths 31 and
        # 28 lie past the cut (e.g. node 39), so the last verifiable batch end is 8 (root 7); the leaves of
        # blocks 0-15 are intact, so repair signs length 16 (blocks 16-31 lost their leaves)
        ("tree", 32 + 40 * 31 + 20, 8, 16),
        # tree bits of nodes >= 24 gone: tree.blocks() finds 12 blocks, signatures say 32 -> lost bitfield
        ("bitfield", 32 + 1024 + 3, 8, 32),
    ],
)
async def test_truncated_files_are_damage_and_repair_keeps_what_verifies(
        backend: Backend, file: str, cut: int, kept: int, repaired: int) -> None:
    """A truncated file that loses more than an interrupted last batch could is damage, not a torn tail:
    opening refuses (nothing written), a damaged open reads what verifies, repair keeps all of it."""
    blocks = await make_feed(backend)
    backend.patch(file, lambda f: f.truncate(cut))
    with pytest.raises(DamagedFeedError):
        await open_feed(backend)
    backend.close_all()
    core = await open_feed(backend, allow_damaged=True)
    assert core.length == kept and core.damage
    assert core.read_batch(0, kept) == blocks[:kept]
    with pytest.raises(DamagedFeedError):
        await core.append(b"would fork the signed log")
    report = await core.repair()
    assert report["length"] == repaired
    await core.close()
    backend.close_all()
    core = await open_feed(backend)
    assert core.length == repaired and core.recovered is None and not core.damage
    assert core.read_batch(0, repaired) == blocks[:repaired]
    # the feed keeps working: append, reopen, read everything
    await core.append([b"after"] * 3)
    await core.close()
    backend.close_all()
    core = await open_feed(backend)
    assert core.length == repaired + 3
    assert core.read_batch(0, repaired + 3) == blocks[:repaired] + [b"after"] * 3
    assert (await core.audit())["invalid"] == 0
    await core.close()


async def test_truncated_data_file(backend: Backend) -> None:
    blocks = await make_feed(backend)
    total = sum(map(len, blocks))
    backend.patch("data", lambda f: f.truncate(total - 3))
    core = await open_feed(backend)
    assert core.length == 32
    assert await core.get(30) == blocks[30]
    with pytest.raises(BlockChecksumError):
        await core.get(31)
    report = await core.audit()
    assert report["invalid_blocks"] == [31]
    await core.close()


async def test_bad_proof_leaves_replica_unchanged(backend: Backend) -> None:
    blocks = await make_feed(backend)
    writer = await open_feed(backend)
    replica_storage = backend.open("replica")
    replica = Hypercore(replica_storage, key=PK, sparse=True)
    await replica.ready()
    replica.put(0, blocks[0], writer.proof(0))

    def files() -> dict:
        return {n: replica_storage.open(n).read_all() for n in ("tree", "data", "bitfield", "signatures")}

    before = files()
    proof = writer.proof(17, digest=replica.digest(17))
    with pytest.raises(VerificationError):
        replica.put(17, blocks[16], proof)
    assert files() == before and not replica.has(17)
    replica.put(17, blocks[17], proof)
    assert await replica.get(17) == blocks[17]
    await replica.close()
    await writer.close()


# -- every kill point of one append / one verified write, simulated in memory -------------------------


class Crash(Exception):
    pass


class CrashingStorage(MemoryStorage):
    """Memory storage whose writes raise :class:`Crash` once ``budget`` writes have been done (a kill
    between two syscalls: the earlier writes landed, the later ones did not)."""

    def __init__(self, files: dict, budget: int | None) -> None:
        super().__init__(files)
        self.budget = budget
        self.writes = 0

    def open(self, name: str):
        inner = super().open(name)
        storage = self

        class File(type(inner)):
            def write(self, offset, data):
                storage._tick()
                super().write(offset, data)

            def truncate(self, length):
                storage._tick()
                super().truncate(length)

            def delete(self, offset, length):
                storage._tick()
                super().delete(offset, length)

        inner.__class__ = File
        return inner

    def _tick(self) -> None:
        if self.budget is not None and self.writes >= self.budget:
            raise Crash()
        self.writes += 1


def copy_files(files: dict) -> dict:
    return {name: bytearray(bytes(buf)) for name, buf in files.items()}


async def verify_reopened(files: dict, old: int, new: int, expected_blocks) -> int:
    core = Hypercore(MemoryStorage(files), key=PK)
    await core.ready()
    n = core.length
    assert n in (old, new), (n, old, new)
    assert core.has(0, n) and not core.has(n)
    assert core.read_batch(0, n) == expected_blocks[:n]
    await core.close()
    return n


@pytest.mark.parametrize("base,size", [(5, 1), (7, 1), (8000, 500), (8100, 8284), (8100, 17000), (16380, 10)])
async def test_every_kill_point_of_an_append(base: int, size: int) -> None:
    blocks = [block(i) for i in range(base + size)]
    files: dict = {}
    core = Hypercore(MemoryStorage(files), key=PK, secret_key=SK)
    for start in range(0, base, 3000):
        await core.append(blocks[start : min(base, start + 3000)])
    await core.close()
    # how many writes the append makes
    probe = CrashingStorage(copy_files(files), None)
    core = Hypercore(probe, key=PK, secret_key=SK)
    await core.ready()
    before = probe.writes
    await core.append(blocks[base:])
    total = probe.writes - before
    assert total >= 4
    seen = set()
    for budget in range(total + 1):
        trial = copy_files(files)
        storage = CrashingStorage(trial, None)
        core = Hypercore(storage, key=PK, secret_key=SK)
        await core.ready()
        storage.budget = storage.writes + budget
        if budget < total:
            with pytest.raises(Crash):
                await core.append(blocks[base:])
        else:
            await core.append(blocks[base:])
        n = await verify_reopened(trial, base, base + size, blocks)
        seen.add(n)
        # the feed goes on from there
        again = Hypercore(MemoryStorage(trial), key=PK, secret_key=SK)
        await again.append(blocks[n : base + size])
        assert again.length == base + size
        assert again.read_batch(0, base + size) == blocks
        await again.close()
    assert seen == {base, base + size}


@pytest.mark.parametrize("target", [0, 5, 8191, 8192, 9000])
async def test_every_kill_point_of_a_verified_write(target: int) -> None:
    n = 9500
    blocks = [block(i) for i in range(n)]
    writer = Hypercore(MemoryStorage(), key=PK, secret_key=SK)
    await writer.append(blocks)
    replica_files: dict = {}
    replica = Hypercore(MemoryStorage(replica_files), key=PK, sparse=True)
    await replica.ready()
    for i in (1, 8500):
        replica.put(i, blocks[i], writer.proof(i, digest=replica.digest(i)))
    await replica.close()
    probe = CrashingStorage(copy_files(replica_files), None)
    core = Hypercore(probe, key=PK, sparse=True)
    await core.ready()
    proof_digest = core.digest(target)
    proof = writer.proof(target, digest=proof_digest)
    before = probe.writes
    core.put(target, blocks[target], proof)
    total = probe.writes - before
    for budget in range(total + 1):
        trial = copy_files(replica_files)
        storage = CrashingStorage(trial, None)
        core = Hypercore(storage, key=PK, sparse=True)
        await core.ready()
        storage.budget = storage.writes + budget
        if budget < total:
            with pytest.raises(Crash):
                core.put(target, blocks[target], proof)
        else:
            core.put(target, blocks[target], proof)
        reopened = Hypercore(MemoryStorage(trial), key=PK, sparse=True)
        await reopened.ready()
        assert reopened.length == n
        for i in (1, 8500, target):
            if reopened.has(i):
                assert await reopened.get(i) == blocks[i]
        assert reopened.has(target) == (budget == total)
        # the block can be fetched again after the crash
        if not reopened.has(target):
            reopened.put(target, blocks[target], writer.proof(target, digest=reopened.digest(target)))
            assert await reopened.get(target) == blocks[target]
        await reopened.close()
