"""Byte-for-byte reproduction of vectors recorded from the real JS hyperdrive 9.16.0.

* ``shared/vectors/hyperdrive.json``: the four operations of the shared recording (metadata and content
  blocks, roots, tree hash, signature, content key derivation, answers; the clone's answers after a
  non-live replication between two Python drives);
* ``tests/vectors/hyperdrive.json`` (``tests/interop/js/gen-hyperdrive-vectors.js``): 28 operations
  replayed through the Python API, every metadata and content block compared per step, then the feeds'
  roots and signatures, readdir/stat/readFile/exists, the history, the same answers on checkouts, and
  the path normalisation table.  Run on every storage backend.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdrive import Hyperdrive, HyperdriveError, content_key_pair, normalize
from hyperparty.protocol import pipe

from hyperdrive_ops import run_op, stat_json

ROOT = Path(__file__).resolve().parents[1]
SHARED = json.loads((ROOT / ".." / "shared" / "vectors" / "hyperdrive.json").read_text())
OURS = json.loads((ROOT / "tests" / "vectors" / "hyperdrive.json").read_text())


def block_info(buf: bytes) -> dict:
    """What the generator records for a block (or a whole file)."""
    if len(buf) > 256:
        return {"size": len(buf), "sha256": hashlib.sha256(buf).hexdigest()}
    out = {"hex": buf.hex(), "size": len(buf)}
    try:
        text = buf.decode("utf-8")
        if all(0x20 <= ord(c) <= 0x7E for c in text):
            out["text"] = text
    except UnicodeDecodeError:
        pass
    return out


async def or_none(coro, encode=lambda x: x):
    try:
        return encode(await coro)
    except HyperdriveError:
        return None


async def answers(drive, expected: dict) -> dict:
    out: dict = {"readdir": {}, "stat": {}, "readFile": {}, "exists": {}}
    for d in expected["readdir"]:
        out["readdir"][d] = await or_none(drive.readdir(d))
    for p in expected["stat"]:
        out["stat"][p] = await or_none(drive.stat(p), stat_json)
        out["exists"][p] = await drive.exists(p)
        if out["stat"][p] and out["stat"][p]["isFile"]:
            out["readFile"][p] = await or_none(drive.read_file(p), block_info)
    return out


def feed_json(core) -> dict:
    roots = core.root_nodes()
    return {
        "key": core.key.hex(), "discoveryKey": core.discovery_key.hex(), "length": core.length,
        "byteLength": core.byte_length, "roots": [{"index": r.index, "hash": r.hash.hex(), "size": r.size} for r in roots],
        "treeHash": core.root_hash().hex(), "signature": core.signature()[1].hex(),
    }


def open_drive(backend, name: str = "drive", **options) -> Hyperdrive:
    return Hyperdrive(backend.open(name), **options)


# ------------------------------------------------------------------------------------------------
# shared vectors


def test_content_key_derivation() -> None:
    public, secret = content_key_pair(bytes.fromhex(SHARED["secretKey"]))
    assert public.hex() == SHARED["contentPublicKey"]
    assert secret.hex() == SHARED["contentSecretKey"]
    assert secret[:32].hex() == SHARED["contentSeed"]


async def test_shared_vectors(backend) -> None:
    drive = open_drive(backend, secret_key=bytes.fromhex(SHARED["secretKey"]))
    await drive.ready()
    for op in SHARED["operations"]:
        spec = [op[0], op[1], {"text": op[2]}] if op[0] == "writeFile" else op
        await run_op(drive, spec)
    md, content = drive.metadata, drive.content
    assert [md.read_block(i).hex() for i in range(md.length)] == [b["hex"] for b in SHARED["metadata"]["blocks"]]
    assert [content.read_block(i).hex() for i in range(content.length)] == [b["hex"] for b in SHARED["content"]["blocks"]]
    for label, core in (("metadata", md), ("content", content)):
        got, want = feed_json(core), SHARED[label]
        for k in ("key", "discoveryKey", "length", "byteLength", "roots", "treeHash", "signature"):
            assert got[k] == want[k], (label, k)
    a = SHARED["answers"]
    assert drive.version == a["version"]
    assert {d: await drive.readdir(d) for d in a["readdir"]} == a["readdir"]
    assert {p: (await drive.read_file(p)).decode() for p in a["readFile"]} == a["readFile"]
    assert {p: await drive.exists(p) for p in a["exists"]} == a["exists"]
    assert {p: (await drive.stat(p)).to_json() for p in a["stat"]} == a["stat"]

    clone = open_drive(backend, "clone", key=drive.key)
    await asyncio.wait_for(pipe(drive.replicate(), clone.replicate()).wait(), 10)
    assert await clone.readdir("/") == SHARED["cloneAnswers"]["readdir"]
    assert (await clone.read_file("/d/x")).decode() == SHARED["cloneAnswers"]["readFile"]
    assert clone.content.key.hex() == SHARED["contentPublicKey"] and not clone.writable
    await clone.close()
    await drive.close()


# ------------------------------------------------------------------------------------------------
# our vectors


def test_our_vectors_start_with_the_shared_ones() -> None:
    blocks = [b for step in OURS["steps"][:4] for b in step["metadata"]]
    assert OURS["seed"] == SHARED["seed"]
    assert blocks == [b["hex"] for b in SHARED["metadata"]["blocks"]][1:]


async def test_our_vectors_replayed(backend) -> None:
    seed = bytes.fromhex(OURS["seed"])
    drive = open_drive(backend, secret_key=key_pair(seed)[1])
    await drive.ready()
    for i, step in enumerate(OURS["steps"]):
        md_before, c_before = drive.metadata.length, drive.content.length
        await run_op(drive, step["op"])
        assert drive.version == step["version"], i
        md = [drive.metadata.read_block(j).hex() for j in range(md_before, drive.metadata.length)]
        assert md == step["metadata"], (i, step["op"])
        content = [block_info(drive.content.read_block(j)) for j in range(c_before, drive.content.length)]
        assert content == step["content"], (i, step["op"])
    assert feed_json(drive.metadata) == OURS["feeds"]["metadata"]
    assert feed_json(drive.content) == OURS["feeds"]["content"]
    assert [{"type": c.type, "version": c.version, "name": c.name} async for c in drive.history()] == OURS["history"]
    assert await answers(drive, OURS["answers"]) == OURS["answers"]
    for version, expected in OURS["checkouts"].items():
        assert await answers(drive.checkout(int(version)), expected) == expected, version
    await drive.close()


def test_normalize_matches_js() -> None:
    assert {p: normalize(p) for p in OURS["normalize"]} == OURS["normalize"]
