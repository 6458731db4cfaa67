"""The JS interop harness checked against itself: JS writer -> JS reader on files, JS serve -> JS
fetch over loopback TCP (non-live, live, sparse), party-peer <-> party-peer, multifeed-peer <->
multifeed-peer, the scripts' exit-code contract, and gen-vectors.js (deterministic, equal to the
committed tests/vectors, equal to the shared vectors where they overlap).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

import pytest

from jsnode import NodeProcess, NodeScriptError, find_event, run_node

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
OUR_VECTORS = REPO / "tests" / "vectors"

SEED1 = "01" * 32
KEY1 = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"  # shared vectors publicKey of seed 0x01
PARTY = "aa" * 32


def hexs(*texts: str) -> list[str]:
    return [t.encode().hex() for t in texts]


async def read_blocks(proc: NodeProcess, count: int, feed: str | None = None) -> dict[int, str]:
    """Reads `block` events until `count` distinct seqs (of `feed`, if given) were seen."""
    got: dict[int, str] = {}
    while len(got) < count:
        e = await proc.read_event(lambda e: e.get("event") == "block" and (feed is None or e["feed"] == feed))
        got[e["seq"]] = e["data"]
    return got


def shared_vectors(name: str) -> dict:
    path = SHARED / "vectors" / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"shared vectors missing: {path}")
        pytest.skip(f"shared vectors missing: {path}")
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------------
# files


def test_write_then_read_files(tmp_path: Path) -> None:
    d = tmp_path / "feed"
    out = run_node("core-write.js", "--dir", d, "--seed", SEED1, "a", "bc", "", "def")
    assert out == [{
        "key": KEY1,
        "discoveryKey": "c1feb82a2b3ba065ffed9f6addcf19ac250793bcab748986a1b4272c62da20e6",
        "length": 4, "byteLength": 6, "writable": True, "appended": 4, "firstSeq": 0,
    }]
    # reopen without a seed (stored keys) and append one batch
    out = run_node("core-write.js", "--dir", d, "--batch", "--blocks-hex", "78,797a")
    assert (out[0]["length"], out[0]["firstSeq"]) == (6, 4)

    [res] = run_node("core-read.js", "--dir", d)
    assert res["key"] == KEY1 and res["length"] == 6 and res["byteLength"] == 9 and res["writable"]
    assert res["audit"] == {"valid": 6, "invalid": 0}
    assert res["proofs"] == {"verified": 6, "failed": 0}
    assert res["signatureVerified"] is True
    assert res["blocks"] == hexs("a", "bc", "", "def", "x", "yz")
    assert res["sha256"] == hashlib.sha256(b"abcdefxyz").hexdigest()
    assert sorted(p.name for p in d.iterdir()) == ["bitfield", "data", "key", "secret_key", "signatures", "tree"]

    # read-only open by key (no secret key file)
    ro = tmp_path / "ro"
    ro.mkdir()
    for name in ["key", "tree", "data", "bitfield", "signatures"]:
        (ro / name).write_bytes((d / name).read_bytes())
    [res2] = run_node("core-read.js", "--dir", ro, "--key", KEY1)
    assert res2["writable"] is False and res2["blocks"] == res["blocks"] and res2["signatureVerified"]


def test_read_detects_tampering(tmp_path: Path) -> None:
    d = tmp_path / "feed"
    run_node("core-write.js", "--dir", d, "--seed", SEED1, "hello", "world")
    sig = bytearray((d / "signatures").read_bytes())
    sig[32 + 64 * 1 + 5] ^= 0x01  # signature slot 1 (length 2)
    (d / "signatures").write_bytes(bytes(sig))
    with pytest.raises(NodeScriptError) as err:
        run_node("core-read.js", "--dir", d, "--no-audit")
    assert err.value.returncode == 4
    [res] = err.value.events
    assert res["signatureVerified"] is False and res["proofs"]["failed"] == 2

    d2 = tmp_path / "feed2"
    run_node("core-write.js", "--dir", d2, "--seed", SEED1, "hello", "world")
    data = bytearray((d2 / "data").read_bytes())
    data[0] ^= 0x20
    (d2 / "data").write_bytes(bytes(data))
    with pytest.raises(NodeScriptError) as err2:
        run_node("core-read.js", "--dir", d2)
    assert err2.value.returncode == 4
    assert err2.value.events[0]["audit"] == {"valid": 1, "invalid": 1}


def test_script_contract_errors(tmp_path: Path) -> None:
    with pytest.raises(NodeScriptError) as usage:
        run_node("core-read.js")
    assert usage.value.returncode == 2 and "--dir is required" in usage.value.stderr
    with pytest.raises(NodeScriptError) as bad_hex:
        run_node("core-write.js", "--dir", tmp_path / "x", "--seed", "zz")
    assert bad_hex.value.returncode == 2
    with pytest.raises(NodeScriptError) as missing:
        run_node("core-read.js", "--dir", tmp_path / "nothing-here")
    assert missing.value.returncode == 1 and "No hypercore is stored here" in missing.value.stderr


async def test_script_timeout_is_bounded() -> None:
    """A peer that accepts and never answers: the script gives up after --timeout-ms with exit 3."""
    silent: list[asyncio.StreamWriter] = []

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(NodeScriptError) as err:
            await asyncio.to_thread(run_node, "core-fetch.js", "--key", KEY1, "--connect", f"127.0.0.1:{port}", "--timeout-ms", "400", timeout=10)
        assert err.value.returncode == 3 and "timeout" in err.value.stderr
    finally:
        for w in silent:
            w.close()
        server.close()
        await server.wait_closed()


# ------------------------------------------------------------------------------------------------
# hypercore replication over TCP


async def test_serve_fetch_non_live(tmp_path: Path) -> None:
    blocks = [f"block {i}" for i in range(20)]
    async with NodeProcess("core-serve.js", "--memory", "--seed", SEED1, "--port", "0", "--exit-after", "1", *blocks) as serve:
        ready = await serve.read_event("listening")
        assert ready["key"] == KEY1 and ready["length"] == 20
        clone = tmp_path / "clone"
        events = await asyncio.to_thread(run_node, "core-fetch.js", "--key", KEY1, "--connect", f"127.0.0.1:{ready['port']}", "--dir", clone)
        done = find_event(events, "done")
        assert done["error"] is None and done["length"] == 20 and done["downloaded"] == 20
        assert done["blocks"] == hexs(*blocks)
        assert done["sha256"] == hashlib.sha256("".join(blocks).encode()).hexdigest()
        assert sorted(e["seq"] for e in events if e["event"] == "block") == list(range(20))
        assert await serve.wait(10) == 0
        assert find_event(serve.events, "peer-end")["error"] is None
    # the JS replica on disk verifies as a read-only feed
    [res] = await asyncio.to_thread(run_node, "core-read.js", "--dir", clone)
    assert res["writable"] is False and res["length"] == 20 and res["signatureVerified"] and res["proofs"]["failed"] == 0


async def test_serve_fetch_live() -> None:
    async with NodeProcess("core-serve.js", "--memory", "--seed", SEED1, "--port", "0", "--live", "a", "b") as serve:
        port = (await serve.read_event("listening"))["port"]
        async with NodeProcess("core-fetch.js", "--key", KEY1, "--connect", f"127.0.0.1:{port}", "--live", "--expect-length", "4") as fetch:
            assert await read_blocks(fetch, 2) == {0: "61", 1: "62"}
            await serve.send_line("append c")
            assert (await serve.read_event("appended"))["length"] == 3
            await fetch.read_event(lambda e: e.get("event") == "block" and e["seq"] == 2)
            await serve.send_line("append d")
            done = await fetch.read_event("done")
            assert done["blocks"] == hexs("a", "b", "c", "d") and done["error"] is None
            assert await fetch.wait(5) == 0
        assert (await serve.read_event("peer-end"))["error"] is None


async def test_serve_fetch_sparse() -> None:
    blocks = [f"s{i}" for i in range(10)]
    async with NodeProcess("core-serve.js", "--memory", "--seed", SEED1, "--port", "0", "--batch", *blocks) as serve:
        port = (await serve.read_event("listening"))["port"]
        events = await asyncio.to_thread(
            run_node, "core-fetch.js", "--key", KEY1, "--connect", f"127.0.0.1:{port}", "--sparse", "--start", "3", "--end", "6")
        done = find_event(events, "done")
        assert done["length"] == 10 and done["downloaded"] == 3
        assert done["blocks"] == [None, None, None, *hexs("s3", "s4", "s5"), None, None, None, None]
        await serve.read_event("peer-end")


async def test_fetch_listens_serve_connects() -> None:
    """Either side may dial: the downloader listens, the writer connects."""
    async with NodeProcess("core-fetch.js", "--key", KEY1, "--port", "0") as fetch:
        port = (await fetch.read_event("listening"))["port"]
        events = await asyncio.to_thread(run_node, "core-serve.js", "--memory", "--seed", SEED1, "--connect", f"127.0.0.1:{port}", "q", "r")
        assert find_event(events, "peer-end")["error"] is None and events[-1]["event"] == "closed"
        done = await fetch.read_event("done")
        assert done["blocks"] == hexs("q", "r")
        assert await fetch.wait(5) == 0


# ------------------------------------------------------------------------------------------------
# party


async def test_party_peers_exchange() -> None:
    alice_key = "8a875fff1eb38451577acd5afee405456568dd7c89e090863a0557bc7af49f17"  # seed 0x06, shared vectors
    bob_key = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"  # seed 0x07
    async with NodeProcess("party-peer.js", "--party", PARTY, "--port", "0", "--seed", "06" * 32, "--name", "alice", "alice 0", "alice 1") as alice:
        assert (await alice.read_event("ready"))["key"] == alice_key
        port = (await alice.read_event("listening"))["port"]
        async with NodeProcess("party-peer.js", "--party", PARTY, "--connect", f"127.0.0.1:{port}", "--seed", "07" * 32, "--name", "bob", "bob 0") as bob:
            intro_a = await alice.read_event("introduce-feeds")
            intro_b = await bob.read_event("introduce-feeds")
            assert (intro_a["id"], intro_a["keys"]) == ("bob-tx-1", [bob_key])
            assert (intro_b["id"], intro_b["keys"]) == ("alice-tx-1", [alice_key])
            assert (await alice.read_event("introduce-feeds-ack"))["keys"] == []
            assert (await bob.read_event("introduce-feeds-ack"))["id"] == "bob-tx-1"

            got_a = await alice.read_event(lambda e: e.get("event") == "block" and e["feed"] == bob_key)
            assert (got_a["seq"], got_a["data"]) == (0, b"bob 0".hex())
            assert await read_blocks(bob, 2, alice_key) == {0: b"alice 0".hex(), 1: b"alice 1".hex()}

            await alice.send_line("eph text hello bob")
            eph = await bob.read_event("ephemeral")
            assert (eph["type"], eph["value"]) == ("text", "hello bob")

            await bob.send_line("request text ping")
            req = await alice.read_event("request")
            assert (req["id"], req["type"], req["value"]) == ("bob-tx-2", "text", "ping")
            ans = await bob.read_event("request-answer")
            assert (ans["id"], ans["type"], ans["value"]) == ("bob-tx-2", "echo", "ping")

            await alice.send_line("append alice 2")
            assert (await alice.read_event("appended"))["length"] == 3
            live = await bob.read_event(lambda e: e.get("event") == "block" and e["seq"] == 2)
            assert live["data"] == b"alice 2".hex()

            await bob.send_line("state")
            state = await bob.read_event("state")
            assert {f["key"]: f["blocks"] for f in state["feeds"]} == {
                bob_key: hexs("bob 0"), alice_key: hexs("alice 0", "alice 1", "alice 2")}

            await alice.send_line("exit")
            assert await alice.wait(5) == 0
            assert (await bob.read_event("peer-end"))["error"] is None
            assert await bob.wait(5) == 0  # a --connect peer exits once its connection ended


async def test_party_peers_non_live() -> None:
    """Non-live party streams end by themselves once every replicated feed is done."""
    async with NodeProcess("party-peer.js", "--party", PARTY, "--port", "0", "--non-live", "--exit-after", "1", "--seed", "06" * 32, "alice 0", "alice 1") as alice:
        alice_key = (await alice.read_event("ready"))["key"]
        port = (await alice.read_event("listening"))["port"]
        events = await asyncio.to_thread(
            run_node, "party-peer.js", "--party", PARTY, "--connect", f"127.0.0.1:{port}", "--non-live", "--seed", "07" * 32, "bob 0")
        bob_key = find_event(events, "ready")["key"]
        assert find_event(events, "peer-end")["error"] is None
        assert await alice.wait(10) == 0
        expected = {alice_key: hexs("alice 0", "alice 1"), bob_key: hexs("bob 0")}
        assert {f["key"]: f["blocks"] for f in find_event(events, "done")["feeds"]} == expected
        assert {f["key"]: f["blocks"] for f in find_event(alice.events, "done")["feeds"]} == expected


# ------------------------------------------------------------------------------------------------
# multifeed


async def test_multifeed_peers_non_live() -> None:
    mf = shared_vectors("multifeed.json")
    key_a, key_b = mf["writerKeys"]["A"], mf["writerKeys"]["B"]
    async with NodeProcess("multifeed-peer.js", "--port", "0", "--writer-blocks", "a0,a1", "--writer-seed", "08" * 32) as a:
        assert (await a.read_event("ready"))["writer"] == key_a
        port = (await a.read_event("listening"))["port"]
        events = await asyncio.to_thread(
            run_node, "multifeed-peer.js", "--connect", f"127.0.0.1:{port}", "--writer-blocks", "b0", "--writer-seed", "09" * 32)
        done_b = find_event(events, "done")
        assert await a.wait(10) == 0
        done_a = find_event(a.events, "done")
    as_map = lambda done: {f["key"]: [bytes.fromhex(b).decode() for b in f["blocks"]] for f in done["feeds"]}  # noqa: E731
    assert as_map(done_a) == mf["session"]["result"]["feedsA"]
    assert as_map(done_b) == mf["session"]["result"]["feedsB"]
    # feeds() order: numeric names first ("1" = the feed learned from the remote), then "local"
    assert [f["name"] for f in done_a["feeds"]] == ["1", "local"]


async def test_multifeed_peers_live(tmp_path: Path) -> None:
    async with NodeProcess("multifeed-peer.js", "--port", "0", "--live", "--dir", tmp_path / "a", "--writer-blocks", "x0") as a:
        port = (await a.read_event("listening"))["port"]
        async with NodeProcess("multifeed-peer.js", "--connect", f"127.0.0.1:{port}", "--live", "--writer-blocks", "y0", "--expect-blocks", "3") as b:
            await a.read_event(lambda e: e.get("event") == "block" and e["data"] == b"y0".hex())
            await a.send_line("append x1")
            done = await b.read_event("done")
            assert sorted(bytes.fromhex(x).decode() for f in done["feeds"] for x in f["blocks"]) == ["x0", "x1", "y0"]
            assert await b.wait(5) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["0", "1"]
    assert (tmp_path / "a" / "0" / "localname").read_text() == "local"


# ------------------------------------------------------------------------------------------------
# vectors


def _without_versions(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "versions"}


def test_gen_vectors_deterministic_and_committed(tmp_path: Path) -> None:
    names = ["hypercore.json", "protocol-session.json", "party-messages.json"]
    [w1] = run_node("gen-vectors.js", "--out", tmp_path / "one")
    [w2] = run_node("gen-vectors.js", "--out", tmp_path / "two")
    assert sorted(w1["files"]) == sorted(names)
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
        fresh = json.loads((tmp_path / "one" / name).read_text())
        committed = json.loads((OUR_VECTORS / name).read_text())
        # `versions` names the node version of the machine that generated them; the rest must match.
        assert _without_versions(fresh) == _without_versions(committed), f"tests/vectors/{name} is stale: rerun js/gen-vectors.js"
        assert fresh["versions"]["hypercore"] == "7.7.1" and fresh["versions"]["hypercore-protocol"] == "6.12.0"


def test_our_vectors_match_shared_hypercore() -> None:
    shared = shared_vectors("hypercore.json")
    ours = json.loads((OUR_VECTORS / "hypercore.json").read_text())
    for k in ["seed", "publicKey", "secretKey", "discoveryKey"]:
        assert ours[k] == shared[k]
    assert len(shared["steps"]) == 10
    for s, o in zip(shared["steps"], ours["steps"]):
        assert o["op"] == "append" and o["blocks"] == [s["block"]]
        for k in ["length", "byteLength", "newNodes", "roots", "treeHash", "signature"]:
            assert o[k] == s[k], (o["step"], k)
    assert ours["checkpoint"]["afterStep"] == 9
    assert ours["checkpoint"]["storageFiles"] == shared["storageFiles"]
    final = {n["index"]: n for n in ours["finalNodes"]}
    for n in shared["finalNodes"]:
        assert final[n["index"]] == n
    # the later steps really are batches: one signature slot per batch, at length-1
    batches = [s for s in ours["steps"] if s["op"] == "batch"]
    assert batches and all(s["signatureSlot"] == s["length"] - 1 and len(s["blocks"]) > 1 for s in batches)


def test_our_vectors_match_shared_protocol() -> None:
    shared = shared_vectors("protocol.json")
    ours = json.loads((OUR_VECTORS / "protocol-session.json").read_text())
    for name in ["hypercoreNonLive", "hypercoreLive"]:
        for side in "AB":
            s, o = shared["sessions"][name]["sides"][side], ours["sessions"][name]["sides"][side]
            for k in ["id", "nonce", "encryptionKey", "discoveryKey", "keystreamPrefix64", "chunks", "wire", "plaintext"]:
                assert o[k] == s[k], (name, side, k)
            assert [m["frame"] for m in o["messages"]] == [m["frame"] for m in s["messages"]]
        assert ours["sessions"][name]["result"] == shared["sessions"][name]["result"]
    # party: our re-created peer sends exactly what the recorded reference peer sent on side A;
    # side B carries the same frames (one pair of independent frames may be ordered differently).
    sp, op = shared["sessions"]["party"], ours["sessions"]["party"]
    assert op["sides"]["A"]["wire"] == sp["sides"]["A"]["wire"]
    assert sorted(m["frame"] for m in op["sides"]["B"]["messages"]) == sorted(m["frame"] for m in sp["sides"]["B"]["messages"])
    assert op["result"]["aliceKey"] == sp["result"]["aliceKey"] and op["result"]["bobKey"] == sp["result"]["bobKey"]
    party = json.loads((OUR_VECTORS / "party-messages.json").read_text())
    for name, hex_ in shared["partyMessages"].items():
        assert party["messages"][name]["encoded"] == hex_, name
