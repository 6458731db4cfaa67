"""``hyperparty drive ...``: hyperdrive 9 archives (a folder shared as a replicated file system).

* ``drive share DIR --storage S [--listen HOST:PORT] [--live] [--watch [--interval SECONDS]]``: import DIR
  into the drive stored in S (created when S is empty; only what changed since the last import of the
  same storage is written) and serve it.  First line ``{"key", "discoveryKey", "port", "files", "bytes",
  "version"}``; with ``--watch`` DIR is re-imported every interval and each import that changed something
  prints ``{"files", "bytes", "version", "changed"}``.  Symlinks are skipped (warned on stderr).
* ``drive clone KEY DIR --connect HOST:PORT [--storage S] [--sparse PATH]... [--timeout T]``: replicate
  the drive (only the content of the ``--sparse`` paths, when given) and write its files under DIR, never
  outside it; prints ``{"files", "bytes", "seconds"}``.  Entries that cannot be written safely are
  reported on stderr and make the exit status 1.
* ``drive ls --storage S [PATH]``: one ``{"name", "path", "type", "size", "mode", "mtime"}`` per entry;
  ``drive cat --storage S PATH``: the file's bytes on stdout; ``drive stat --storage S PATH``: its stat
  (JS field names); ``drive info --storage S``: ``{"key", "discoveryKey", "contentKey", "version",
  "metadataLength", "contentLength"}``.

Progress of imports, downloads and exports goes to stderr (a bar on a terminal, plain lines otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

from .common import (
    CommandError,
    ProgressReporter,
    add_storage_argument,
    emit,
    parse_host_port,
    parse_key,
    parse_storage,
    warn,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds.hyperdrive import Hyperdrive
    from ..feeds.hyperdrive.mirror import MirrorProgress, MirrorResult
    from .app import CommandLine

__all__ = ["register"]


class FileProgress(ProgressReporter):
    """:class:`ProgressReporter` counting files (imports and exports) instead of blocks."""

    def __call__(self, progress: Any) -> None:  # a MirrorProgress
        now = self._clock()
        if now - self._last < self.interval or now - self._started < self.interval:
            return
        self._last = now
        self.draw(progress.files, progress.total_files, progress.bytes, now - self._started)

    def draw(self, blocks: int, total: int, nbytes: int, seconds: float) -> None:
        rate = nbytes / seconds / 1e6 if seconds > 0 else 0.0
        figures = f"{blocks}/{total} files, {nbytes / 1e6:.1f} MB, {rate:.1f} MB/s"
        if self.tty:
            filled = int(min(blocks / total, 1.0) * self.WIDTH) if total else 0
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {figures}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(f"hyperparty: {figures}\n")
        self.stream.flush()


async def _open(spec: str, *, key: bytes | None = None, sparse: bool = False, existing: bool = False) -> "Hyperdrive":
    from ..feeds.hyperdrive import Hyperdrive
    from ..storage import open_storage

    if existing:
        storage = open_storage(parse_storage(spec))
        try:
            if not storage.sub("metadata").exists("key"):
                raise CommandError(f"no drive is stored in {spec}")
        finally:
            storage.close()
    drive = Hyperdrive(parse_storage(spec), key=key, sparse=sparse)
    try:
        await drive.ready()
    except BaseException:
        await drive.close()
        raise
    return drive


def _report_skipped(result: "MirrorResult") -> None:
    for path, reason in result.skipped:
        warn(f"skipped {path}: {reason}")


async def _import(drive: "Hyperdrive", directory: str) -> "MirrorResult":
    from ..feeds.hyperdrive.mirror import import_directory

    reporter = FileProgress()
    try:
        result = await import_directory(drive, directory, progress=reporter)
    finally:
        reporter.finish()
    _report_skipped(result)
    return result


async def _share(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    if args.interval <= 0:
        raise CommandError("--interval must be > 0")
    host, port = parse_host_port(args.listen)
    drive = await _open(args.storage)
    try:
        if not drive.writable:
            raise CommandError(f"the drive in {args.storage} is not writable (no secret key)")
        result = await _import(drive, args.dir)
        try:
            server = await porcelain.serve(drive, host, port, live=args.live)
        except porcelain.ServeFailed as exc:
            raise CommandError(str(exc)) from None
        try:
            emit({"key": drive.key.hex(), "discoveryKey": drive.discovery_key.hex(), "port": server.port,
                  "files": result.files, "bytes": result.bytes, "version": drive.version})
            if args.watch:
                while True:
                    await asyncio.sleep(args.interval)
                    result = await _import(drive, args.dir)
                    if result.changed:
                        emit({"files": result.files, "bytes": result.bytes, "version": drive.version,
                              "changed": result.changed})
            await server.serve_forever()
        finally:
            server.close()
    finally:
        await drive.close()
    return 0


async def _clone(args: argparse.Namespace) -> int:
    from ..feeds import porcelain
    from ..feeds.hyperdrive.mirror import export_to_directory

    key = parse_key(args.key, "KEY")
    if args.timeout <= 0:
        raise CommandError("--timeout must be > 0")
    started = time.monotonic()
    drive = await _open(args.storage, key=key, sparse=bool(args.sparse))
    try:
        if drive.writable:
            raise CommandError(f"{args.storage} holds the writable drive itself; clone into another storage")

        async def sparse_download() -> None:
            md = drive.metadata
            while md.remote_length == 0:  # the remote's Have tells how long its metadata is
                await asyncio.sleep(0.01)
            await md.download(0, md.remote_length)
            for path in args.sparse:
                await drive.download(path)

        fetch_progress = ProgressReporter()
        try:
            await porcelain.fetch(drive, *parse_host_port(args.connect), live=False, timeout=args.timeout,
                                  progress=fetch_progress, until=sparse_download if args.sparse else None)
        except porcelain.FetchError as exc:
            raise CommandError(str(exc)) from None
        finally:
            fetch_progress.finish()
        reporter = FileProgress()
        try:
            result = await export_to_directory(drive, args.dir, args.sparse or None, progress=reporter)
        finally:
            reporter.finish()
        _report_skipped(result)
        emit({"files": result.files, "bytes": result.bytes, "seconds": round(time.monotonic() - started, 3)})
        return 1 if result.skipped else 0
    finally:
        await drive.close()


def _entry(name: str, path: str, st: Any) -> dict[str, Any]:
    kind = "directory" if st.is_directory() else "file"
    return {"name": name, "path": path, "type": kind, "size": st.size, "mode": st.mode, "mtime": st.mtime}


async def _ls(args: argparse.Namespace) -> int:
    import posixpath

    drive = await _open(args.storage, existing=True)
    try:
        st = await drive.stat(args.path)
        if not st.is_directory():
            emit(_entry(posixpath.basename(args.path), args.path, st))
            return 0
        for name in await drive.readdir(args.path):
            path = posixpath.join(args.path, name)
            emit(_entry(name, path, await drive.stat(path)))
    finally:
        await drive.close()
    return 0


async def _cat(args: argparse.Namespace) -> int:
    drive = await _open(args.storage, existing=True)
    try:
        out = sys.stdout.buffer
        async with drive.open(args.path) as f:
            async for chunk in f:
                out.write(chunk)
        out.flush()
    finally:
        await drive.close()
    return 0


async def _stat(args: argparse.Namespace) -> int:
    drive = await _open(args.storage, existing=True)
    try:
        st = await drive.stat(args.path)
        emit({"path": args.path, "type": "directory" if st.is_directory() else "file", **st.to_json()})
    finally:
        await drive.close()
    return 0


async def _info(args: argparse.Namespace) -> int:
    drive = await _open(args.storage, existing=True)
    try:
        content = drive.content
        emit({
            "key": drive.key.hex(),
            "discoveryKey": drive.discovery_key.hex(),
            "contentKey": content.key.hex() if content is not None else None,
            "version": drive.version,
            "metadataLength": drive.metadata.length,
            "contentLength": content.length if content is not None else None,
        })
    finally:
        await drive.close()
    return 0


def register(cli: "CommandLine") -> None:
    """Add the ``drive`` group: ``share``, ``clone``, ``ls``, ``cat``, ``stat``, ``info``."""
    cli.group(("drive",), "hyperdrive 9: share a folder, clone one, look inside a stored drive")

    def share_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("dir", metavar="DIR", help="the folder to share")
        add_storage_argument(p)
        p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="default 127.0.0.1:0 (any port)")
        p.add_argument("--live", action="store_true", help="keep connections open and push changes")
        p.add_argument("--watch", action="store_true", help="keep importing changes of DIR")
        p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="--watch: seconds between imports")

    def clone_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", metavar="KEY", help="the drive's key (hex)")
        p.add_argument("dir", metavar="DIR", help="where to write the files")
        p.add_argument("--connect", required=True, metavar="HOST:PORT")
        add_storage_argument(p, default="memory")
        p.add_argument("--sparse", action="append", default=[], metavar="PATH",
                       help="only download (and write) this file or directory; repeatable")
        p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="give up connecting, or when nothing arrives for this long (default 10)")

    def path_args(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
        add_storage_argument(p)
        if optional:
            p.add_argument("path", nargs="?", default="/", metavar="PATH", help="default /")
        else:
            p.add_argument("path", metavar="PATH")

    cli.add(("drive", "share"), _share, help="import a folder into a drive and serve it", arguments=share_args)
    cli.add(("drive", "clone"), _clone, help="download a drive and write its files", arguments=clone_args)
    cli.add(("drive", "ls"), _ls, help="list a directory of a stored drive",
            arguments=lambda p: path_args(p, optional=True))
    cli.add(("drive", "cat"), _cat, help="a file's bytes on stdout", arguments=path_args)
    cli.add(("drive", "stat"), _stat, help="the stat of a path", arguments=path_args)
    cli.add(("drive", "info"), _info, help="keys, version and lengths of a stored drive", arguments=add_storage_argument)

