"""Files written by the real JS hypercore 7.7.1 (run under node from tests/interop/node_modules) versus
files written by this port for the same operations: a writer crossing bitfield pages with single appends
and batches, and a sparse replica verifying a seeded random sequence of blocks with digest-based proofs
(and the sender's per-peer remote tree).  Every file must be byte-identical."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from hyperparty.feeds.hypercore import Hypercore, TreeIndex, crypto
from hyperparty.storage.memory import MemoryStorage

pytestmark = pytest.mark.interop

NODE_MODULES = Path(__file__).resolve().parent / "interop" / "node_modules"
FILES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")
BATCHES = [1] * 10 + [1000, 7000, 300, 1, 1, 5000, 2500, 3]

SCRIPT = r"""
const hypercore = require('hypercore')
const crypto = require('hypercore-crypto')
const treeIndex = require('hypercore/lib/tree-index')
const [writerDir, replicaDir, planFile] = process.argv.slice(2)
const plan = JSON.parse(require('fs').readFileSync(planFile, 'utf8'))
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const block = (i) => Buffer.from('block-' + i + '-' + 'x'.repeat(i % 37))

async function main () {
  const kp = crypto.keyPair(Buffer.alloc(32, 5))
  const feed = hypercore(writerDir, kp.publicKey, { secretKey: kp.secretKey })
  await p(cb => feed.ready(cb))
  let n = 0
  for (const size of plan.batches) {
    const list = []
    for (let i = 0; i < size; i++) list.push(block(n++))
    await p(cb => feed.append(size === 1 ? list[0] : list, cb))
  }
  const clone = hypercore(replicaDir, kp.publicKey, { sparse: true })
  await p(cb => clone.ready(cb))
  const remoteTree = treeIndex()
  for (const i of plan.order) {
    if (clone.has(i)) continue
    const proof = await p(cb => feed.proof(i, { digest: clone.digest(i), tree: remoteTree }, cb))
    const data = await p(cb => feed.get(i, cb))
    await p(cb => clone.put(i, data, proof, cb))
  }
  await p(cb => clone.close(cb))
  await p(cb => feed.close(cb))
}
main().catch((err) => { console.error(err); process.exit(1) })
"""


def block(i: int) -> bytes:
    return ("block-%d-" % i + "x" * (i % 37)).encode()


@pytest.fixture(scope="module")
def js_files(tmp_path_factory):
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "hypercore" / "package.json").exists():
        pytest.skip("node and tests/interop/node_modules (make setup-js) are needed")
    version = json.loads((NODE_MODULES / "hypercore" / "package.json").read_text())["version"]
    assert version == "7.7.1"
    tmp = tmp_path_factory.mktemp("js")
    total = sum(BATCHES)
    rnd = random.Random(42)
    order = [rnd.randrange(total) for _ in range(400)] + list(range(15000, 15040))
    (tmp / "plan.json").write_text(json.dumps({"batches": BATCHES, "order": order}))
    (tmp / "run.js").write_text(SCRIPT)
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    result = subprocess.run(
        [node, str(tmp / "run.js"), str(tmp / "writer"), str(tmp / "replica"), str(tmp / "plan.json")],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return tmp, order


def read_dir(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() if (path / name).exists() else b"" for name in FILES}


def read_storage(storage: MemoryStorage) -> dict[str, bytes]:
    return {name: storage.open(name).read_all() if storage.exists(name) else b"" for name in FILES}


async def test_writer_and_replica_files_match_js(js_files) -> None:
    tmp, order = js_files
    pk, sk = crypto.key_pair(b"\x05" * 32)
    writer_storage = MemoryStorage()
    writer = Hypercore(writer_storage, key=pk, secret_key=sk)
    await writer.ready()
    n = 0
    for size in BATCHES:
        blocks = [block(i) for i in range(n, n + size)]
        await writer.append(blocks[0] if size == 1 else blocks)
        n += size

    replica_storage = MemoryStorage()
    replica = Hypercore(replica_storage, key=pk, sparse=True)
    await replica.ready()
    remote_tree = TreeIndex()
    for i in order:
        if replica.has(i):
            continue
        proof = writer.proof(i, digest=replica.digest(i), remote_tree=remote_tree)
        replica.put(i, await writer.get(i), proof)
    await replica.close()
    await writer.close()

    js_writer = read_dir(tmp / "writer")
    ours = read_storage(writer_storage)
    for name in FILES:
        assert ours[name] == js_writer[name], f"writer {name}"
    js_replica = read_dir(tmp / "replica")
    ours = read_storage(replica_storage)
    for name in ("key", "tree", "data", "bitfield", "signatures"):
        assert ours[name] == js_replica[name], f"replica {name}"
