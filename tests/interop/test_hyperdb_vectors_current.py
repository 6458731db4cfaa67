"""tests/vectors/hyperdb.json is what js/gen-hyperdb-vectors.js (the real hyperdb 3.5.0) generates now:
deterministic (two runs give identical bytes) and equal to the committed file apart from `versions`."""

from __future__ import annotations

import json
from pathlib import Path

from jsnode import run_node

COMMITTED = Path(__file__).resolve().parents[1] / "vectors" / "hyperdb.json"


def test_gen_hyperdb_vectors_deterministic_and_committed(tmp_path: Path) -> None:
    [one] = run_node("gen-hyperdb-vectors.js", "--out", tmp_path / "one.json", timeout=120)
    [two] = run_node("gen-hyperdb-vectors.js", "--out", tmp_path / "two.json", timeout=120)
    assert one["sha256"] == two["sha256"]
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()
    fresh = json.loads((tmp_path / "one.json").read_text())
    committed = json.loads(COMMITTED.read_text())
    assert fresh["versions"]["hyperdb"] == "3.5.0" and fresh["versions"]["hyperdb/hypercore"] == "6.26.0"
    fresh.pop("versions")
    committed.pop("versions")
    assert fresh == committed, "tests/vectors/hyperdb.json is stale: rerun tests/interop/js/gen-hyperdb-vectors.js"
