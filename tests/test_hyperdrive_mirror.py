"""Importing a folder into a drive (only what changed) and exporting a drive into a folder (never outside
it), on every storage backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyperparty.feeds.hyperdrive import Hyperdrive
from hyperparty.feeds.hyperdrive.mirror import export_to_directory, import_directory
from hyperparty.feeds.hyperdrive.stat import IFREG
from hyperparty.feeds.hyperdrive.messages import Stat
from hyperparty import protobuf as pb

from hyperdrive_ops import pattern


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"hello",
        "sub/b.bin": pattern(200_000, 3),
        "sub/deeper/c": b"",
        "sub/deeper/d.md": b"# d",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "empty-dir").mkdir()
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


async def test_import_then_export_round_trip(backend, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = make_tree(src)
    drive = Hyperdrive(backend.open("drive"))
    result = await import_directory(drive, src)
    assert (result.files, result.bytes, result.skipped) == (4, sum(map(len, files.values())), [])
    assert sorted(await drive.readdir("/")) == ["a.txt", "empty-dir", "sub"]
    assert (await drive.stat("/empty-dir")).is_directory()
    st = await drive.stat("/sub/b.bin")
    assert st.mtime == (src / "sub/b.bin").stat().st_mtime_ns // 1_000_000 and st.mode & 0o777 == (src / "sub/b.bin").stat().st_mode & 0o777
    out = tmp_path / "out"
    exported = await export_to_directory(drive, out)
    assert (exported.files, exported.skipped) == (4, [])
    assert read_tree(out) == files and (out / "empty-dir").is_dir()
    assert (out / "sub/b.bin").stat().st_mtime_ns // 1_000_000 == st.mtime
    partial = await export_to_directory(drive, tmp_path / "partial", ["/sub/deeper"])
    assert read_tree(tmp_path / "partial") == {"sub/deeper/c": b"", "sub/deeper/d.md": b"# d"}
    assert partial.files == 2
    await drive.close()


async def test_import_writes_only_what_changed(backend, tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_tree(src)
    drive = Hyperdrive(backend.open("drive"))
    await import_directory(drive, src)
    version = drive.version
    again = await import_directory(drive, src)
    assert again.changed == 0 and drive.version == version and again.files == 4

    (src / "a.txt").write_bytes(b"changed!")
    os.utime(src / "a.txt", ns=(10**18, 10**18))
    (src / "sub/deeper/c").unlink()
    (src / "new.txt").write_bytes(b"new")
    (src / "empty-dir").rmdir()
    (src / "sub/deeper/d.md").unlink()
    (src / "sub/deeper").rmdir()
    (src / "sub/deeper").write_bytes(b"now a file")  # a directory replaced by a file
    third = await import_directory(drive, src)
    assert third.files == 4
    assert sorted(await drive.readdir("/")) == ["a.txt", "new.txt", "sub"]
    assert await drive.readdir("/sub") == ["b.bin", "deeper"] or sorted(await drive.readdir("/sub")) == ["b.bin", "deeper"]
    assert await drive.read_file("/sub/deeper") == b"now a file"
    assert await drive.read_file("/a.txt") == b"changed!"
    assert not await drive.exists("/empty-dir") and not await drive.exists("/sub/deeper/c")
    assert await import_directory(drive, src) is not None and (await import_directory(drive, src)).changed == 0
    await drive.close()


async def test_import_skips_symlinks(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.txt").write_bytes(b"real")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    (src / "out").symlink_to(outside)
    (src / "in").symlink_to(src / "real.txt")
    (src / "loop").symlink_to(src)
    (src / "back\\slash").write_bytes(b"x")
    drive = Hyperdrive("memory")
    result = await import_directory(drive, src)
    assert await drive.readdir("/") == ["real.txt"]
    skipped = dict(result.skipped)
    assert set(skipped) == {"out", "in", "loop", "back\\slash"}
    assert "outside the directory" in skipped["out"] and "outside" not in skipped["in"]
    await drive.close()


async def test_export_never_writes_outside(tmp_path: Path) -> None:
    drive = Hyperdrive("memory")
    await drive.write_file("/ok.txt", b"ok")
    await drive.write_file("/dir/inner.txt", b"inner")
    value = pb.encode(Stat(mode=IFREG | 0o644, uid=0, gid=0, size=0, blocks=0, offset=0, byteOffset=0, mtime=1, ctime=1))
    for names in [("..", "escaped"), ("a\\..\\..\\escaped2",), (".", "x"), ("nul\0byte",)]:
        await drive._tree.put(names, value)  # a hostile writer can store any name
    root = tmp_path / "root"
    root.mkdir()
    (root / "dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    result = await export_to_directory(drive, root)
    assert read_tree(root) == {"ok.txt": b"ok"}
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped2").exists()
    refused = {path for path, _ in result.skipped}
    assert "/dir" in refused and "/dir/inner.txt" in refused
    assert "/a\\\\..\\\\..\\\\escaped2" in refused and "/nul\\x00byte" in refused
    await drive.close()


async def test_export_refuses_a_symlinked_file(tmp_path: Path) -> None:
    drive = Hyperdrive("memory")
    await drive.write_file("/victim", b"overwrite?")
    target = tmp_path / "target"
    target.write_bytes(b"untouched")
    root = tmp_path / "root"
    root.mkdir()
    (root / "victim").symlink_to(target)
    result = await export_to_directory(drive, root)
    assert target.read_bytes() == b"untouched" and [p for p, _ in result.skipped] == ["/victim"]
    await drive.close()


async def test_import_needs_a_directory(tmp_path: Path) -> None:
    drive = Hyperdrive("memory")
    with pytest.raises(NotADirectoryError):
        await import_directory(drive, tmp_path / "missing")
    await drive.close()
