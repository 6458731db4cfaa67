"""Storage that only commands that write may touch (issue 14): read-only opening, no directory or LMDB
environment created by a read, foreign LMDB environments left untouched, read-only mounts and files
without write permission readable, and a full disk reported as "disk full".

Read-only mounts and full disks are real: a tmpfs mounted inside ``unshare -rm`` (a user + mount
namespace, no root needed); a feed without write permission is read as an unprivileged user (``setpriv``
when the tests run as root, plain ``chmod`` otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import lmdb
import pytest

from hyperparty.cli import main
from hyperparty.storage import DiskFullError, ReadOnlyError, StorageError, open_storage
from hyperparty.storage.base import os_failure

CLI = [sys.executable, "-m", "hyperparty"]


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def tree_of(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


# -- reading creates nothing ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_reading_a_missing_store_creates_nothing(kind: str, tmp_path, capsys) -> None:
    where = tmp_path / "nonexistent" / "deep" / "dir"
    for command in ("info", "cat", "audit"):
        code, out, err = run(capsys, "core", command, "--storage", f"{kind}:{where}")
        assert code == 1 and out == [] and "No hypercore is stored here" in err
    assert not (tmp_path / "nonexistent").exists()
    storage = open_storage(f"{kind}:{where}", readonly=True)
    f = storage.open("key")
    assert f.size() == 0 and not storage.exists("key")
    with pytest.raises(ReadOnlyError):
        f.write(0, b"x")
    with pytest.raises(ReadOnlyError):
        f.truncate(0)
    storage.close()
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_reading_a_feed_writes_nothing(kind: str, tmp_path, capsys) -> None:
    spec = f"{kind}:{tmp_path / 'feed'}"
    assert run(capsys, "core", "init", "--storage", spec)[0] == 0
    assert run(capsys, "core", "append", "--storage", spec, "a", "b")[0] == 0
    files = {p: p.read_bytes() for p in (tmp_path / "feed").iterdir() if p.name != "lock.mdb"}
    stamps = {p: p.stat().st_mtime_ns for p in files}
    for command in ("info", "cat", "audit"):
        assert run(capsys, "core", command, "--storage", spec)[0] == 0
    assert {p: p.read_bytes() for p in files} == files
    assert {p: p.stat().st_mtime_ns for p in files} == stamps


# -- foreign LMDB environments ------------------------------------------------------------------------------


def foreign_environment(path) -> None:
    env = lmdb.open(str(path), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"hello", b"world")
    env.close()


def environment_items(path) -> list[tuple[bytes, bytes]]:
    env = lmdb.open(str(path), map_size=1 << 20, readonly=True)
    try:
        with env.begin() as txn:
            return [(bytes(k), bytes(v)) for k, v in txn.cursor()]
    finally:
        env.close()


def test_a_foreign_lmdb_environment_is_left_untouched(tmp_path, capsys) -> None:
    where = tmp_path / "foreign"
    foreign_environment(where)
    data = (where / "data.mdb").read_bytes()
    for command in (["info"], ["cat"], ["audit"], ["init"], ["append", "x"], ["repair"]):
        code, out, err = run(capsys, "core", *command[:1], "--storage", f"lmdb:{where}", *command[1:])
        assert code == 1 and "not a hyperparty LMDB store" in err and "left untouched" in err, (command, err)
    assert environment_items(where) == [(b"hello", b"world")]
    assert (where / "data.mdb").read_bytes() == data
    for readonly in (True, False):
        with pytest.raises(StorageError, match="not a hyperparty"):
            open_storage(f"lmdb:{where}", readonly=readonly)


def test_an_empty_lmdb_environment_becomes_ours_only_when_written(tmp_path, capsys) -> None:
    where = tmp_path / "empty"
    lmdb.open(str(where), map_size=1 << 20).close()
    assert run(capsys, "core", "info", "--storage", f"lmdb:{where}")[0] == 1
    assert environment_items(where) == []
    assert run(capsys, "core", "init", "--storage", f"lmdb:{where}")[0] == 0
    assert environment_items(where)[0][0] == b"\0hyperparty-lmdb"


# -- read-only mounts, no write permission, a full disk (real ones) -----------------------------------------


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm (user + mount namespaces)")


def in_namespace(script: str, mount: str, size: str = "4m") -> subprocess.CompletedProcess:
    """Run a shell ``script`` with a fresh tmpfs of ``size`` mounted on ``mount`` ($H is the command)."""
    body = f"set -u\nmount -t tmpfs -o size={size} tmpfs {mount}\nH='{sys.executable} -m hyperparty'\n" + script
    return subprocess.run(["unshare", "-rm", "sh", "-c", body], capture_output=True, text=True, timeout=120)


@needs_unshare
@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_a_feed_on_a_read_only_mount_is_readable(kind: str, tmp_path) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    spec = f"{kind}:{mount}/feed"
    result = in_namespace(textwrap.dedent(f"""
        $H core init --storage {spec} >/dev/null
        $H core append --storage {spec} one two >/dev/null
        mount -o remount,ro {mount}
        echo INFO; $H core info --storage {spec}
        echo CAT; $H core cat --storage {spec}
        echo AUDIT; $H core audit --storage {spec}
        echo APPEND; $H core append --storage {spec} three; echo "rc=$?"
    """), str(mount))
    out = result.stdout
    assert "INFO" in out, result.stderr
    info = json.loads(out.split("INFO\n")[1].split("\n")[0])
    assert info["length"] == 2 and info["writable"] is True
    cat = [json.loads(x) for x in out.split("CAT\n")[1].split("AUDIT")[0].split("\n") if x]
    assert [c["data"] for c in cat] == ["one", "two"]
    assert '"ok":true' in out.split("AUDIT\n")[1]
    assert "rc=1" in out.split("APPEND\n")[1]
    assert "read-only" in result.stderr and "Traceback" not in result.stderr


@needs_unshare
@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_a_full_disk_says_disk_full(kind: str, tmp_path) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    spec = f"{kind}:{mount}/feed"
    result = in_namespace(textwrap.dedent(f"""
        $H core init --storage {spec} >/dev/null || exit 3
        $H core append --storage {spec} one two three >/dev/null || exit 4
        if ! head -c 2000000 /dev/zero | tr '\\0' x | fold -w 1000 | $H core append --storage {spec} >/dev/null; then
            echo FULL
        fi
        echo INFO; $H core info --storage {spec}
    """), str(mount), size="1m")
    assert "FULL" in result.stdout, (result.stdout, result.stderr)
    assert "disk full" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "Input/output error (StorageError)" not in result.stderr
    info = json.loads(result.stdout.split("INFO\n")[1].split("\n")[0])
    assert info["length"] == 3  # the committed append, nothing of the failed one


def test_disk_full_errors_are_named() -> None:
    import errno

    assert isinstance(os_failure("x", "write", OSError(errno.ENOSPC, "No space left on device")), DiskFullError)
    assert isinstance(os_failure("x", "write", OSError(errno.EROFS, "Read-only file system")), ReadOnlyError)
    assert isinstance(os_failure("x", "write", OSError(errno.EACCES, "Permission denied")), ReadOnlyError)
    plain = os_failure("x", "commit", lmdb.Error("mdb_txn_commit: Input/output error"), device="/")
    assert type(plain) is StorageError or isinstance(plain, DiskFullError)


def _as_unprivileged() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("kind", ["file", "lmdb"])
def test_a_feed_without_write_permission_is_readable(kind: str, tmp_path, capsys) -> None:
    prefix = _as_unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv")
    import tempfile

    base = tempfile.mkdtemp(prefix="hyperparty-perm-")  # pytest's tmp_path is only open to its owner
    request_cleanup = base
    os.chmod(base, 0o755)
    tmp_path = type(tmp_path)(base)
    where = tmp_path / "feed"
    spec = f"{kind}:{where}"
    assert run(capsys, "core", "init", "--storage", spec)[0] == 0
    assert run(capsys, "core", "append", "--storage", spec, "one", "two")[0] == 0
    os.chmod(tmp_path, 0o755)
    for p in where.iterdir():
        os.chmod(p, 0o444)
    os.chmod(where, 0o555)
    before = {p.name: p.read_bytes() for p in where.iterdir() if p.name != "lock.mdb"}
    try:
        for command, check in ((["info"], lambda o: o[0]["length"] == 2),
                               (["cat"], lambda o: [x["data"] for x in o] == ["one", "two"])):
            result = subprocess.run([*prefix, *CLI, "core", *command, "--storage", spec], capture_output=True,
                                    text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            assert check([json.loads(x) for x in result.stdout.splitlines()])
        result = subprocess.run([*prefix, *CLI, "core", "append", "--storage", spec, "three"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "permission denied" in result.stderr.lower() or "read-only" in result.stderr.lower(), result.stderr
    finally:
        os.chmod(where, 0o755)
        for p in where.iterdir():
            os.chmod(p, 0o644)
    assert {p.name: p.read_bytes() for p in where.iterdir() if p.name != "lock.mdb"} == before
    shutil.rmtree(request_cleanup)
