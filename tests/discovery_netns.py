"""Run discovery scenarios inside a fresh user + network namespace, never on the real network.

``unshare -rn`` gives an empty network namespace (only ``lo``, down); the set-up brings ``lo`` up with the
MULTICAST flag and routes 224.0.0.0/4 to it (shared/spec/discovery-swarm-5.md §8).  A test calls
``run_scenario(__file__, "scenario_name")``: this file is then run as a script inside the namespace, imports
the test module and runs its ``async def scenario_name()`` under ``asyncio.run`` with a time limit; the
scenario's traceback comes back in the assertion message.  ``require_netns()`` skips a test, with the
reason, only where namespaces are unavailable (``unshare -rn true`` fails), and fails in CI.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
IN_NETNS_ENV = "HYPERPARTY_IN_NETNS"


@functools.lru_cache(maxsize=1)
def netns_problem() -> str | None:
    """None when ``unshare -rn`` with the set-up works here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    try:
        proc = subprocess.run(["unshare", "-rn", "sh", "-c", SETUP], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare -rn failed: {exc}"
    if proc.returncode != 0:
        return f"unshare -rn failed: {proc.stderr.decode(errors='replace').strip()}"
    return None


def require_netns() -> None:
    problem = netns_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"user + network namespaces unavailable in CI: {problem}", pytrace=False)
    pytest.skip(f"user + network namespaces unavailable: {problem}")


def run_scenario(module_file: str, scenario: str, *, timeout: float = 60, setup: str = "") -> str:
    """Run ``scenario`` of ``module_file`` in a new namespace; returns its stdout, fails the test on error."""
    require_netns()
    script = f"{SETUP}{' && ' + setup if setup else ''} && exec \"$0\" \"$@\""
    cmd = ["unshare", "-rn", "sh", "-c", script, sys.executable, __file__, str(module_file), scenario, str(timeout)]
    env = dict(os.environ, **{IN_NETNS_ENV: "1"})
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout + 15, env=env, cwd=TESTS.parent)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        pytest.fail(f"scenario {scenario} did not end within {timeout + 15} s:\n{out}", pytrace=False)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        pytest.fail(f"scenario {scenario} failed (exit {proc.returncode}):\n{out}\n{proc.stderr.decode(errors='replace')}",
                    pytrace=False)
    return out


def _main(module_file: str, scenario: str, timeout: float) -> int:
    for extra in (TESTS, TESTS / "interop"):
        if str(extra) not in sys.path:
            sys.path.insert(0, str(extra))
    spec = importlib.util.spec_from_file_location(f"_netns_{Path(module_file).stem}", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, scenario)
    try:
        asyncio.run(asyncio.wait_for(fn(), timeout))
    except BaseException:
        traceback.print_exc(file=sys.stdout)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
