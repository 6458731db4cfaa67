"""tests/vectors/hyperdrive.json is what tests/interop/js/gen-hyperdrive-vectors.js regenerates from the
real hyperdrive 9.16.0 (deterministic: two runs give identical bytes; the committed file is current
apart from ``versions``)."""

from __future__ import annotations

import json
from pathlib import Path

from jsnode import run_node

OUR_VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _without_versions(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "versions"}


def test_gen_hyperdrive_vectors_deterministic_and_committed(tmp_path: Path) -> None:
    [one] = run_node("gen-hyperdrive-vectors.js", "--out", tmp_path / "one", "--timeout-ms", "60000", timeout=60)
    [two] = run_node("gen-hyperdrive-vectors.js", "--out", tmp_path / "two", "--timeout-ms", "60000", timeout=60)
    assert one == two and list(one["files"]) == ["hyperdrive.json"]
    fresh = json.loads((tmp_path / "one" / "hyperdrive.json").read_text())
    committed = json.loads((OUR_VECTORS / "hyperdrive.json").read_text())
    assert _without_versions(fresh) == _without_versions(committed), "tests/vectors/hyperdrive.json is stale: rerun js/gen-hyperdrive-vectors.js"
    assert fresh["versions"]["hyperdrive"] == "9.16.0" and fresh["versions"]["append-tree"] == "2.4.4"
