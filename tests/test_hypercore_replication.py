"""Proofs and verified writes (``proof``/``digest``/``put``): what replication is built on.

* the Request digests and Data proofs of two sessions recorded from JS (shared/vectors/protocol.json);
* a writer's proofs for every index (digest 0, and the digest a sparse replica computes with a shared
  per-peer remote tree) verified by fresh key-only replicas in random order;
* tampered data/nodes/signatures raise the JS errors and leave every replica file unchanged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from hyperparty.feeds.hypercore import (
    ChecksumError,
    Hypercore,
    MissingRootsError,
    MissingSignatureError,
    NoProofError,
    Node,
    Proof,
    SignatureVerificationError,
    TreeIndex,
    VerificationError,
    crypto,
)
from hyperparty.storage.memory import MemoryStorage

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
PROTOCOL = json.loads((SHARED / "vectors" / "protocol.json").read_text())
FILE_NAMES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")


def snapshot(storage: MemoryStorage) -> dict[str, bytes]:
    return {n: bytes(storage.open(n).read_all()) for n in FILE_NAMES if storage.exists(n)}


def messages(session: str, side: str, name: str) -> list[dict]:
    return [m["fields"] for m in PROTOCOL["sessions"][session]["sides"][side]["messages"] if m.get("name") == name]


def as_proof(fields: dict) -> SimpleNamespace:
    """A protocol Data message's fields as a duck-typed proof (what replication passes to put)."""
    nodes = [SimpleNamespace(index=n["index"], hash=bytes.fromhex(n["hash"]), size=n["size"]) for n in fields["nodes"]]
    sig = bytes.fromhex(fields["signature"]) if fields.get("signature") else None
    return SimpleNamespace(nodes=nodes, signature=sig)


async def seeded_writer(seed: int, blocks: list[bytes]) -> Hypercore:
    pk, sk = crypto.key_pair(bytes([seed]) * 32)
    core = Hypercore(MemoryStorage(), key=pk, secret_key=sk)
    await core.ready()
    for b in blocks:
        await core.append(b)
    return core


def check_data_message(writer: Hypercore, request: dict, data: dict, remote_tree: TreeIndex) -> None:
    proof = writer.proof(request["index"], digest=request["nodes"], hash=request["hash"], remote_tree=remote_tree)
    assert [(n.index, n.hash.hex(), n.size) for n in proof.nodes] == [
        (n["index"], n["hash"], n["size"]) for n in data["nodes"]
    ]
    assert (proof.signature.hex() if proof.signature else None) == data.get("signature")


async def test_js_session_non_live() -> None:
    writer = await seeded_writer(1, [b"a", b"b", b"c"])
    clone = Hypercore(MemoryStorage(), key=writer.key)
    await clone.ready()
    requests = {r["index"]: r for r in messages("hypercoreNonLive", "B", "Request")}
    remote_tree = TreeIndex()
    for r in requests.values():  # all three were sent before any data arrived
        assert clone.digest(r["index"]) == r["nodes"]
    for data in messages("hypercoreNonLive", "A", "Data"):
        check_data_message(writer, requests[data["index"]], data, remote_tree)
        clone.put(data["index"], bytes.fromhex(data["value"]), as_proof(data))
    result = PROTOCOL["sessions"]["hypercoreNonLive"]["result"]
    assert clone.length == result["cloneLength"] == 3
    assert [await clone.get(i) for i in range(3)] == [b"a", b"b", b"c"]


async def test_js_session_live() -> None:
    writer = await seeded_writer(1, [b"a", b"b"])
    clone = Hypercore(MemoryStorage(), key=writer.key)
    await clone.ready()
    requests = messages("hypercoreLive", "B", "Request")
    datas = {d["index"]: d for d in messages("hypercoreLive", "A", "Data")}
    remote_tree = TreeIndex()
    for r in requests[:2]:
        assert clone.digest(r["index"]) == r["nodes"] == 0
    for r in requests[:2]:
        check_data_message(writer, r, datas[r["index"]], remote_tree)
    for r in requests[:2]:
        clone.put(r["index"], bytes.fromhex(datas[r["index"]]["value"]), as_proof(datas[r["index"]]))
    await writer.append(b"c")
    last = requests[2]
    assert clone.digest(2) == last["nodes"] == 4  # "I have node 1 (a trusted root)"
    check_data_message(writer, last, datas[2], remote_tree)
    appended = []
    clone.on("append", lambda: appended.append(clone.length))
    clone.put(2, b"c", as_proof(datas[2]))
    assert appended == [3] and clone.length == 3 and clone.byte_length == 3


async def make_writer(n: int, seed: int = 3) -> tuple[Hypercore, list[bytes]]:
    rnd = random.Random(seed)
    pk, sk = crypto.key_pair(bytes([seed]) * 32)
    writer = Hypercore(MemoryStorage(), key=pk, secret_key=sk)
    await writer.ready()
    blocks = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40))) for _ in range(n)]
    i = 0
    while i < n:  # mixed single appends and batches
        size = rnd.choice([1, 1, 2, 5, 17])
        await writer.append(blocks[i : i + size] if size > 1 else blocks[i])
        i += size
    return writer, blocks


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_every_index_digest_zero_random_order(seed: int) -> None:
    writer, blocks = await make_writer(75, seed)
    n = writer.length
    proofs = {i: writer.proof(i) for i in range(n)}  # digest 0: full path + roots + signature
    for i, p in proofs.items():
        assert p.signature is not None and p.verified_by == 2 * n
    replica_storage = MemoryStorage()
    replica = Hypercore(replica_storage, key=writer.key, sparse=True)
    await replica.ready()
    order = list(range(n))
    random.Random(seed).shuffle(order)
    for i in order:
        replica.put(i, blocks[i], proofs[i])
        assert replica.length == n
    assert replica.byte_length == writer.byte_length
    assert [await replica.get(i) for i in range(n)] == blocks
    for node_index in range(2 * n):
        if writer.tree.get(node_index):
            assert replica.tree.get(node_index)
            assert replica.get_node(node_index) == writer.get_node(node_index)
    assert replica.has(0, n)


async def test_sparse_replica_digests_with_peer_memory() -> None:
    writer, blocks = await make_writer(200, 9)
    n = writer.length
    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    remote_tree = TreeIndex()  # the writer's memory of this peer, kept across requests
    rnd = random.Random(4)
    sizes = []
    for i in rnd.sample(range(n), n):
        digest = replica.digest(i)
        proof = writer.proof(i, digest=digest, remote_tree=remote_tree)
        sizes.append(len(proof.nodes))
        replica.put(i, blocks[i], proof)
    assert replica.length == n
    assert [await replica.get(i) for i in range(n)] == blocks
    # later requests need few nodes: the digest says what the replica already has
    assert sum(sizes[-50:]) < sum(sizes[:50])
    # a second replica catching up from a shorter writer state gets 'append' growth
    assert writer.proof(0, digest=1).nodes == []


async def test_hash_only_then_value() -> None:
    writer, blocks = await make_writer(20, 5)
    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    proof = writer.proof(7, hash=True, digest=replica.digest(7))
    assert proof.nodes[0].index == 14
    replica.put(7, None, proof)
    assert replica.tree.get(14) and not replica.has(7) and replica.length == 20
    digest = replica.digest(7)
    assert digest == 1
    value_proof = writer.proof(7, digest=digest)
    assert value_proof.nodes == [] and value_proof.signature is None
    replica.put(7, blocks[7], value_proof)
    assert await replica.get(7) == blocks[7]


async def test_replica_follows_a_growing_feed() -> None:
    writer, blocks = await make_writer(10, 6)
    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    replica.put(3, blocks[3], writer.proof(3))
    assert replica.length == 10
    more = [b"x" * k for k in range(1, 8)]
    await writer.append(more)
    lengths = []
    replica.on("append", lambda: lengths.append(replica.length))
    replica.put(15, more[5], writer.proof(15, digest=replica.digest(15)))
    assert lengths == [17] and replica.byte_length == writer.byte_length
    # an old proof (shorter tree) does not shrink anything
    replica.put(4, blocks[4], writer.proof(4, digest=replica.digest(4)))
    assert replica.length == 17


async def test_no_proof_for_missing_block() -> None:
    writer, _ = await make_writer(3)
    with pytest.raises(NoProofError, match="No proof available for this index"):
        writer.proof(3)


# -- tampering -----------------------------------------------------------------------------------------


def flip(b: bytes, at: int = 0) -> bytes:
    out = bytearray(b)
    out[at] ^= 0x01
    return bytes(out)


def tampered(proof: Proof, **changes) -> Proof:
    return Proof(changes.get("nodes", proof.nodes), changes.get("signature", proof.signature), proof.verified_by)


@pytest.mark.parametrize("prefill", [False, True])
async def test_tampered_puts_leave_storage_unchanged(prefill: bool) -> None:
    writer, blocks = await make_writer(40, 7)
    other, other_blocks = await make_writer(40, 8)
    storage = MemoryStorage()
    replica = Hypercore(storage, key=writer.key, sparse=True)
    await replica.ready()
    if prefill:  # a replica that already trusts some roots and nodes
        for i in (0, 13, 39):
            replica.put(i, blocks[i], writer.proof(i, digest=replica.digest(i)))
    target = 21
    digest = replica.digest(target)
    good = writer.proof(target, digest=digest)
    assert good.nodes, "the proof must carry nodes for this test to mean anything"
    n0 = good.nodes[0]
    cases = {
        "data": (flip(blocks[target]) if blocks[target] else b"\x01", good),
        "longer data": (blocks[target] + b"!", good),
        "node hash": (blocks[target], tampered(good, nodes=[Node(n0.index, flip(n0.hash), n0.size)] + good.nodes[1:])),
        "node size": (blocks[target], tampered(good, nodes=[Node(n0.index, n0.hash, n0.size + 1)] + good.nodes[1:])),
        "other feed": (other_blocks[target], other.proof(target, digest=digest)),
    }
    if good.signature is not None:
        cases["signature"] = (blocks[target], tampered(good, signature=flip(good.signature, 10)))
        cases["no signature"] = (blocks[target], tampered(good, signature=None))
    cases["dropped last node"] = (blocks[target], tampered(good, nodes=good.nodes[:-1]))

    before = snapshot(storage)
    length = replica.length
    for name, (data, proof) in cases.items():
        with pytest.raises(VerificationError) as info:
            replica.put(target, data, proof)
        assert snapshot(storage) == before, name
        assert not replica.has(target) and replica.length == length, name
        if name == "signature":
            assert isinstance(info.value, SignatureVerificationError)
            assert str(info.value) == "Remote signature could not be verified"
        if name == "no signature" and prefill:
            assert isinstance(info.value, MissingSignatureError)
    # the genuine proof still works afterwards
    replica.put(target, blocks[target], good)
    assert await replica.get(target) == blocks[target]


async def test_error_messages_of_roots_and_checksum() -> None:
    writer, blocks = await make_writer(12, 11)
    fresh = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await fresh.ready()
    proof = writer.proof(2)
    with pytest.raises(ChecksumError, match="Remote checksum failed"):
        fresh.put(2, blocks[2], tampered(proof, signature=None))  # unsigned tree must hash to the key
    assert [n.index for n in proof.nodes] == [6, 1, 11, 19]  # path to root 7, then the other root
    # without node 11 the climb stops at 3, and root 7 cannot be formed
    without_uncle = Proof([proof.nodes[0], proof.nodes[1], proof.nodes[3]], proof.signature)
    with pytest.raises(MissingRootsError, match="Missing tree roots needed for verify"):
        fresh.put(2, blocks[2], without_uncle)
    # without root 19 the proof looks like a tree of 8 blocks: the signature does not match it
    with pytest.raises(SignatureVerificationError):
        fresh.put(2, blocks[2], Proof(proof.nodes[:3], proof.signature))
    with pytest.raises(VerificationError):
        fresh.put(2, None, Proof([], None))  # hash-only response without the node
    with pytest.raises(VerificationError):
        fresh.put(2, blocks[2], SimpleNamespace(nodes=[SimpleNamespace(index=1, hash=b"short", size=1)], signature=None))
    assert fresh.length == 0 and not fresh.has(2)


async def test_reopening_a_replica_changes_nothing() -> None:
    writer, blocks = await make_writer(300, 12)
    storage = MemoryStorage()
    replica = Hypercore(storage, key=writer.key, sparse=True)
    await replica.ready()
    rnd = random.Random(5)
    remote_tree = TreeIndex()
    for i in rnd.sample(range(writer.length), 60):
        if rnd.random() < 0.3:
            replica.put(i, None, writer.proof(i, hash=True, digest=replica.digest(i), remote_tree=remote_tree))
        else:
            replica.put(i, blocks[i], writer.proof(i, digest=replica.digest(i), remote_tree=remote_tree))
    length, byte_length = replica.length, replica.byte_length
    stored = [i for i in range(writer.length) if replica.has(i)]
    await replica.close()
    before = snapshot(storage)
    again = Hypercore(storage, key=writer.key, sparse=True)
    await again.ready()
    assert (again.length, again.byte_length, again.recovered) == (length, byte_length, None)
    assert [i for i in range(writer.length) if again.has(i)] == stored
    assert snapshot(storage) == before
    assert [await again.get(i) for i in stored] == [blocks[i] for i in stored]
