"""Damaged storage never costs data or the writer's key (issue 14), on every backend.

One test per way a feed's files get damaged: what opening says (a :class:`DamagedFeedError` naming the
problem, nothing written), what a read-only / ``allow_damaged`` open shows, what ``audit`` reports and what
``repair`` keeps.  The feed is the one of test_crash_safety: 32 blocks in batches ending at 1, 2, 7, 8,
28, 31 and 32.
"""

from __future__ import annotations

import pytest

from hyperparty.feeds.hypercore import (
    BlockChecksumError,
    CorruptStorageError,
    Hypercore,
    LocalSignatureError,
    crypto,
)
from hyperparty.feeds.hypercore.appending import MAX_BLOCK_SIZE
from hyperparty.feeds.hypercore.errors import (
    BlockTooLargeError,
    DamagedFeedError,
    MissingKeyError,
    ReadOnlyFeedError,
    SecretKeyError,
)
from hyperparty.protocol.wire import MAX_FRAME
from hyperparty.storage import MemoryStorage

from test_crash_safety import PK, SK, block, flip_at, make_feed, open_feed
from util import Backend

FILES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")


def snapshot(backend: Backend, name: str = "feed") -> dict[str, bytes | None]:
    """Every file of the (closed) feed ``name``: its bytes, or None when it does not exist."""
    storage = backend.open(name)
    try:
        return {f: storage.open(f).read_all() if storage.exists(f) else None for f in FILES}
    finally:
        backend.close(storage)


def delete(backend: Backend, file: str, name: str = "feed") -> None:
    """Remove one file of the (closed) feed (the backend's way: unlink, or drop the LMDB keys)."""
    if backend.kind == "memory":
        del backend._memory[name][file]
    elif backend.kind == "file":
        (backend.tmp_path / name / file).unlink()
    else:
        storage = backend.open(name)
        try:
            with storage.transaction():
                f = storage.open(file)
                f.truncate(0)
                env = storage._env  # type: ignore[attr-defined]
                env.current().delete(b"s" + file.encode())
        finally:
            backend.close(storage)


async def reopen_damaged(backend: Backend, **kwargs) -> Hypercore:
    core = Hypercore(backend.open(), allow_damaged=True, **kwargs)
    await core.ready()
    return core


async def refused(backend: Backend, error: type = DamagedFeedError, match: str | None = None, **kwargs) -> str:
    """Opening (for writing) refuses with ``error`` and writes nothing; returns the message."""
    before = snapshot(backend)
    with pytest.raises(error, match=match) as info:
        await open_feed(backend, **kwargs)
    backend.close_all()
    assert snapshot(backend) == before, "a refused open wrote to storage"
    return str(info.value)


async def repaired(backend: Backend, length: int = 32, **kwargs) -> dict:
    """``repair`` on the damaged feed; then it opens cleanly with every block of ``[0, length)``."""
    core = await reopen_damaged(backend, **kwargs)
    report = await core.repair()
    await core.close()
    backend.close_all()
    core = await open_feed(backend)
    assert core.length == length and not core.damage and core.writable and core.recovered is None
    assert [core.read_block(i) for i in range(length)] == [block(i) for i in range(length)]
    assert (await core.audit())["invalid"] == 0
    await core.append(b"after repair")  # the feed goes on
    await core.close()
    backend.close_all()
    return report


# -- the key ------------------------------------------------------------------------------------------


async def test_missing_key_file_is_refused_never_replaced(backend: Backend) -> None:
    await make_feed(backend)
    secret = snapshot(backend)["secret_key"]
    delete(backend, "key")
    message = await refused(backend, MissingKeyError, "key file is missing but secret_key is there")
    assert "refusing to make a new key pair" in message and "repair" in message
    # a new key must not be made even when a feed is asked to create one
    with pytest.raises(MissingKeyError):
        await Hypercore(backend.open(), create_if_missing=True).ready()
    backend.close_all()
    assert snapshot(backend)["secret_key"] == secret and snapshot(backend)["key"] is None
    # read-only, the feed still reads (its key is the public half of secret_key)
    core = Hypercore(backend.open(), read_only=True, allow_damaged=True)
    await core.ready()
    assert core.key == PK and core.length == 32 and [p.file for p in core.damage] == ["key"]
    await core.close()
    backend.close_all()
    report = await repaired(backend)
    assert any("restored the key file" in a for a in report["actions"])
    assert snapshot(backend)["key"] == PK and snapshot(backend)["secret_key"] == secret


async def test_missing_key_of_a_replica_needs_the_key(backend: Backend) -> None:
    await make_feed(backend)
    delete(backend, "secret_key")
    delete(backend, "key")
    await refused(backend, MissingKeyError, "storage holds a feed")
    with pytest.raises(MissingKeyError):  # no key to read it with: refused even for audit
        await reopen_damaged(backend)
    backend.close_all()
    core = await reopen_damaged(backend, key=PK)
    report = await core.repair()
    assert report["length"] == 32 and any("restored the key file" in a for a in report["actions"])
    await core.close()
    backend.close_all()
    assert snapshot(backend)["key"] == PK


# -- bitfield, tree and signatures that lost more than the last batch --------------------------------


@pytest.mark.parametrize("cut", [None, 32, 34, 32 + 1024 + 3])
async def test_lost_bitfield_is_damage_not_an_empty_feed(backend: Backend, cut: int | None) -> None:
    await make_feed(backend)
    if cut is None:
        delete(backend, "bitfield")
    else:
        backend.patch("bitfield", lambda f: f.truncate(cut))
    message = await refused(backend, DamagedFeedError, "the bitfield lost blocks")
    assert "signatures up to length 32" in message
    core = await reopen_damaged(backend)
    before = snapshot(backend)
    with pytest.raises(DamagedFeedError):
        await core.append(b"must not overwrite block 0")
    await core.close()
    backend.close_all()
    assert snapshot(backend) == before
    await repaired(backend)


@pytest.mark.parametrize("file,cut,message", [
    ("signatures", 32 + 64 * 27, "signatures file ends inside the signed range"),
    ("signatures", 32, "signature of length 32 is missing but its tree is stored"),
    ("signatures", 32 + 64 * 31 + 10, "signature of length 32 is missing but its tree is stored"),
    ("signatures", 0, "signatures file is missing"),
    ("tree", 32 + 40 * 31 + 20, "cannot be verified"),
    ("tree", 32, "cannot be verified"),
])
async def test_truncated_tree_or_signatures_is_damage(backend: Backend, file: str, cut: int, message: str) -> None:
    await make_feed(backend)
    backend.patch(file, lambda f: f.truncate(cut))
    await refused(backend, DamagedFeedError, message)
    core = await reopen_damaged(backend)
    assert core.damage and core.length <= 31
    assert [core.read_block(i) for i in range(core.length)] == [block(i) for i in range(core.length)]
    with pytest.raises(DamagedFeedError):
        await core.append(b"x")
    await core.close()
    backend.close_all()
    # the writer's blocks all still hash to their leaves up to where the tree ends: it signs that again
    report = await repaired(backend, length=16 if (file, cut) == ("tree", 32 + 40 * 31 + 20) else
                            0 if file == "tree" else 32)
    assert report["actions"]


async def test_a_replicas_torn_last_batch_drops_back_only_that_batch(backend: Backend) -> None:
    await make_feed(backend)
    delete(backend, "secret_key")
    # the last batch (block 31, length 32) lost its signature and its root: an interrupted last write
    backend.patch("signatures", lambda f: f.truncate(32 + 64 * 31))
    backend.patch("tree", lambda f: f.write(32 + 40 * 31, bytes(40)))
    core = await open_feed(backend, key=PK)
    assert core.length == 31 and core.recovered == (32, 31) and not core.damage
    assert core.read_batch(0, 31) == [block(i) for i in range(31)]
    await core.close()


async def test_an_append_interrupted_before_its_bitfield_write_is_completed(backend: Backend) -> None:
    await make_feed(backend)
    before = snapshot(backend)
    # the last batch's bitfield update never landed: bits as they were at length 31
    storage = backend.open("short")
    core = Hypercore(storage, key=PK, secret_key=SK)
    await core.append([block(i) for i in range(31)])
    bits = storage.open("bitfield").read_all()
    await core.close()
    backend.close(storage)
    backend.patch("bitfield", lambda f: (f.truncate(0), f.write(0, bits)))
    assert snapshot(backend)["bitfield"] != before["bitfield"]
    core = await open_feed(backend)
    assert core.length == 32 and core.recovered == (31, 32) and not core.damage
    assert core.read_batch(0, 32) == [block(i) for i in range(32)]
    await core.close()


# -- signatures and the secret key ----------------------------------------------------------------------


@pytest.mark.parametrize("file,offset", [("signatures", 32 + 64 * 31 + 7), ("tree", 32 + 40 * 31 + 3)])
async def test_flipped_last_signature_or_root_is_repaired_to_the_same_signature(backend: Backend, file: str,
                                                                                offset: int) -> None:
    await make_feed(backend)
    signature = snapshot(backend)["signatures"]
    backend.patch(file, flip_at(offset))
    message = await refused(backend, LocalSignatureError, "does not verify")
    assert "repair" in message
    core = await reopen_damaged(backend)
    report = await core.audit()
    assert core.length == 31 and report["problems"] and report["invalid"] == 0
    await core.close()
    backend.close_all()
    await repaired(backend)
    # ed25519 is deterministic: the signature made again is the one that was lost (no fork)
    assert snapshot(backend)["signatures"][: len(signature)] == signature


async def test_flipped_secret_seed_never_signs(backend: Backend) -> None:
    await make_feed(backend)
    backend.patch("secret_key", flip_at(3))
    before = snapshot(backend)
    core = await open_feed(backend)  # readable and servable, not writable
    assert core.length == 32 and not core.writable and core.damage[0].file == "secret_key"
    with pytest.raises(SecretKeyError, match="secret key is damaged"):
        await core.append(b"x")
    await core.close()
    backend.close_all()
    assert snapshot(backend) == before
    # a damaged secret key given directly: the signature is checked before anything is written
    bad = bytes([SK[0] ^ 1]) + SK[1:]
    storage = backend.open("given")
    core = Hypercore(storage, key=PK, secret_key=SK)
    await core.append(b"block 0")
    await core.close()
    backend.close(storage)
    given = snapshot(backend, "given")
    storage = backend.open("given")
    core = Hypercore(storage, key=PK, secret_key=bad, store_secret_key=False)
    with pytest.raises(SecretKeyError):
        await core.ready()
        core.damage.clear()  # even past the open-time check, append verifies what it signed
        core.writable = True
        core._secret_key = bad  # type: ignore[attr-defined]
        await core.append(b"x")
    await core.close()
    backend.close(storage)
    assert snapshot(backend, "given") == given


async def test_flipped_bitfield_page_size_is_repaired(backend: Backend) -> None:
    await make_feed(backend)
    backend.patch("bitfield", flip_at(5))
    await refused(backend, DamagedFeedError, "impossible page size")
    report = await repaired(backend)
    assert "rewrote the bitfield header" in report["actions"]


async def test_repair_refuses_when_nothing_verifies(backend: Backend) -> None:
    await make_feed(backend)
    other, _ = crypto.key_pair(b"\x01" * 32)
    delete(backend, "secret_key")
    backend.patch("key", lambda f: f.write(0, other))
    before = snapshot(backend)
    core = await reopen_damaged(backend)
    with pytest.raises(DamagedFeedError, match="no stored signature"):
        await core.repair()
    await core.close()
    backend.close_all()
    assert snapshot(backend) == before


# -- blocks ----------------------------------------------------------------------------------------------


async def test_cleared_bit_is_reported_and_restored(backend: Backend) -> None:
    await make_feed(backend)
    backend.patch("bitfield", lambda f: f.write(32, bytes([f.read(32, 1)[0] & ~(0x80 >> 5)])))
    core = await open_feed(backend)
    assert core.length == 32 and not core.has(5)
    report = await core.audit()
    assert report["cleared_bits"] == [5] and report["invalid"] == 0
    await core.close()
    backend.close_all()
    report = await repaired(backend)
    assert any("rebuilt the bitfield" in a for a in report["actions"])


async def test_flipped_data_byte_repair_keeps_the_rest(backend: Backend) -> None:
    blocks = await make_feed(backend)
    backend.patch("data", flip_at(sum(len(b) for b in blocks[:10]) + 2))
    core = await reopen_damaged(backend, read_only=True)
    report = await core.audit()
    assert report["invalid_blocks"] == [10] and core.has(10)  # read-only: reported, nothing cleared
    await core.close()
    backend.close_all()
    core = await reopen_damaged(backend)
    report = await core.repair()
    assert report["length"] == 32 and report["missing"] == [10]
    with pytest.raises(Exception):
        await core.get(10, wait=False)
    assert [core.read_block(i) for i in range(32) if i != 10] == [b for i, b in enumerate(blocks) if i != 10]
    await core.close()


async def test_blocks_the_wire_cannot_carry_are_refused(backend: Backend) -> None:
    core = Hypercore(backend.open(), key=PK, secret_key=SK)
    await core.append(b"small")
    assert MAX_BLOCK_SIZE < MAX_FRAME
    with pytest.raises(BlockTooLargeError, match=f"at most {MAX_BLOCK_SIZE} bytes") as info:
        await core.append([b"ok", bytes(MAX_BLOCK_SIZE + 1)])
    assert "8 MiB" in str(info.value)
    assert core.length == 1
    await core.append(bytes(MAX_BLOCK_SIZE))  # the largest block replicates (see test_damaged_wire)
    assert core.length == 2
    await core.close()


async def test_read_only_open_writes_nothing(backend: Backend) -> None:
    await make_feed(backend)
    before = snapshot(backend)
    core = Hypercore(backend.open(), read_only=True)
    await core.ready()
    assert core.writable and core.length == 32
    with pytest.raises(ReadOnlyFeedError):
        await core.append(b"x")
    with pytest.raises(ReadOnlyFeedError):
        core.put(0, block(0), core.proof(0))
    await core.audit()
    await core.close()
    backend.close_all()
    assert snapshot(backend) == before
    with pytest.raises(Exception):  # nothing stored: read-only cannot create one
        await Hypercore(backend.open("empty"), read_only=True).ready()
    backend.close_all()
    assert snapshot(backend, "empty") == dict.fromkeys(FILES)


async def test_cat_like_reads_go_on_after_a_bad_block(backend: Backend) -> None:
    blocks = await make_feed(backend)
    backend.patch("data", flip_at(sum(len(b) for b in blocks[:3]) + 1))
    core = Hypercore(backend.open(), read_only=True)
    await core.ready()
    good = []
    for i in range(core.length):
        try:
            good.append(core.read_block(i))
        except BlockChecksumError:
            good.append(None)
    assert good == [None if i == 3 else b for i, b in enumerate(blocks)]
    await core.close()


def test_corrupt_storage_error_is_the_base() -> None:
    assert issubclass(DamagedFeedError, CorruptStorageError) and issubclass(MissingKeyError, DamagedFeedError)
    assert MemoryStorage(readonly=True).readonly
