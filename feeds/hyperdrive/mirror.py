"""Copying between a local directory and a drive: the library behind ``hyperparty drive share`` and
``hyperparty drive clone``.

:func:`import_directory` makes the drive hold what ``root`` holds, writing only what changed: a file whose
size and modification time (milliseconds, stored as the Stat's ``mtime``) match the drive's is left
alone; files and directories gone from ``root`` are deleted from the drive; directories are ``mkdir``-ed
(so empty ones are kept).  Files are streamed from disk (64 KiB blocks, never a whole file in memory).
Symlinks are never followed (hyperdrive 9 stores none): each one is skipped and reported, as are names a
drive path cannot hold (a backslash — JS turns it into a separator).

:func:`export_to_directory` writes a drive's files (or the subtrees at some paths) under ``root`` and
never outside it: a name that is not a plain file name (``..``, ``.``, a separator, NUL) is refused,
directories are created one level at a time and must not be symlinks, files are opened with
``O_NOFOLLOW``, and an entry whose place is taken by something of another kind is refused.  Refused
entries are reported, the rest is written.
"""

from __future__ import annotations

import dataclasses
import os
import stat as statmod
from pathlib import Path
from typing import Callable

from .drive import Hyperdrive
from .errors import NotFoundError
from .paths import is_safe_component, join, parse
from .stat import DriveStat

__all__ = ["import_directory", "export_to_directory", "MirrorResult", "MirrorProgress", "walk_drive"]


@dataclasses.dataclass
class MirrorResult:
    """``files``/``bytes``: the files the target holds afterwards (import: all of them; export: those
    written); ``changed``: drive operations written (import); ``skipped``: ``(path, reason)`` refused."""

    files: int = 0
    bytes: int = 0
    changed: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class MirrorProgress:
    files: int
    total_files: int
    bytes: int


Progress = Callable[[MirrorProgress], None]


def _mtime_ms(st: os.stat_result) -> int:
    return st.st_mtime_ns // 1_000_000


async def walk_drive(drive: Hyperdrive, start: tuple[str, ...] = (),
                     skipped: list[tuple[str, str]] | None = None) -> tuple[dict[tuple[str, ...], DriveStat], list[tuple[str, ...]]]:
    """``({file path: stat}, [directory paths])`` of everything at or below ``start`` (directories
    parents first).  Entries whose name is not a plain file name (``is_safe_component``) cannot be
    addressed by path: they are left out, and listed in ``skipped`` when given."""
    files: dict[tuple[str, ...], DriveStat] = {}
    dirs: list[tuple[str, ...]] = []
    st = await drive.lstat(join(start))
    if not st.is_directory():
        files[start] = st
        return files, dirs
    queue = [start]
    while queue:
        here = queue.pop(0)
        if here:
            dirs.append(here)
        for name in await drive.readdir(join(here)):
            path = here + (name,)
            if not is_safe_component(name):
                if skipped is not None:
                    skipped.append((join(here).rstrip("/") + "/" + repr(name)[1:-1], "not a plain file name"))
                continue
            child = await drive.lstat(join(path))
            if child.is_directory():
                queue.append(path)
            else:
                files[path] = child
    return files, dirs


def _scan(root: Path, result: MirrorResult) -> tuple[dict[tuple[str, ...], os.stat_result], list[tuple[str, ...]]]:
    """Regular files and directories under ``root`` (symlinks and odd names skipped into ``result``)."""
    files: dict[tuple[str, ...], os.stat_result] = {}
    dirs: list[tuple[str, ...]] = []
    stack: list[tuple[str, ...]] = [()]
    while stack:
        here = stack.pop()
        with os.scandir(root.joinpath(*here)) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = here + (entry.name,)
            shown = "/".join(path)
            if entry.is_symlink():
                target = os.readlink(entry.path)
                inside = os.path.realpath(entry.path).startswith(str(root.resolve()) + os.sep)
                result.skipped.append((shown, f"a symlink to {target}{'' if inside else ' (outside the directory)'}: "
                                              "hyperdrive 9 stores no symlinks"))
            elif not is_safe_component(entry.name):
                result.skipped.append((shown, "a name a drive path cannot hold"))
            elif entry.is_dir(follow_symlinks=False):
                dirs.append(path)
                stack.append(path)
            elif entry.is_file(follow_symlinks=False):
                files[path] = entry.stat(follow_symlinks=False)
            else:
                result.skipped.append((shown, "not a regular file or directory"))
    dirs.sort()
    return files, dirs


async def import_directory(drive: Hyperdrive, root: str | os.PathLike, *, progress: Progress | None = None) -> MirrorResult:
    """Make ``drive`` hold the files and directories of ``root`` (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    result = MirrorResult()
    local_files, local_dirs = _scan(root, result)
    try:
        have_files, have_dirs = await walk_drive(drive)
    except NotFoundError:
        have_files, have_dirs = {}, []
    wanted_dirs = set(local_dirs)
    for path in have_files:  # gone, or now a directory
        if path not in local_files:
            await drive.unlink(join(path))
            result.changed += 1
    for path in sorted(have_dirs, key=len, reverse=True):  # deepest first, once emptied
        if path not in wanted_dirs and await drive.exists(join(path)) and await _remove_dir(drive, path):
            result.changed += 1
    for path in local_dirs:
        if not await drive.exists(join(path)):
            await drive.mkdir(join(path), mode=statmod.S_IMODE(os.stat(root.joinpath(*path)).st_mode))
            result.changed += 1
    total = len(local_files)
    for done, (path, local) in enumerate(sorted(local_files.items()), 1):
        old = have_files.get(path)
        mtime = _mtime_ms(local) or 1  # 0 would mean "now"
        if old is None or not old.is_file() or old.size != local.st_size or old.mtime != mtime:
            with open(root.joinpath(*path), "rb") as f:
                written = await drive.write_file(join(path), f, mode=statmod.S_IMODE(local.st_mode) or None,
                                                 mtime=mtime, ctime=mtime)
            result.changed += 1
            result.bytes += written.size
        else:
            result.bytes += old.size
        result.files += 1
        if progress is not None:
            progress(MirrorProgress(done, total, result.bytes))
    return result


async def _has_node(drive: Hyperdrive, path: tuple[str, ...]) -> bool:
    node = await drive._tree.get(path)
    return node is not None


async def _remove_dir(drive: Hyperdrive, path: tuple[str, ...]) -> bool:
    """Delete directory ``path`` (its files are already gone): its own node if it has one."""
    if await _has_node(drive, path) and not await drive.readdir(join(path)):
        await drive.rmdir(join(path))
        return True
    return False


class _Refused(Exception):
    pass


def _make_dirs(root: Path, components: tuple[str, ...]) -> Path:
    """``root/components...`` as directories, created one level at a time; refuses symlinks and files."""
    here = root
    for name in components:
        here = here / name
        try:
            os.mkdir(here)
        except FileExistsError:
            if here.is_symlink() or not here.is_dir():
                raise _Refused(f"{here} exists and is not a directory") from None
    return here


def _open_target(path: Path, mode: int) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    except OSError as err:
        raise _Refused(f"cannot write {path}: {err.strerror or err}") from None


async def export_to_directory(drive: Hyperdrive, root: str | os.PathLike, paths: list[str] | None = None, *,
                              progress: Progress | None = None) -> MirrorResult:
    """Write the drive's files (or those at or below ``paths``) under ``root`` (see the module docstring)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    result = MirrorResult()
    files: dict[tuple[str, ...], DriveStat] = {}
    dirs: list[tuple[str, ...]] = []
    for start in paths if paths is not None else ["/"]:
        f, d = await walk_drive(drive, parse(start), result.skipped)
        files.update(f)
        dirs.extend(d)
    for path in dirs:
        try:
            _make_dirs(root, path)
        except _Refused as err:
            result.skipped.append((join(path), str(err)))
    total = len(files)
    for done, (path, st) in enumerate(sorted(files.items()), 1):
        try:
            parent = _make_dirs(root, path[:-1])
            fd = _open_target(parent / path[-1], statmod.S_IMODE(st.mode) or 0o644)
        except _Refused as err:
            result.skipped.append((join(path), str(err)))
            continue
        with os.fdopen(fd, "wb") as out:
            async with drive.open(join(path)) as f:
                async for chunk in f:
                    out.write(chunk)
        if st.mtime:
            os.utime(parent / path[-1], ns=(st.mtime * 1_000_000, st.mtime * 1_000_000), follow_symlinks=False)
        result.files += 1
        result.bytes += st.size
        if progress is not None:
            progress(MirrorProgress(done, total, result.bytes))
    return result
