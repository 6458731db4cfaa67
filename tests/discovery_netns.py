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


# Two namespaces joined by a veth pair: "a" = the outer one (10.0.0.1 on veth va), "b" = a namespace nested in
# it (10.0.0.2 on vb).  Each end routes the multicast range to its veth, so datagrams cross the "LAN" with
# distinct source addresses (0.0.0.0 resolution, self-discovery) as on a real network.
_PAIR = r"""
set -e
ip link set lo up
ip link add va type veth peer name vb
unshare -n sh -c '
  while ! ip link show vb >/dev/null 2>&1; do sleep 0.05; done
  ip link set lo up; ip addr add 10.0.0.2/24 dev vb; ip link set vb up; ip link set vb multicast on
  ip route add 224.0.0.0/4 dev vb
  exec "$@"' sh "$PY" "$RUNNER" "$MODULE" "$SCENARIO_B" "$LIMIT" &
B=$!
while [ "$(readlink /proc/$B/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.02; done
ip link set vb netns $B
ip addr add 10.0.0.1/24 dev va; ip link set va up; ip link set va multicast on
ip route add 224.0.0.0/4 dev va
set +e
"$PY" "$RUNNER" "$MODULE" "$SCENARIO_A" "$LIMIT"; A_RC=$?
wait $B; B_RC=$?
echo "exit codes: a=$A_RC b=$B_RC"
[ $A_RC -eq 0 ] && [ $B_RC -eq 0 ]
"""


def run_pair(module_file: str, scenario_a: str, scenario_b: str, *, timeout: float = 60) -> str:
    """Run ``scenario_a`` at 10.0.0.1 and ``scenario_b`` at 10.0.0.2, two namespaces joined by veth."""
    require_netns()
    env = dict(os.environ, **{IN_NETNS_ENV: "1"}, PY=sys.executable, RUNNER=__file__, MODULE=str(module_file),
               SCENARIO_A=scenario_a, SCENARIO_B=scenario_b, LIMIT=str(timeout))
    cmd = ["unshare", "-rn", "sh", "-c", _PAIR]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout + 20, env=env, cwd=TESTS.parent)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        pytest.fail(f"pair {scenario_a}/{scenario_b} did not end within {timeout + 20} s:\n{out}", pytrace=False)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        pytest.fail(f"pair {scenario_a}/{scenario_b} failed (exit {proc.returncode}):\n{out}\n"
                    f"{proc.stderr.decode(errors='replace')}", pytrace=False)
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
