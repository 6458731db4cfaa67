"""Byte-for-byte reproduction of vectors recorded from the real JS hypercore 7.7.1.

* ``shared/vectors/hypercore.json``: ten single appends with the seed-0x01 key pair; every step's new
  tree nodes, roots, tree hash, signature, length and byte length, then every storage file.
* The compat vectors quoted in the notes (hypercore's own ``test/compat.js``): the tree file after one
  batch ``a..f`` (also on a clone that verified every block), and the signature of the batch ``a, b, c``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hyperparty.feeds.hypercore import Hypercore, crypto
from hyperparty.storage.memory import MemoryStorage

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
VECTORS = json.loads((SHARED / "vectors" / "hypercore.json").read_text())
FILE_NAMES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")

try:  # the file and LMDB backends come from hyperparty.storage.open_storage
    from hyperparty.storage import open_storage
except ImportError:  # pragma: no cover - only while the storage package is incomplete
    open_storage = None

BACKENDS = ["memory", "file", "lmdb"]


@pytest.fixture(params=BACKENDS)
def storage_spec(request, tmp_path):
    if request.param == "memory":
        return "memory"
    if open_storage is None:
        pytest.skip("hyperparty.storage.open_storage is not available yet")
    return f"{request.param}:{tmp_path / 'feed'}"


def new_storage(spec: str):
    return MemoryStorage() if spec == "memory" else open_storage(spec)


def read_files(storage) -> dict[str, bytes]:
    out = {}
    for name in FILE_NAMES:
        out[name] = storage.open(name).read_all() if storage.exists(name) else b""
    return out


def tree_slots(raw: bytes) -> dict[int, bytes]:
    return {i: raw[32 + 40 * i : 72 + 40 * i] for i in range((len(raw) - 32) // 40)}


async def test_shared_vector_steps_and_files(storage_spec: str) -> None:
    storage = new_storage(storage_spec)
    core = Hypercore(storage, key=VECTORS["publicKey"], secret_key=VECTORS["secretKey"])
    await core.ready()
    assert core.key.hex() == VECTORS["publicKey"]
    assert core.discovery_key.hex() == VECTORS["discoveryKey"]
    assert core.writable

    before = tree_slots(read_files(storage)["tree"])
    for step in VECTORS["steps"]:
        seq = await core.append(bytes.fromhex(step["block"]["hex"]))
        assert seq == step["append"]
        assert core.length == step["length"]
        assert core.byte_length == step["byteLength"]
        after = tree_slots(read_files(storage)["tree"])
        changed = {i for i, slot in after.items() if slot != before.get(i, bytes(40))}
        assert changed == {n["index"] for n in step["newNodes"]}
        for n in step["newNodes"]:
            assert after[n["index"]] == bytes.fromhex(n["hash"]) + n["size"].to_bytes(8, "big")
        before = after
        roots = core.root_nodes()
        assert [(r.index, r.hash.hex(), r.size) for r in roots] == [
            (r["index"], r["hash"], r["size"]) for r in step["roots"]
        ]
        assert core.root_hash().hex() == step["treeHash"]
        slot, sig = core.signature()
        assert slot == step["length"] - 1
        assert sig.hex() == step["signature"]
        assert core.verify(slot, sig)

    for n in VECTORS["finalNodes"]:
        node = core.get_node(n["index"])
        assert (node.hash.hex(), node.size) == (n["hash"], n["size"])
    for i, blk in enumerate(VECTORS["blocks"]):
        assert await core.get(i) == bytes.fromhex(blk["hex"])
    await core.close()

    files = read_files(storage)
    for name, want in VECTORS["storageFiles"].items():
        assert files[name] == bytes.fromhex(want["hex"]), name
        assert len(files[name]) == want["size"]
    storage.close()


async def test_reopen_rewrites_nothing_but_headers(storage_spec: str) -> None:
    storage = new_storage(storage_spec)
    core = Hypercore(storage, key=VECTORS["publicKey"], secret_key=VECTORS["secretKey"])
    for step in VECTORS["steps"]:
        await core.append(bytes.fromhex(step["block"]["hex"]))
    await core.close()
    # reopen without passing any key: everything comes from storage
    core = Hypercore(storage)
    await core.ready()
    assert core.key.hex() == VECTORS["publicKey"] and core.writable
    assert core.length == 10 and core.byte_length == VECTORS["steps"][-1]["byteLength"]
    assert core.recovered is None
    await core.close()
    files = read_files(storage)
    for name, want in VECTORS["storageFiles"].items():
        assert files[name] == bytes.fromhex(want["hex"]), name
    storage.close()


async def test_vector_keys_and_hash_formulas() -> None:
    pk, sk = crypto.key_pair(bytes.fromhex(VECTORS["seed"]))
    assert pk.hex() == VECTORS["publicKey"] and sk.hex() == VECTORS["secretKey"]
    assert crypto.discovery_key(pk).hex() == VECTORS["discoveryKey"]
    for step in VECTORS["steps"]:
        leaf = next(n for n in step["newNodes"] if n["index"] == 2 * step["append"])
        assert crypto.leaf_hash(bytes.fromhex(step["block"]["hex"])).hex() == leaf["hash"]
        assert crypto.sign(bytes.fromhex(step["treeHash"]), sk).hex() == step["signature"]
        assert crypto.verify(bytes.fromhex(step["treeHash"]), bytes.fromhex(step["signature"]), pk)
    assert not crypto.verify(b"x" * 32, bytes.fromhex(VECTORS["steps"][0]["signature"]), pk)


# -- hypercore test/compat.js ---------------------------------------------------------------------------

COMPAT_TREE = [
    ("ab27d45f509274ce0d08f4f09ba2d0e0d8df61a0c2a78932e81b5ef26ef398df", 1),
    ("064321a8413be8c604599689e2c7a59367b031b598bceeeb16556a8f3252e0de", 2),
    ("94c17054005942a002c7c39fbb9c6183518691fb401436f1a2f329b380230af8", 1),
    ("8dfe81d576464773f848b9aba1c886fde57a49c283ab57f4a297d976d986651e", 4),
    ("1d2fadc9ce604c7e592949edc964e45aaa10990d7ee53328439ef9b2cf8aa6ff", 1),
    ("3a8dcc74e80b8314e8e13e1e462358cf58cf5fc4413a9b18a891ffacc551c395", 2),
    ("2828647a654a712738e35f49d1c05c676010be0b33882affc1d1e7e9fee59d40", 1),
    (None, 0),
    ("baac70b6d38243efa028ee977c462e4bec73d21d09ceb8cc16f4d4b1ee228a45", 1),
    ("d1b021632c7fab84544053379112ca7b165bb21283821816c5b6c89ff7f78e2d", 2),
    ("d2ab421cece792033058787a5ba72f3a701fddc25540d5924e9819d7c12e02f2", 1),
]
COMPAT_SECRET = bytes.fromhex(
    "53729c0311846cca9cc0eded07aaf9e6689705b6a0b1bb8c3a2a839b72fda383"
    "9718a1ff1c4ca79feac551c0c7212a65e4091278ec886b88be01ee4039682238"
)
COMPAT_SIGNATURE = (
    "11057675ed57d445ce7ed4613881be37ebc56bb40556b822e431bb4dc3517421"
    "f9a5e3ed124eb5c4db8367386d9ce12b2408613b9fec2837022772a635ffd807"
)


def expected_compat_tree() -> bytes:
    from hyperparty.feeds.hypercore.format import TREE_HEADER

    body = b"".join(
        (bytes.fromhex(h) + s.to_bytes(8, "big")) if h else bytes(40) for h, s in COMPAT_TREE
    )
    return TREE_HEADER + body


async def test_compat_tree_after_one_batch() -> None:
    storage = MemoryStorage()
    core = Hypercore(storage)
    await core.ready()
    assert await core.append(["a", "b", "c", "d", "e", "f"]) == 0
    files = read_files(storage)
    assert files["data"] == b"abcdef"
    assert len(files["tree"]) == 472
    assert files["tree"] == expected_compat_tree()

    # a clone that verified every block (in a scrambled order) ends with the same tree file
    clone_storage = MemoryStorage()
    clone = Hypercore(clone_storage, key=core.key)
    await clone.ready()
    assert not clone.writable
    for i in (3, 0, 5, 1, 4, 2):
        clone.put(i, await core.get(i), core.proof(i, digest=clone.digest(i)))
    assert read_files(clone_storage)["tree"] == expected_compat_tree()
    assert read_files(clone_storage)["data"] == b"abcdef"
    assert [await clone.get(i) for i in range(6)] == [b"a", b"b", b"c", b"d", b"e", b"f"]


async def test_compat_signature() -> None:
    storage = MemoryStorage()
    core = Hypercore(storage, secret_key=COMPAT_SECRET)
    await core.ready()
    assert core.key == COMPAT_SECRET[32:]
    await core.append(["a", "b", "c"])
    sigs = read_files(storage)["signatures"]
    assert sigs[32 : 32 + 128] == bytes(128)  # slots 0 and 1 stay blank: one signature per batch
    assert sigs[32 + 128 : 32 + 192].hex() == COMPAT_SIGNATURE
    roots = core.root_nodes()
    assert [r.index for r in roots] == [1, 4]
    assert crypto.verify(crypto.tree_hash(roots), bytes.fromhex(COMPAT_SIGNATURE), core.key)

