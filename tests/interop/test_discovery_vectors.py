"""tests/vectors/discovery.json is what js/discovery-record.js writes today (deterministic, current)."""

from __future__ import annotations

import json
from pathlib import Path

from jsnode import run_node

COMMITTED = Path(__file__).resolve().parents[1] / "vectors" / "discovery.json"


def test_discovery_vectors_are_current_and_deterministic(tmp_path):
    outputs = []
    for name in ("one.json", "two.json"):
        [written] = run_node("discovery-record.js", "--out", tmp_path / name, timeout=30)
        assert written["event"] == "written"
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1], "discovery-record.js is not deterministic"
    fresh = json.loads(outputs[0])
    committed = json.loads(COMMITTED.read_text())
    assert fresh == committed, "tests/vectors/discovery.json is stale: rerun node tests/interop/js/discovery-record.js --out tests/vectors/discovery.json"
    assert len(bytes.fromhex(fresh["cases"][0]["sent"][0]["hex"])) == 68
