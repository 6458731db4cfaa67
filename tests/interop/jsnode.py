"""Run the JS interop scripts (tests/interop/js/*.js) from pytest.

Every script prints JSON lines (one object per line) on stdout, reports errors on stderr and exits
non-zero (1 error, 2 usage, 3 its own --timeout-ms, 4 verification failed); see js/lib/cli.js.

- ``node_available()``: node is on PATH and ``node_modules`` is installed.
- ``require_node()``: skip (locally) or fail (when ``CI`` is set) if the JS side is not usable.
- ``run_node(script, *args, timeout=30, input=None) -> list[dict]``: run a script to completion;
  raises ``NodeScriptError`` (with stderr) on a non-zero exit or a timeout.
- ``NodeProcess``: async context manager for long-running scripts (servers, live peers):
  ``await proc.read_event(predicate, timeout)``, ``await proc.send_line(text)``; on exit the process
  is terminated and then killed, with bounded waits, so a test never hangs on it.

Import it as ``jsnode`` from tests in this directory, or as ``interop.jsnode`` from ``tests/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

INTEROP_DIR = Path(__file__).resolve().parent
JS_DIR = INTEROP_DIR / "js"
NODE_MODULES = INTEROP_DIR / "node_modules"

Event = dict[str, Any]
Predicate = Callable[[Event], bool]


class NodeScriptError(RuntimeError):
    """A JS script failed: non-zero exit, timeout, or output that is not JSON lines."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "", events: Sequence[Event] = ()):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.events = list(events)


def node_binary() -> str | None:
    """Path of the node executable, or None."""
    return shutil.which("node")


def node_available() -> bool:
    """True when node is installed and the interop packages are in tests/interop/node_modules."""
    return node_binary() is not None and (NODE_MODULES / "hypercore" / "package.json").is_file()


def require_node() -> None:
    """Skips the calling test when the JS side is missing — or fails it when running in CI."""
    if node_available():
        return
    what = "node is not installed" if node_binary() is None else f"{NODE_MODULES} is missing (run `make setup-js`)"
    if os.environ.get("CI"):
        pytest.fail(f"JS interop side unavailable in CI: {what}", pytrace=False)
    pytest.skip(f"JS interop side unavailable: {what}")


def _script_path(script: str) -> str:
    path = JS_DIR / script
    if not path.is_file():
        raise FileNotFoundError(f"no such JS script: {path}")
    return str(path)


def parse_lines(text: str) -> list[Event]:
    """Parses JSON lines; raises NodeScriptError on a line that is not a JSON object."""
    events: list[Event] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise NodeScriptError(f"non-JSON output line {line!r}: {exc}") from exc
        if not isinstance(obj, dict):
            raise NodeScriptError(f"output line is not a JSON object: {line!r}")
        events.append(obj)
    return events


def run_node(script: str, *args: Any, timeout: float = 30, input: str | bytes | None = None, check: bool = True) -> list[Event]:
    """Runs ``node js/<script> args...`` to completion and returns its stdout JSON lines.

    ``input`` is fed to stdin (closed afterwards; no input = /dev/null). Raises NodeScriptError on a
    non-zero exit (unless ``check=False``) or when ``timeout`` seconds pass (the process is killed).
    """
    node = node_binary()
    if node is None:
        raise NodeScriptError("node is not installed")
    cmd = [node, _script_path(script), *map(str, args)]
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(
            cmd,
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            cwd=INTEROP_DIR,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode(errors="replace")
        raise NodeScriptError(f"{script} timed out after {timeout} s; stderr: {stderr}", stderr=stderr) from exc
    stderr = proc.stderr.decode(errors="replace")
    events = parse_lines(proc.stdout.decode(errors="replace"))
    if check and proc.returncode != 0:
        raise NodeScriptError(
            f"{script} exited with {proc.returncode}; stderr: {stderr.strip()}",
            returncode=proc.returncode,
            stderr=stderr,
            events=events,
        )
    return events


def find_event(events: Sequence[Event], name: str) -> Event:
    """The first event with ``event == name`` (raises LookupError)."""
    for e in events:
        if e.get("event") == name:
            return e
    raise LookupError(f"no {name!r} event in {events!r}")


class NodeProcess:
    """A long-running JS script driven from asyncio.

    ``async with NodeProcess("core-serve.js", "--memory", ...) as proc:`` starts it with stdin/stdout
    pipes. ``read_event(pred, timeout)`` returns the earliest not yet returned stdout event matching
    ``pred`` (a callable or an event name); every event read so far is kept in ``proc.events``. ``send_line`` writes one stdin
    line. Leaving the block closes stdin, terminates, then kills the process (bounded waits).
    """

    def __init__(self, script: str, *args: Any, start_timeout: float = 10):
        self.script = script
        self.args = [str(a) for a in args]
        self.start_timeout = start_timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[Event] = []
        self._claimed: set[int] = set()
        self._first_unclaimed = 0
        self._stderr_chunks: list[bytes] = []
        self._stderr_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "NodeProcess":
        node = node_binary()
        if node is None:
            raise NodeScriptError("node is not installed")
        self.proc = await asyncio.create_subprocess_exec(
            node,
            _script_path(self.script),
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=INTEROP_DIR,
            limit=16 * 1024 * 1024,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            chunk = await self.proc.stderr.read(65536)
            if not chunk:
                return
            self._stderr_chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr_chunks).decode(errors="replace")

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    async def _read_one(self) -> Event | None:
        assert self.proc is not None and self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            return None
        events = parse_lines(line.decode(errors="replace"))
        if not events:
            return await self._read_one()
        self.events.extend(events)
        return events[0]

    async def read_event(self, predicate: Predicate | str | None = None, timeout: float = 10) -> Event:
        """The earliest event matching ``predicate`` that no earlier call returned.

        Events that did not match stay available to later calls, so waits may be written in any
        order. Raises NodeScriptError when stdout ends or ``timeout`` seconds pass first.
        """
        if isinstance(predicate, str):
            name = predicate
            predicate = lambda e: e.get("event") == name  # noqa: E731
        pred: Predicate = predicate or (lambda e: True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i in range(self._first_unclaimed, len(self.events)):
                if i in self._claimed or not pred(self.events[i]):
                    continue
                self._claimed.add(i)
                while self._first_unclaimed in self._claimed:
                    self._first_unclaimed += 1
                return self.events[i]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NodeScriptError(self._context(f"no matching event within {timeout} s"), events=self.events)
            try:
                got = await asyncio.wait_for(self._read_one(), remaining)
            except asyncio.TimeoutError:
                raise NodeScriptError(self._context(f"no matching event within {timeout} s"), events=self.events) from None
            if got is None:
                await self._wait_exit(2)
                raise NodeScriptError(
                    self._context(f"stdout closed (exit {self.returncode}) before a matching event"),
                    returncode=self.returncode,
                    stderr=self.stderr,
                    events=self.events,
                )

    async def send_line(self, text: str) -> None:
        """Writes ``text`` + newline to the script's stdin."""
        assert self.proc is not None and self.proc.stdin is not None
        if "\n" in text:
            raise ValueError("one line at a time")
        self.proc.stdin.write(text.encode() + b"\n")
        await asyncio.wait_for(self.proc.stdin.drain(), 5)

    async def wait(self, timeout: float = 10) -> int:
        """Waits for the process to exit by itself; returns its exit code (raises on timeout).

        Remaining stdout lines are read into ``events``.
        """
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NodeScriptError(self._context(f"did not exit within {timeout} s"), events=self.events)
            try:
                got = await asyncio.wait_for(self._read_one(), remaining)
            except asyncio.TimeoutError:
                raise NodeScriptError(self._context(f"did not exit within {timeout} s"), events=self.events) from None
            if got is None:
                break
        await self._wait_exit(max(0.1, deadline - loop.time()))
        if self.proc.returncode is None:
            raise NodeScriptError(self._context(f"closed stdout but did not exit within {timeout} s"), events=self.events)
        return self.proc.returncode

    async def _wait_exit(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        """Closes stdin, then terminates and finally kills the process; never waits unboundedly."""
        if self.proc is None:
            return
        proc = self.proc
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        if proc.returncode is None:
            try:
                proc.terminate()
            except ProcessLookupError:
                pass
            await self._wait_exit(3)
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await self._wait_exit(3)
        if self._stderr_task is not None:
            try:
                await asyncio.wait_for(self._stderr_task, 2)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._stderr_task.cancel()

    def _context(self, message: str) -> str:
        tail = "\n".join(json.dumps(e) for e in self.events[-5:])
        return f"{self.script}: {message}\nlast events:\n{tail}\nstderr:\n{self.stderr.strip()}"
