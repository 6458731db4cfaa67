"""Helpers shared by the hyperdrive tests: the operation lists and test data of
tests/interop/js/hyperdrive-common.js, run through the Python API, and a walk of a drive in the shape
that script's ``walk()`` reports."""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

TIME = 1546300800000


def pattern(size: int, seed: int) -> bytes:
    """bytes ``(i * 31 + seed * 7) & 255`` (as hyperdrive-common.js)."""
    period = bytes((i * 31 + seed * 7) & 255 for i in range(256))
    return (period * (size // 256 + 1))[:size]


def data_of(spec: dict) -> bytes:
    if "text" in spec:
        return spec["text"].encode("utf-8")
    return pattern(spec["pattern"]["size"], spec["pattern"]["seed"])


async def run_op(drive: Any, op: list, time: int | None = TIME) -> None:
    """One operation of the JS op-list format on a Python drive."""
    kind, name = op[0], op[1]
    times = {} if time is None else {"mtime": time, "ctime": time}
    if kind == "writeFile":
        await drive.write_file(name, data_of(op[2]), **times, **(op[3] if len(op) > 3 else {}))
    elif kind == "mkdir":
        await drive.mkdir(name, **times, **(op[2] if len(op) > 2 else {}))
    elif kind == "unlink":
        await drive.unlink(name)
    elif kind == "rmdir":
        await drive.rmdir(name)
    elif kind == "writeStream":
        async with drive.open(name, "wb", raw=True, **times, **(op[3] if len(op) > 3 else {})) as f:
            for chunk in op[2]:
                await f.write(data_of(chunk))
    else:  # pragma: no cover
        raise AssertionError(f"unknown op {kind}")


def stat_json(st: Any) -> dict:
    return {**st.to_json(), "isFile": st.is_file(), "isDirectory": st.is_directory()}


async def walk(drive: Any) -> dict:
    """``{readdir: {dir: names}, entries: {path: {stat, size, sha256}}}`` of everything reachable."""
    readdir: dict[str, list[str]] = {}
    entries: dict[str, dict] = {}
    queue = ["/"]
    while queue:
        d = queue.pop(0)
        names = await drive.readdir(d)
        readdir[d] = names
        for name in names:
            p = posixpath.join(d, name)
            st = await drive.stat(p)
            entry: dict[str, Any] = {"stat": stat_json(st)}
            if st.is_directory():
                queue.append(p)
            else:
                data = await drive.read_file(p)
                entry["size"] = len(data)
                entry["sha256"] = hashlib.sha256(data).hexdigest()
            entries[p] = entry
    return {"readdir": readdir, "entries": entries}
