"""Python hyperdb <-> JS hyperdb 3.5.0 over loopback TCP (js/hyperdb-peer.js), in both directions.

* a two-writer db, live: the joining side sends its writer key as handshake userData, the owner
  authorizes it; each side's puts are seen by the other, and puts of one key made concurrently on both
  sides (while disconnected, so that neither has seen the other's) give both values on both sides;
* a writer authorized in the middle of a live session is learned by the other side (which opens a
  channel for it and fetches its entries when the owner has them);
* a non-live session ends by itself with every writer replicated (writers learned during it included).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from hyperparty.crypto import key_pair
from hyperparty.feeds import porcelain
from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.feeds.hyperdb.sync import sync
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.protocol.transport import connect_tcp, wait_closed
from jsnode import NodeProcess

TIMEOUT = 20
JS_TIMEOUT = ["--timeout-ms", "90000"]


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = TIMEOUT) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def ask(js: NodeProcess, command: str, event: str) -> dict:
    await js.send_line(command)
    return await js.read_event(event, timeout=TIMEOUT)


async def js_values(js: NodeProcess, key: str) -> list[str]:
    return sorted(v["value"] for v in (await ask(js, f"get {key}", "get"))["values"])


def py_values(nodes) -> list[str]:
    return sorted(n.value for n in nodes)


def clone(key: bytes, seed: int | None = None, **options: Any) -> HyperDB:
    local = key_pair(bytes([seed]) * 32)[1] if seed is not None else None
    return HyperDB("memory", key, value_encoding="utf-8", local_secret_key=local, timeout=TIMEOUT, **options)


async def test_js_owner_python_joins_live() -> None:
    async with NodeProcess("hyperdb-peer.js", "--memory", "--port", "0", "--live", "--authorize-remote", *JS_TIMEOUT) as js:
        ready = await js.read_event("ready")
        port = (await js.read_event("listening"))["port"]
        await ask(js, "put from-js 1", "put")
        b = clone(bytes.fromhex(ready["key"]), 81)
        await b.ready()
        stream = b.replicate(live=True, user_data=b.local_key)
        await connect_tcp("127.0.0.1", port, stream)
        assert (await js.read_event("authorized-remote", timeout=TIMEOUT))["key"] == b.local_key.hex()
        await until(lambda: b.authorized(b.local_key), "the Python writer to learn it is authorized")
        assert py_values(await b.get("from-js")) == ["1"]
        await b.put("from-py", "2")
        await until(lambda: js_values(js, "from-py"), "JS to fetch the Python put")
        # puts of one key on both sides while disconnected (neither sees the other's): both values after
        stream.finalize()
        await asyncio.wait_for(wait_closed(stream), TIMEOUT)
        await js.read_event("peer-end", timeout=TIMEOUT)
        await ask(js, "put k js", "put")
        await b.put("k", "py")
        stream = b.replicate(live=True, user_data=b.local_key)
        await connect_tcp("127.0.0.1", port, stream)
        await until(lambda: _eq(js_values(js, "k"), ["js", "py"]), "JS to hold both values")
        await until(lambda: _eq(_py(b.get("k")), ["js", "py"]), "Python to hold both values")
        await until(lambda: _same_version(js, b), "both sides to agree on the version")
        state = await ask(js, "state", "state")
        assert [w["key"] for w in state["writers"] if w["authorized"]] == [ready["key"], b.local_key.hex()]
        stream.finalize()
        await asyncio.wait_for(wait_closed(stream), TIMEOUT)
        await b.close()


async def test_python_owner_js_joins_live() -> None:
    pk, sk = key_pair(bytes([91]) * 32)
    a = HyperDB("memory", pk, sk, value_encoding="utf-8", timeout=TIMEOUT)
    await a.put("from-py", "1")
    streams: list[ProtocolStream] = []

    def on_connection(stream: ProtocolStream) -> None:
        streams.append(stream)

        def on_handshake() -> None:
            key = a.remote_writer_key(stream)
            if key is not None:
                asyncio.ensure_future(a.authorize(key))

        stream.on("handshake", on_handshake)

    async with await porcelain.serve(a, live=True, on_connection=on_connection) as server:
        async with NodeProcess("hyperdb-peer.js", "--memory", "--key", pk.hex(), "--connect",
                               f"127.0.0.1:{server.port}", "--live", "--send-local-key", *JS_TIMEOUT) as js:
            ready = await js.read_event("ready")
            js_key = ready["localKey"]
            await until(lambda: a.authorized(bytes.fromhex(js_key)), "the owner to authorize the JS writer")

            async def js_authorized() -> bool:
                return (await ask(js, f"authorized {js_key}", "authorized"))["authorized"]

            await until(js_authorized, "JS to learn it is authorized")
            assert await js_values(js, "from-py") == ["1"]
            await ask(js, "put from-js 2", "put")
            await until(lambda: _eq(_py(a.get("from-js")), ["2"]), "Python to fetch the JS put")
            # puts of one key on both sides while disconnected: both values after reconnecting
            await ask(js, "end", "end")
            await js.read_event("peer-end", timeout=TIMEOUT)
            await ask(js, "put k js", "put")
            await a.put("k", "py")
            await ask(js, f"connect 127.0.0.1:{server.port}", "connected")
            await until(lambda: _eq(_py(a.get("k")), ["js", "py"]), "Python to hold both values")
            await until(lambda: _eq(js_values(js, "k"), ["js", "py"]), "JS to hold both values")
            await until(lambda: _same_version(js, a), "both sides to agree on the version")
    await a.close()


async def test_writer_authorized_mid_session_both_ways() -> None:
    # Python owner a, JS clone b (authorized), Python writer c with data authorized while a <-> b runs live
    pk, sk = key_pair(bytes([101]) * 32)
    a = HyperDB("memory", pk, sk, value_encoding="utf-8", timeout=TIMEOUT)
    c = clone(pk, 102)
    await c.ready()
    await c.put("from-c", "3")
    async with await porcelain.serve(a, live=True) as server:
        async with NodeProcess("hyperdb-peer.js", "--memory", "--key", pk.hex(), "--connect",
                               f"127.0.0.1:{server.port}", "--live", *JS_TIMEOUT) as js:
            b_key = (await js.read_event("ready"))["localKey"]
            await a.authorize(bytes.fromhex(b_key))
            await until(lambda: _authorized_js(js, b_key), "JS to learn it is authorized")
            await a.authorize(c.local_key)  # mid-session
            await sync(a, c)  # a now holds c's entries
            await until(lambda: js_values(js, "from-c"), "JS to learn writer c and fetch it through a")
            state = await ask(js, "state", "state")
            assert c.local_key.hex() in [w["key"] for w in state["writers"] if w["authorized"]]
            # and the other way: the JS side authorizes a writer mid-session, Python learns it
            x = key_pair(bytes([103]) * 32)[0]
            await ask(js, f"authorize {x.hex()}", "authorize")
            await until(lambda: a.authorized(x), "Python to learn the writer JS authorized")
            assert x in [core.key for core in a.cores()]
    for db in (a, c):
        await db.close()


async def test_non_live_sessions_replicate_every_writer() -> None:
    # Python holds a three-writer db; a JS clone fetches it non-live
    pk, sk = key_pair(bytes([111]) * 32)
    a = HyperDB("memory", pk, sk, value_encoding="utf-8")
    b, c = clone(pk, 112), clone(pk, 113)
    for db in (b, c):
        await db.ready()
    await a.authorize(b.local_key)
    await sync(a, b)
    await b.authorize(c.local_key)  # c is authorized by b, not listed by the source
    await sync(b, c)
    await c.put("c", "3")
    await b.put("b", "2")
    await a.put("a", "1")
    await sync(b, c)
    await sync(a, b)
    async with await porcelain.serve(a, live=False) as server:
        async with NodeProcess("hyperdb-peer.js", "--memory", "--key", pk.hex(), "--connect",
                               f"127.0.0.1:{server.port}", *JS_TIMEOUT) as js:
            assert (await js.read_event("peer-end", timeout=TIMEOUT))["error"] is None
            listed = await ask(js, "list", "list")
            assert [(e["key"], [v["value"] for v in e["values"]]) for e in listed["entries"]] == [
                ("a", ["1"]), ("b", ["2"]), ("c", ["3"])]
            state = await ask(js, "state", "state")
            lengths = {w["key"]: w["length"] for w in state["writers"]}
            for db in (a, b, c):
                assert lengths[db.local_key.hex()] == db.local.length
    # and a JS-held multi-writer db fetched non-live by a fresh Python clone
    async with NodeProcess("hyperdb-peer.js", "--memory", "--port", "0", "--live", "--authorize-remote", *JS_TIMEOUT) as js:
        ready = await js.read_event("ready")
        port = (await js.read_event("listening"))["port"]
        await ask(js, "put x 1", "put")
        w = clone(bytes.fromhex(ready["key"]), 114)
        await w.ready()
        stream = w.replicate(live=True, user_data=w.local_key)
        await connect_tcp("127.0.0.1", port, stream)
        await until(lambda: w.authorized(w.local_key), "the Python writer to be authorized")
        await w.put("y", "2")
        await until(lambda: js_values(js, "y"), "JS to fetch the Python writer")
        stream.finalize()
        await asyncio.wait_for(wait_closed(stream), TIMEOUT)
        fresh = clone(bytes.fromhex(ready["key"]))
        s = fresh.replicate(live=False)
        await connect_tcp("127.0.0.1", port, s)
        assert await asyncio.wait_for(wait_closed(s), TIMEOUT) is None
        assert {g[0].key: py_values(g) for g in await fresh.list()} == {"x": ["1"], "y": ["2"]}
        assert sorted(core.key for core in fresh.cores()) == sorted([fresh.key, w.local_key])
        await w.close()
        await fresh.close()
    for db in (a, b, c):
        await db.close()


async def _eq(awaitable: Awaitable[Any], expected: Any) -> bool:
    return await awaitable == expected


async def _py(awaitable: Awaitable[Any]) -> list[str]:
    return py_values(await awaitable)


async def _authorized_js(js: NodeProcess, key: str) -> bool:
    return (await ask(js, f"authorized {key}", "authorized"))["authorized"]


async def _same_version(js: NodeProcess, db: HyperDB) -> bool:
    return (await ask(js, "state", "state"))["version"] == (await db.version()).hex()
