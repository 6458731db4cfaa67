"""Every file of a feed damaged in turn — a flipped byte, a truncation, a deletion — on the memory, file
and LMDB backends, and every command run on it: nothing ever writes over data or keys it could not verify.

For each damage the commands are the library's (open + append, a read-only audit, repair) and, on file
and LMDB, the command line's (``core info``, ``cat``, ``audit``, ``append``, ``init``).  The invariants:

* a command that fails, and every read-only command, leaves every byte of the storage as it was;
* ``key`` and ``secret_key`` never change (repair may only write a missing or damaged ``key`` file back
  as the public half of an intact ``secret_key``);
* an append that succeeds never overwrites a byte of the data, tree or signature slots of the feed as it
  was (it only writes past them);
* after ``repair`` the feed opens without damage (a damaged secret key stays reported), every block it
  holds is the block originally written, and every block that verified before repair still does.
"""

from __future__ import annotations

import json

import pytest

from hyperparty.cli import main
from hyperparty.feeds.hypercore import Hypercore, HypercoreError
from hyperparty.storage import MemoryStorage, StorageError

from test_crash_safety import PK, block, make_feed
from test_damaged_feeds import FILES, delete, snapshot
from util import Backend

LENGTH = 32
HEADERED = ("tree", "signatures", "bitfield")

FLIPS = {
    "key": [0, 31],
    "secret_key": [3, 40],
    "tree": [5, 32 + 40 * 6 + 5, 32 + 40 * 31 + 3, -1],
    "signatures": [4, 32 + 1, 32 + 64 * 31 + 7],
    "bitfield": [5, 32, 32 + 1024, 32 + 3072],
    "data": [0, -1],
}
CASES = (
    [(f, "flip", at) for f, offsets in FLIPS.items() for at in offsets]
    + [(f, "truncate", to) for f in FILES for to in ("empty", "half", "minus1")]
    + [(f, "delete", None) for f in FILES]
)


def damage(backend: Backend, file: str, how: str, where) -> None:
    if how == "delete":
        delete(backend, file)
        return

    def edit(f) -> None:
        size = f.size()
        if how == "flip":
            at = where % size
            f.write(at, bytes([f.read(at, 1)[0] ^ 0x40]))
        else:
            f.truncate({"empty": 0, "half": size // 2, "minus1": size - 1}[where])

    backend.patch(file, edit)


def unchanged_except_headers(before: dict, after: dict) -> bool:
    """Equal, but for the 32-byte headers of tree/signatures/bitfield (constants an open may rewrite)."""
    def norm(name: str, raw: bytes | None) -> bytes | None:
        return (raw or b"")[32:] if name in HEADERED else raw

    return all(norm(n, before[n]) == norm(n, after[n]) for n in FILES)


def check_append_kept_everything(before: dict, after: dict) -> None:
    """An append that succeeded wrote only past the feed's data, nodes and signatures."""
    assert after["key"] == before["key"] and after["secret_key"] == before["secret_key"]
    for name, end in (("data", sum(len(block(i)) for i in range(LENGTH))), ("tree", 32 + 40 * (2 * LENGTH - 1)),
                      ("signatures", 32 + 64 * LENGTH)):
        old = before[name] or b""
        new = after[name] or b""
        keep = min(len(old), end)
        assert new[32 if name != "data" else 0 : keep] == old[32 if name != "data" else 0 : keep], \
            f"an append wrote over the stored {name}"


def good_blocks(core: Hypercore) -> set[int]:
    """Blocks whose stored bytes a fresh replica accepts with the proof the feed gives for them (verified
    up to the signature: what "verifies" means), and that are the blocks originally written."""
    good = set()
    for i in range(min(core.length, LENGTH)):
        try:
            if not core.has(i):
                continue
            data = core.read_block(i)
            replica = Hypercore(MemoryStorage(), key=PK, sparse=True)
            replica.open_sync()
            replica.put(i, data, core.proof(i))
            if data == block(i):
                good.add(i)
        except HypercoreError:
            pass
    return good


def cli(*argv: str) -> tuple[int, list[dict]]:
    """Run ``hyperparty ARGV`` in-process (in a thread: the test's event loop is running here)."""
    import concurrent.futures
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            code = pool.submit(main, list(argv)).result()
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("file,how,where", CASES, ids=[f"{f}-{h}-{w}" for f, h, w in CASES])
async def test_no_command_writes_over_what_it_could_not_verify(backend: Backend, file: str, how: str,
                                                               where) -> None:
    await make_feed(backend)
    damage(backend, file, how, where)
    damaged = snapshot(backend)

    # -- open + append (the library) --------------------------------------------------------------------
    core = Hypercore(backend.open())
    appended = False
    try:
        await core.ready()
        await core.append(b"appended after the damage")
        appended = True
    except (HypercoreError, StorageError):
        pass
    finally:
        await core.close()
        backend.close_all()
    after = snapshot(backend)
    if appended:
        check_append_kept_everything(damaged, after)
    else:
        assert unchanged_except_headers(damaged, after), "a refused write changed the storage"
    damaged = after

    # -- read-only commands -------------------------------------------------------------------------------
    before_repair: set[int] = set()
    try:
        core = Hypercore(backend.open(), read_only=True, allow_damaged=True)
        await core.ready()
        await core.audit()
        before_repair = good_blocks(core)
        await core.close()
    except (HypercoreError, StorageError):
        pass
    backend.close_all()
    assert snapshot(backend) == damaged, "a read-only open wrote"
    if backend.kind != "memory":
        spec = f"{backend.kind}:{backend.tmp_path / 'feed'}"
        for command in (("info",), ("cat",), ("audit",)):
            code, out = cli("core", *command, "--storage", spec)
            assert snapshot(backend) == damaged, f"core {command[0]} wrote"
            if command == ("info",) and file in ("data", "bitfield", "signatures", "tree"):
                assert code == 0 and out[0]["key"] == PK.hex(), "info must show a damaged feed"
        code, _ = cli("core", "init", "--storage", spec)
        code_append, _ = cli("core", "append", "--storage", spec, "cli block")
        after = snapshot(backend)
        if code_append == 0:
            check_append_kept_everything(damaged, after)
        else:
            assert unchanged_except_headers(damaged, after), "a refused command changed the storage"
        assert after["key"] == damaged["key"] and after["secret_key"] == damaged["secret_key"]
        damaged = after

    # -- repair ---------------------------------------------------------------------------------------------
    core = Hypercore(backend.open(), allow_damaged=True)
    try:
        await core.ready()
        await core.repair()
    except (HypercoreError, StorageError):
        await core.close()
        backend.close_all()
        assert unchanged_except_headers(damaged, snapshot(backend)), "a refused repair changed the storage"
        return
    await core.close()
    backend.close_all()
    after = snapshot(backend)
    assert after["secret_key"] == damaged["secret_key"]
    assert after["key"] == damaged["key"] or (after["key"] == PK and damaged["secret_key"] is not None
                                              and damaged["secret_key"][32:] == PK)
    core = Hypercore(backend.open())
    await core.ready()
    assert all(p.file == "secret_key" for p in core.damage)
    for i in range(core.length):
        if core.has(i):
            assert core.read_block(i) == block(i) or i >= LENGTH
    assert before_repair <= good_blocks(core) | set(range(LENGTH, core.length)), "repair lost a block that verified"
    await core.close()
