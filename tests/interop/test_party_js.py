"""The Python party against JS peers over loopback TCP:

* a JS party peer (js/party-peer.js: hypercore-protocol 6.12.0 + hypercore 7.7.1 + the party extension,
  two-writers rules) exchanges IntroduceFeeds, requests and ephemeral messages with a Python ChatNode and
  both replicate each other's feed live, whichever side listens;
* the Python multifeed rules against a real JS multifeed 4.3.0 (js/multifeed-peer.js), both directions.
"""

from __future__ import annotations

import contextlib

import pytest

from hyperparty.party.chat import ChatNode
from hyperparty.storage import MemoryStorage
from jsnode import NodeProcess
from util import eventually

PARTY = "5a" * 32


async def until(predicate, timeout=10.0, what="condition"):
    await eventually(predicate, timeout, what)


@contextlib.asynccontextmanager
async def js_peer(node: ChatNode, python_listens: bool, script: str, *args: str):
    """Start a JS peer connected to ``node``: it dials our listener, or listens and we dial it.
    Yields the process and its ``ready`` event."""
    if python_listens:
        port = await node.listen("127.0.0.1", 0)
        where = ["--connect", f"127.0.0.1:{port}"]
    else:
        where = ["--port", "0"]
    async with NodeProcess(script, *args, *where) as js:
        ready = await js.read_event("ready")
        if not python_listens:
            listening = await js.read_event("listening")
            await node.connect("127.0.0.1", listening["port"])
        yield js, ready


def recorder():
    got = {"blocks": [], "ephemeral": []}
    return got, (lambda key, seq, data: got["blocks"].append((key.hex(), seq, data))), (
        lambda text, peer_id: got["ephemeral"].append(text))


@pytest.mark.parametrize("python_listens", [True, False], ids=["js-connects", "python-connects"])
async def test_python_party_and_js_party_peer(python_listens):
    got, on_message, on_ephemeral = recorder()
    node = ChatNode(MemoryStorage(), party_key=bytes.fromhex(PARTY), on_message=on_message, on_ephemeral=on_ephemeral)
    await node.start()
    await node.say("python block 0")
    try:
        async with js_peer(node, python_listens, "party-peer.js", "--party", PARTY, "js block 0", "js block 1") as (js, ready):
            js_key = ready["key"]
            # IntroduceFeeds both ways
            intro = await js.read_event("introduce-feeds", timeout=10)
            assert intro["keys"] == [node.local.key.hex()]
            await js.read_event("introduce-feeds-ack", timeout=10)
            # each replicates the other's feed
            await until(lambda: {(k, s) for k, s, _ in got["blocks"]} >= {(js_key, 0), (js_key, 1)}, what="JS blocks")
            await js.read_event(lambda e: e.get("event") == "block" and e["seq"] == 0, timeout=10)
            # live appends both ways
            await js.send_line("append js live")
            await node.say("python live")
            await until(lambda: (js_key, 2) in {(k, s) for k, s, _ in got["blocks"]}, what="JS live append")
            block = await js.read_event(lambda e: e.get("event") == "block" and e["seq"] == 1, timeout=10)
            assert bytes.fromhex(block["data"]) == b"python live"
            # ephemeral messages both ways
            assert node.send_ephemeral("hi from python") == 1
            eph = await js.read_event("ephemeral", timeout=10)
            assert eph["value"] == "hi from python"
            await js.send_line("eph chat hi from js")
            await until(lambda: "hi from js" in got["ephemeral"], what="ephemeral from JS")
            # a request answered by the JS rules, and one answered by ours
            answer = await node.party.peers[0].request("ping", b"py?")
            assert answer == ("echo", b"py?")
            await js.send_line("request ping js?")
            await js.read_event("request-answer", timeout=10)
    finally:
        await node.close()
    assert dict((s, d) for k, s, d in got["blocks"] if k == js_key) == {0: b"js block 0", 1: b"js block 1", 2: b"js live"}


@pytest.mark.parametrize("python_listens", [True, False], ids=["js-connects", "python-connects"])
async def test_python_multifeed_rules_and_js_multifeed(python_listens):
    got, on_message, _ = recorder()
    node = ChatNode(MemoryStorage(), rules="multifeed", on_message=on_message)
    await node.start()
    await node.say("py 0")
    await node.say("py 1")
    try:
        async with js_peer(node, python_listens, "multifeed-peer.js", "--memory", "--writer-blocks", "js 0,js 1,js 2",
                           "--live") as (js, ready):
            js_key = ready["writer"]
            await until(lambda: len({s for k, s, _ in got["blocks"] if k == js_key}) == 3, what="JS multifeed blocks")
            seen = set()
            while seen != {0, 1}:
                e = await js.read_event(lambda e: e.get("event") == "block" and e["feed"] == node.local.key.hex(), timeout=10)
                seen.add(e["seq"])
            await js.send_line("append js live")
            await node.say("py live")
            await until(lambda: (js_key, 3) in {(k, s) for k, s, _ in got["blocks"]}, what="live JS multifeed append")
            e = await js.read_event(lambda e: e.get("event") == "block" and e["seq"] == 2, timeout=10)
            assert bytes.fromhex(e["data"]) == b"py live"
            await js.send_line("state")
            state = await js.read_event("state", timeout=10)
            assert {f["key"] for f in state["feeds"]} == {js_key, node.local.key.hex()}
    finally:
        await node.close()
    assert {s: d for k, s, d in got["blocks"] if k == js_key} == {0: b"js 0", 1: b"js 1", 2: b"js 2", 3: b"js live"}
