"""``python -m hyperparty.party.demo``: a short tour printed as JSON lines.

For now it shows the local hypercore (the party demo replaces it later): it creates a feed on LMDB storage
in a temporary directory, appends blocks (one at a time and as a batch), reopens the feed from storage,
reads every block back verified against the signed merkle tree, and checks a proof the way a replica would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from typing import Any

__all__ = ["core_demo", "main"]


def _emit(step: str, **fields: Any) -> dict[str, Any]:
    line = {"step": step, **fields}
    print(json.dumps(line, ensure_ascii=False, separators=(",", ":")), flush=True)
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


def main() -> int:
    try:
        core_demo()
    except Exception as err:  # a demo failure is reported, not a traceback
        print(f"demo failed: {err} ({type(err).__name__})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
