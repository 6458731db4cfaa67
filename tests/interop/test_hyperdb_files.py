"""Python hyperdb <-> JS hyperdb 3.5.0 on the same directories (random-access-file / ``file:`` backend).

Three writers (A the source, B and C authorized clones) each in their own directory:

* JS writes (js/hyperdb-disk.js), then JS and Python each reopen the directories and answer the same reads:
  same answers, and Python finds every block JS wrote;
* Python writes, then both reopen and answer: same answers, and JS finds every block Python wrote;
* a db written by one side is continued by the other: JS continues a Python-written db and Python
  continues a copy of it with the same steps — identical answers and identical blocks (and the reverse).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hyperparty.crypto import key_pair
from hyperparty.storage import open_storage
from jsnode import run_node
from test_hyperdb_vectors import Replay

SEEDS = {"A": "61" * 32, "B": "62" * 32, "C": "63" * 32}
SOURCE_KEY = key_pair(bytes.fromhex(SEEDS["A"]))[0].hex()
NEW_PEERS = [
    {"name": "A", "seed": SEEDS["A"]},
    {"name": "B", "of": "A", "localSeed": SEEDS["B"]},
    {"name": "C", "of": "A", "localSeed": SEEDS["C"]},
]
STORED_PEERS = [{"name": n, "key": SOURCE_KEY} for n in "ABC"]

WRITES = [
    ["A", "put", "dir/a", "1"], ["A", "authorize", "B"], ["sync", "A", "B"], ["B", "authorize", "C"],
    ["sync", "B", "C"], ["C", "put", "dir/c", "c"], ["B", "put", "dir/a", "b"], ["A", "put", "dir/a", "a"],
    ["A", "batch", [{"type": "put", "key": "x", "value": "1"}, {"type": "del", "key": "dir/c"}]],
    ["sync", "B", "C"], ["sync", "A", "B"], ["sync", "A", "C"], ["C", "put", "y/z", "from c"],
]
MORE_WRITES = [
    ["B", "put", "dir/a", "resolved"], ["C", "del", "x"], ["A", "put", "late", "1"],
    ["sync", "A", "B"], ["sync", "B", "C"], ["sync", "A", "C"], ["A", "put", "later", "2"],
]
READS = [
    ["A", "get", "dir/a"], ["B", "get", "dir/a"], ["C", "get", "dir/a"], ["A", "get", "dir/c", {"deletes": True}],
    ["A", "list", ""], ["B", "list", "dir"], ["C", "list", ""], ["A", "version", "v"], ["B", "version", "v"],
    ["C", "version", "v"], ["A", "history"], ["A", "authorized", "C"], ["C", "authorized", "C"],
    ["A", "keyHistory", "dir/a"],
]


def js(directory: Path, peers: list, steps: list) -> dict:
    case = {"valueEncoding": "utf-8", "peers": peers, "steps": steps}
    [done] = run_node("hyperdb-disk.js", "--dir", directory, "--case-json", json.dumps(case), timeout=60)
    return done


async def python(directory: Path, peers: list, steps: list) -> dict:
    replay = Replay({"valueEncoding": "utf-8", "peers": peers}, lambda name: open_storage(f"file:{directory / name}"))
    await replay.open()
    try:
        results = await replay.run(steps)
        final = replay.finals()
    finally:
        await replay.close()
        for db in replay.dbs.values():
            db._storage.close()
    return {"steps": results, "final": final}


def blocks(final: dict) -> dict:
    """peer -> writer key -> blocks (what must be identical whoever reads the directory)."""
    return {peer: {k: c["blocks"] for k, c in state["cores"].items() if c["length"]} for peer, state in final.items()}


async def test_js_writes_python_reads(tmp_path: Path) -> None:
    written = js(tmp_path, NEW_PEERS, WRITES)
    js_read = js(tmp_path, STORED_PEERS, READS)
    py_read = await python(tmp_path, STORED_PEERS, READS)
    assert py_read["steps"] == js_read["steps"]
    assert py_read["final"] == js_read["final"]
    assert blocks(py_read["final"]) == blocks(written["final"])


async def test_python_writes_js_reads(tmp_path: Path) -> None:
    written = await python(tmp_path, NEW_PEERS, WRITES)
    js_read = js(tmp_path, STORED_PEERS, READS)
    py_read = await python(tmp_path, STORED_PEERS, READS)
    assert js_read["steps"] == py_read["steps"]
    assert js_read["final"] == py_read["final"]
    assert blocks(js_read["final"]) == blocks(written["final"])


@pytest.mark.parametrize("first", ["python", "js"])
async def test_other_side_continues(tmp_path: Path, first: str) -> None:
    if first == "python":
        await python(tmp_path / "one", NEW_PEERS, WRITES)
    else:
        js(tmp_path / "one", NEW_PEERS, WRITES)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    by_js = js(tmp_path / "one", STORED_PEERS, MORE_WRITES + READS)
    by_python = await python(tmp_path / "two", STORED_PEERS, MORE_WRITES + READS)
    assert by_python["steps"] == by_js["steps"]
    assert by_python["final"] == by_js["final"]
    for name in "ABC":  # and the files themselves
        for writer in ("source", "local"):
            for f in ("data", "tree", "signatures"):
                one, two = tmp_path / "one" / name / writer / f, tmp_path / "two" / name / writer / f
                if one.exists():
                    assert one.read_bytes() == two.read_bytes(), (name, writer, f)
