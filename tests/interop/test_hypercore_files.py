"""Python hypercore (hyperparty.feeds.hypercore) <-> real hypercore 7.7.1 on the same storage files.

- byte equality: the six storage files Python writes for a seed and a sequence of appends (single and
  batched) equal, byte for byte, the files JS writes for the same seed and appends;
- JS opens, audits, proof-verifies and reads a Python-written feed (core-read.js), appends to it
  (core-write.js), and Python reads the result back;
- Python opens, audits and reads a JS-written feed, and a sparse JS replica made by replication;
- the same through the file backend, `Hypercore(open_storage("file:DIR"), key=..., secret_key=...)`.

The memory-backed tests move bytes between a MemoryStorage and a directory, so they check the file
format independently of the file backend; the `file:` tests check the backend itself.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Sequence

import pytest
from nacl.bindings import crypto_sign_seed_keypair

from jsnode import NodeProcess, find_event, run_node

REPO = Path(__file__).resolve().parents[2]
OUR_VECTORS = REPO / "tests" / "vectors"
FILES = ["key", "secret_key", "tree", "data", "bitfield", "signatures"]
SEED1 = bytes([1]) * 32

Ops = Sequence[Sequence[bytes]]  # each inner sequence = one append call (1 block: append(b), more: one batch)


def _shared_ten() -> list[list[bytes]]:
    blocks = [b"a", b"bc", b"", b"def", b"hello world", b"0123456789" * 10, b"g", bytes(range(256)), b"hi", b"last block"]
    return [[b] for b in blocks]


def _vector_ops() -> list[list[bytes]]:
    doc = json.loads((OUR_VECTORS / "hypercore.json").read_text())
    return [[bytes.fromhex(b["hex"]) for b in s["blocks"]] for s in doc["steps"]]


CASES: dict[str, Ops] = {
    "singles": _shared_ten(),
    "one-batch": [[b"a", b"b", b"c", b"d", b"e", b"f"]],
    "mixed": [[b"x"], [b"", b"yy", b"zzz"], [b"w"], [bytes([i]) * i for i in range(1, 12)], [b"end"]],
    "vector-ops": _vector_ops(),
    # more than one bitfield page (8192 blocks per page) and a batch that crosses the page boundary
    "two-pages": [[i.to_bytes(2, "big") for i in range(8000)], [i.to_bytes(2, "big") for i in range(400)], [b"last"]],
}


def ops_hex(ops: Ops) -> str:
    """The --ops-hex argument of core-write.js."""
    return ";".join(",".join(b.hex() for b in op) for op in ops)


def flat(ops: Ops) -> list[bytes]:
    return [b for op in ops for b in op]


def keypair(seed: bytes) -> tuple[bytes, bytes]:
    pk, sk = crypto_sign_seed_keypair(seed)
    return pk, sk


def hypercore_api():
    from hyperparty.feeds.hypercore import Hypercore

    return Hypercore


def memory_storage(files: dict[str, bytes] | None = None):
    from hyperparty.storage.memory import MemoryStorage

    return MemoryStorage({k: bytearray(v) for k, v in (files or {}).items()})


def file_storage(d: Path):
    try:
        from hyperparty.storage import open_storage
    except ImportError as exc:  # the contract says storage/__init__.py exports it
        pytest.fail(f"hyperparty.storage.open_storage is not available: {exc}")
    return open_storage(f"file:{d}")


def storage_bytes(storage) -> dict[str, bytes]:
    return {name: bytes(storage.open(name).read_all()) for name in FILES if storage.exists(name)}


def dir_bytes(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in FILES if (d / name).exists()}


def write_dir(d: Path, files: dict[str, bytes]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)


async def py_append_all(feed, ops: Ops) -> None:
    for op in ops:
        await feed.append(op[0] if len(op) == 1 else list(op))


async def py_write(storage, seed: bytes, ops: Ops) -> None:
    pk, sk = keypair(seed)
    feed = hypercore_api()(storage, key=pk, secret_key=sk)
    await feed.ready()
    await py_append_all(feed, ops)
    assert feed.length == len(flat(ops))
    await feed.close()


async def py_read_all(feed) -> list[bytes | None]:
    return [await feed.get(i, wait=False) if feed.has(i) else None for i in range(feed.length)]


async def js(script: str, *args, timeout: float = 30) -> list[dict]:
    return await asyncio.to_thread(run_node, script, *args, timeout=timeout)


def assert_same_files(python: dict[str, bytes], javascript: dict[str, bytes]) -> None:
    assert sorted(python) == sorted(javascript) == sorted(FILES)
    for name in FILES:
        p, j = python[name], javascript[name]
        if p != j:
            first = next((i for i in range(min(len(p), len(j))) if p[i] != j[i]), min(len(p), len(j)))
            pytest.fail(f"{name}: python {len(p)} B vs js {len(j)} B, first difference at byte {first}")


def assert_js_verified(res: dict, ops: Ops, *, writable: bool) -> None:
    blocks = flat(ops)
    assert res["length"] == len(blocks)
    assert res["byteLength"] == sum(map(len, blocks))
    assert res["writable"] is writable
    assert res["audit"] == {"valid": len(blocks), "invalid": 0}
    assert res["proofs"] == {"verified": len(blocks), "failed": 0}
    assert res["signatureVerified"] is True
    assert res["blocks"] == [b.hex() for b in blocks]


# ------------------------------------------------------------------------------------------------
# file format (memory backend <-> directory)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_python_files_equal_js_files(tmp_path: Path, case: str) -> None:
    ops = CASES[case]
    d = tmp_path / "js"
    [out] = await js("core-write.js", "--dir", d, "--seed", SEED1.hex(), "--ops-hex", ops_hex(ops))
    assert out["length"] == len(flat(ops))
    storage = memory_storage()
    await py_write(storage, SEED1, ops)
    assert_same_files(storage_bytes(storage), dir_bytes(d))


async def test_python_reproduces_our_vectors() -> None:
    doc = json.loads((OUR_VECTORS / "hypercore.json").read_text())
    pk, sk = keypair(bytes.fromhex(doc["seed"]))
    storage = memory_storage()
    feed = hypercore_api()(storage, key=pk, secret_key=sk)
    await feed.ready()
    for step in doc["steps"]:
        blocks = [bytes.fromhex(b["hex"]) for b in step["blocks"]]
        seq = await feed.append(blocks[0] if step["op"] == "append" else blocks)
        assert (seq, feed.length, feed.byte_length) == (step["seq"], step["length"], step["byteLength"])
        slot, sig = feed.signature(feed.length - 1)
        assert (slot, sig.hex()) == (step["signatureSlot"], step["signature"])
        assert feed.root_hash().hex() == step["treeHash"]
        if step["step"] == doc["checkpoint"]["afterStep"]:
            assert storage_bytes(storage) == {k: bytes.fromhex(v["hex"]) for k, v in doc["checkpoint"]["storageFiles"].items()}
    await feed.close()
    assert storage_bytes(storage) == {k: bytes.fromhex(v["hex"]) for k, v in doc["storageFiles"].items()}


async def test_js_reads_python_feed_then_appends(tmp_path: Path) -> None:
    ops = CASES["mixed"]
    storage = memory_storage()
    await py_write(storage, SEED1, ops)
    d = tmp_path / "py"
    write_dir(d, storage_bytes(storage))

    [res] = await js("core-read.js", "--dir", d)
    assert_js_verified(res, ops, writable=True)

    # JS reopens the Python feed from its stored keys and appends a batch and a single block
    more: Ops = [[b"js-1", b"js-2"], [b"js-3"]]
    [out] = await js("core-write.js", "--dir", d, "--ops-hex", ops_hex(more))
    assert out["length"] == len(flat(ops)) + 3

    # Python opens what JS left and sees a valid, still writable feed
    feed = hypercore_api()(memory_storage(dir_bytes(d)))
    await feed.ready()
    assert feed.writable and feed.length == len(flat(ops)) + 3
    assert await py_read_all(feed) == flat(ops) + flat(more)
    slot, sig = feed.signature(feed.length - 1)
    assert slot == feed.length - 1 and feed.verify(slot, sig)
    report = await feed.audit()
    assert (report["valid"], report["invalid"], report["bad_nodes"], report["signature_ok"]) == (feed.length, 0, [], True)
    await feed.close()


async def test_python_reads_js_feed(tmp_path: Path) -> None:
    ops = CASES["vector-ops"]
    d = tmp_path / "js"
    [out] = await js("core-write.js", "--dir", d, "--seed", "07" * 32, "--ops-hex", ops_hex(ops))
    files = dir_bytes(d)
    pk, _ = keypair(bytes([7]) * 32)
    assert files["key"] == pk

    # read-only: no secret_key file, key given
    ro_files = {k: v for k, v in files.items() if k != "secret_key"}
    feed = hypercore_api()(memory_storage(ro_files), key=pk)
    await feed.ready()
    assert not feed.writable
    assert (feed.length, feed.byte_length) == (out["length"], out["byteLength"])
    assert feed.key.hex() == out["key"] and feed.discovery_key.hex() == out["discoveryKey"]
    assert await py_read_all(feed) == flat(ops)
    for i in range(feed.length):
        slot, sig = feed.signature(i)
        assert feed.verify(slot, sig)
    report = await feed.audit()
    assert (report["valid"], report["invalid"], report["bad_nodes"], report["signature_ok"]) == (feed.length, 0, [], True)
    await feed.close()

    # writable: Python appends to the JS feed, JS verifies the result
    storage = memory_storage(files)
    feed = hypercore_api()(storage)
    await feed.ready()
    assert feed.writable
    await feed.append([b"py-1", b"py-2"])
    await feed.close()
    d2 = tmp_path / "js-then-py"
    write_dir(d2, storage_bytes(storage))
    [res] = await js("core-read.js", "--dir", d2)
    assert_js_verified(res, [*ops, [b"py-1", b"py-2"]], writable=True)


async def test_python_reads_sparse_js_replica(tmp_path: Path) -> None:
    blocks = [f"blk{i}".encode() for i in range(12)]
    key = keypair(SEED1)[0].hex()
    clone = tmp_path / "clone"
    async with NodeProcess("core-serve.js", "--memory", "--seed", SEED1.hex(), "--port", "0", *[b.decode() for b in blocks]) as serve:
        port = (await serve.read_event("listening"))["port"]
        events = await js("core-fetch.js", "--key", key, "--connect", f"127.0.0.1:{port}", "--dir", clone, "--sparse", "--start", "4", "--end", "7")
        assert find_event(events, "done")["downloaded"] == 3

    from hyperparty.feeds.hypercore import BlockNotAvailable

    feed = hypercore_api()(memory_storage(dir_bytes(clone)), key=bytes.fromhex(key), sparse=True)
    await feed.ready()
    assert feed.length == 12 and not feed.writable
    assert [feed.has(i) for i in range(12)] == [4 <= i < 7 for i in range(12)]
    assert [await feed.get(i, wait=False) for i in range(4, 7)] == blocks[4:7]
    with pytest.raises(BlockNotAvailable):
        await feed.get(0, wait=False)
    report = await feed.audit()
    assert (report["valid"], report["invalid"], report["bad_nodes"]) == (3, 0, [])
    await feed.close()


# ------------------------------------------------------------------------------------------------
# file backend


async def test_file_backend_python_dir_read_by_js(tmp_path: Path) -> None:
    ops = CASES["mixed"]
    d = tmp_path / "py"
    storage = file_storage(d)
    await py_write(storage, SEED1, ops)
    storage.close()
    assert set(FILES) <= {p.name for p in d.iterdir()}
    [res] = await js("core-read.js", "--dir", d)
    assert_js_verified(res, ops, writable=True)


async def test_file_backend_js_dir_opened_by_python(tmp_path: Path) -> None:
    ops = CASES["singles"]
    d = tmp_path / "js"
    await js("core-write.js", "--dir", d, "--seed", SEED1.hex(), "--ops-hex", ops_hex(ops))
    pk, sk = keypair(SEED1)
    storage = file_storage(d)
    feed = hypercore_api()(storage, key=pk, secret_key=sk)
    await feed.ready()
    assert feed.writable and feed.length == len(ops)
    assert await py_read_all(feed) == flat(ops)
    report = await feed.audit()
    assert (report["valid"], report["invalid"], report["signature_ok"]) == (len(ops), 0, True)
    await feed.append(b"from python")
    await feed.close()
    storage.close()
    [res] = await js("core-read.js", "--dir", d)
    assert_js_verified(res, [*ops, [b"from python"]], writable=True)


@pytest.mark.parametrize("case", ["one-batch", "vector-ops"])
async def test_file_backend_bytes_equal(tmp_path: Path, case: str) -> None:
    ops = CASES[case]
    await js("core-write.js", "--dir", tmp_path / "js", "--seed", SEED1.hex(), "--ops-hex", ops_hex(ops))
    storage = file_storage(tmp_path / "py")
    await py_write(storage, SEED1, ops)
    storage.close()
    assert_same_files(dir_bytes(tmp_path / "py"), dir_bytes(tmp_path / "js"))
