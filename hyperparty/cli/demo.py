"""``python -m hyperparty.cli.demo`` (``make demo``, ``hyperparty demo``): alice and bob chat in one party,
printed as JSON lines.

The party demo: two peers in one process, each with its own writable feed on the embedded default storage
(LMDB in a temporary directory), connected over a real loopback TCP connection with the two-writers rules
(the seed's "single party, multi-writer" example).  Each appends messages to its own feed; the other
receives them by replication (verified against the writer's signature) and prints them; they also swap
an ephemeral message.  Then it runs the local hypercore tour (:func:`core_demo`).  Every wait is bounded;
the exit status is 0 only when every message arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
from typing import TYPE_CHECKING, Any, Callable

from .common import emit

if TYPE_CHECKING:  # pragma: no cover
    from ..party.chat import ChatNode
    from .app import CommandLine

__all__ = ["core_demo", "party_demo", "main", "register"]

WAIT = 15.0


def _emit(step: str, **fields: Any) -> dict[str, Any]:
    line = {"step": step, **fields}
    emit(line)
    return line


async def _core_demo(directory: str) -> list[dict[str, Any]]:
    from ..feeds.hypercore import Hypercore
    from ..storage.memory import MemoryStorage

    lines = []
    spec = f"lmdb:{directory}"
    core = Hypercore(spec)
    await core.ready()
    lines.append(_emit("created", storage=spec, key=core.key.hex(), discoveryKey=core.discovery_key.hex()))
    await core.append("hello")
    await core.append(["from", "a", "python", "hypercore"])
    lines.append(_emit("appended", length=core.length, byteLength=core.byte_length))
    await core.close()

    core = Hypercore(spec)
    await core.ready()
    blocks = [(await core.get(i)).decode() for i in range(core.length)]
    lines.append(_emit("reopened", length=core.length, writable=core.writable, blocks=blocks))

    replica = Hypercore(MemoryStorage(), key=core.key, sparse=True)
    await replica.ready()
    proof = core.proof(3, digest=replica.digest(3))
    replica.put(3, await core.get(3), proof)
    lines.append(
        _emit(
            "verified",
            index=3,
            block=(await replica.get(3)).decode(),
            proofNodes=[n.index for n in proof.nodes],
            replicaLength=replica.length,
        )
    )
    audit = await core.audit()
    lines.append(_emit("audited", valid=audit["valid"], invalid=audit["invalid"], signatureOk=audit["signature_ok"]))
    await replica.close()
    await core.close()
    return lines


def core_demo(directory: str | None = None) -> list[dict[str, Any]]:
    """Run the hypercore tour (in ``directory``, default a fresh temporary one); returns the printed lines."""
    if directory is not None:
        return asyncio.run(_core_demo(directory))
    with tempfile.TemporaryDirectory(prefix="hyperparty-demo-") as tmp:
        return asyncio.run(_core_demo(tmp))


async def _party_demo(directory: str) -> list[dict[str, Any]]:
    from ..party.chat import ChatNode

    lines: list[dict[str, Any]] = []
    party_key = secrets.token_bytes(32)
    received: dict[str, dict[int, str]] = {"alice": {}, "bob": {}}  # seq -> text (blocks may arrive out of order)
    ephemeral: dict[str, list[str]] = {"alice": [], "bob": []}
    arrived = asyncio.Event()
    expected = {"alice": ["hi bob, it's alice", "this line came over hypercore-protocol 6"],
                "bob": ["hello alice!", "bob here, replicating your feed"]}

    def done() -> bool:
        return all([received[n][k] for k in sorted(received[n])] == expected[other] for n, other in (("alice", "bob"), ("bob", "alice"))) and all(
            ephemeral.values())

    def node(name: str) -> "ChatNode":
        def on_message(feed: bytes, seq: int, data: bytes) -> None:
            received[name][seq] = data.decode()
            lines.append(_emit("received", by=name, feed=feed.hex()[:16], seq=seq, data=data.decode()))
            if done():
                arrived.set()

        def on_ephemeral(text: str, peer_id: bytes | None) -> None:
            ephemeral[name].append(text)
            lines.append(_emit("ephemeral", by=name, text=text))
            if done():
                arrived.set()

        storage = f"lmdb:{os.path.join(directory, name)}"
        return ChatNode(storage, party_key=party_key, on_message=on_message, on_ephemeral=on_ephemeral)

    alice, bob = node("alice"), node("bob")
    await alice.start()
    await bob.start()
    try:
        assert alice.local is not None and alice.party is not None  # set by start()
        assert bob.local is not None and bob.party is not None
        alice_party, bob_party = alice.party, bob.party
        lines.append(_emit("party", key=party_key.hex()[:16] + "...", rules="two-writers",
                           storage="lmdb (temporary directory)"))
        lines.append(_emit("peer", name="alice", feed=alice.local.key.hex()[:16]))
        lines.append(_emit("peer", name="bob", feed=bob.local.key.hex()[:16]))
        port = await alice.listen("127.0.0.1", 0)
        lines.append(_emit("listening", name="alice", port=port))
        await bob.connect("127.0.0.1", port)
        lines.append(_emit("connected", name="bob", to=f"127.0.0.1:{port}"))
        await asyncio.wait_for(_until(lambda: alice_party.peers and bob_party.peers), WAIT)
        for text in expected["alice"]:
            await alice.say(text)
        for text in expected["bob"]:
            await bob.say(text)
        alice.send_ephemeral("alice is typing...")
        bob.send_ephemeral("bob waves")
        try:
            await asyncio.wait_for(arrived.wait(), WAIT)
        except asyncio.TimeoutError:
            raise RuntimeError(f"messages did not arrive within {WAIT} s: {received}, {ephemeral}") from None
        lines.append(_emit("converged", alice=alice.local.length, bob=bob.local.length,
                           aliceRead=[received["alice"][k] for k in sorted(received["alice"])],
                           bobRead=[received["bob"][k] for k in sorted(received["bob"])]))
    finally:
        await bob.close()
        await alice.close()
    return lines


async def _until(predicate: Callable[[], Any]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


def party_demo(directory: str | None = None) -> list[dict[str, Any]]:
    """Run alice and bob (in ``directory``, default a fresh temporary one); returns the printed lines."""
    if directory is not None:
        return asyncio.run(_party_demo(directory))
    with tempfile.TemporaryDirectory(prefix="hyperparty-demo-") as tmp:
        return asyncio.run(_party_demo(tmp))


def main(args: argparse.Namespace | None = None) -> int:
    """Run both demos; exit status 0 only when every message arrived."""
    try:
        party_demo()
        core_demo()
    except Exception as err:  # a demo failure is reported, not a traceback
        print(f"demo failed: {err} ({type(err).__name__})", file=sys.stderr)
        return 1
    return 0


def register(cli: "CommandLine") -> None:
    """Add ``demo``."""
    cli.add(("demo",), main, help="two peers chat in one party over loopback TCP, then a hypercore tour")


if __name__ == "__main__":
    sys.exit(main())
