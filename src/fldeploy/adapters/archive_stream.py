"""Tar streams in Python, never through a shell: the volume's tar (from Docker) relayed into a private
tar.gz, and an archive file read through under the restore rules of core/archive_rules: once to judge all of
it (and check its webui.db with SQLite), then again while its sanitized members stream into the volume."""
from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from ..core.archive_rules import DATABASE, ArchiveCheck, Limits, restored_member

CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE
# what a tar stream may add to its members' bytes: headers, padding, the end marker
HEADER_ALLOWANCE = 3 * BLOCK
DAMAGED = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


class ArchiveChanged(Exception):
    """The archive read differently the second time: it was changed while being restored."""


class TooLarge(Exception):
    pass


class ChunkReader:
    """read() over an iterator of byte chunks (Docker's archive stream), for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        size = len(self._buffer) if size < 0 else size
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


class MeteredReader:
    """Counts (and hashes, or caps) what is read through it."""

    def __init__(self, source: BinaryIO | gzip.GzipFile, cap: int | None = None, digest: bool = False) -> None:
        self.source = source
        self.cap = cap
        self.count = 0
        self.hash = hashlib.sha256() if digest else None

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.count += len(data)
        if self.cap is not None and self.count > self.cap:
            raise TooLarge(self.count)
        if self.hash is not None:
            self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def relay(source: tarfile.TarFile, place: Callable[[tarfile.TarInfo], str | None], end: bool = True,
          ) -> Iterator[bytes]:
    """Re-emit a tar stream member by member: place() names each member in the output (None: leave it out);
    headers are rebuilt (core/archive_rules.restored_member), so only plain files and folders come out."""
    for member in source:
        name = place(member)
        if name is None:
            continue
        info = restored_member(member, name)
        yield info.tobuf(tarfile.PAX_FORMAT)
        if info.isreg() and info.size:
            data = source.extractfile(member)
            left = info.size
            while left:
                chunk = data.read(min(CHUNK, left)) if data else b""
                if not chunk:
                    raise tarfile.ReadError("unexpected end of data")
                left -= len(chunk)
                yield chunk
            yield bytes(-info.size % BLOCK)
    if end:
        yield bytes(2 * BLOCK)


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax or GNU long-name header's whole body at once: a 1 MB gzip can declare a 1 GiB header
    and take gigabytes of memory. Such headers carry a name and a few attributes; more than 64 KiB is refused."""

    METADATA = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
    MAX_METADATA_BYTES = 64 * 1024

    def _proc_member(self, tarfile_):  # type: ignore[no-untyped-def]
        if self.type in self.METADATA and self.size > self.MAX_METADATA_BYTES:
            raise tarfile.SubsequentHeaderError(f"a {self.size}-byte metadata header (more than "
                                                f"{self.MAX_METADATA_BYTES} bytes)")
        return super()._proc_member(tarfile_)  # type: ignore[misc]


def write_private_archive(path: Path, chunks: Iterable[bytes]) -> int:
    """gzip the chunks into path: a temp file next to it (mode 0600, owned by whoever runs fldeploy), fsync,
    then a rename that never replaces an existing file. On any failure, Ctrl-C included, no file is left."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as packed:
                for chunk in chunks:
                    packed.write(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links (vfat, some network shares): rename, never replacing
            if os.path.lexists(path):
                raise FileExistsError(f"{path} appeared meanwhile") from None
            os.rename(tmp, path)
        else:
            os.unlink(tmp)
        _sync_folder(path.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path.stat().st_size


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Inspection:
    problems: list[str]
    members: int = 0
    total_bytes: int = 0
    digest: str = ""
    stripped: list[str] = field(default_factory=list)
    over_limit: bool = False


def unpacked_cap(limits: Limits) -> int:
    return limits.max_bytes + (limits.max_members + 2) * HEADER_ALLOWANCE


def inspect_archive(raw: BinaryIO, limits: Limits, scratch: Path) -> Inspection:
    """Read the whole archive (never past the caps) and judge it; webui.db goes to scratch for SQLite."""
    raw.seek(0)
    hashed = MeteredReader(raw, digest=True)
    check = ArchiveCheck(limits)
    database = scratch / DATABASE
    try:
        with gzip.GzipFile(fileobj=hashed, mode="rb") as unpacked:  # type: ignore[call-overload]
            capped = MeteredReader(unpacked, cap=unpacked_cap(limits))
            with tarfile.open(fileobj=capped, mode="r|", tarinfo=BoundedTarInfo) as tar:  # type: ignore[call-overload]
                for member in tar:
                    name = check.add(member)
                    if check.over_limit:
                        break
                    if name == DATABASE:
                        _copy_member(tar, member, database)
            if not check.over_limit:
                capped.drain()  # the gzip trailer: a truncated file fails here at the latest
    except TooLarge:
        check.exceed(f"more than {limits.max_bytes} bytes unpacked (the size cap)")
    except DAMAGED as exc:
        return Inspection([f"it is damaged: truncated, or not a tar.gz ({exc or type(exc).__name__})"])
    problems = check.finish()
    if not problems:
        problem = database_problem(database)
        problems += [problem] if problem else []
    if not problems:
        hashed.drain()
    return Inspection(problems, check.members, check.total_bytes, hashed.hash.hexdigest() if hashed.hash else "",
                      check.stripped, check.over_limit)


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while source and (chunk := source.read(CHUNK)):
            out.write(chunk)


def database_problem(path: Path) -> str | None:
    """None when path is a SQLite database with tables that passes `PRAGMA integrity_check`."""
    import sqlite3

    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchall()
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"its {DATABASE} is not a sound SQLite database ({exc})"
    if verdict != [("ok",)]:
        return f"its {DATABASE} fails SQLite's integrity check ({'; '.join(str(r[0]) for r in verdict[:3])})"
    if not tables:
        return f"its {DATABASE} holds no tables"
    return None


def staged_stream(raw: BinaryIO, limits: Limits, stage: str, judged: Inspection) -> Iterator[bytes]:
    """The archive again, as a plain tar of its sanitized members under the folder stage; raises
    ArchiveChanged when it no longer reads exactly as judged (so nothing unjudged reaches the volume)."""
    raw.seek(0)
    hashed = MeteredReader(raw, digest=True)
    check = ArchiveCheck(limits)
    folder = tarfile.TarInfo(stage)
    folder.type, folder.mode = tarfile.DIRTYPE, 0o700
    yield folder.tobuf(tarfile.PAX_FORMAT)

    def place(member: tarfile.TarInfo) -> str | None:
        name = check.add(member)
        if name is None:
            raise ArchiveChanged(check.finish())
        return f"{stage}/{name}" if name else None

    try:
        with gzip.GzipFile(fileobj=hashed, mode="rb") as unpacked:  # type: ignore[call-overload]
            capped = MeteredReader(unpacked, cap=unpacked_cap(limits))
            with tarfile.open(fileobj=capped, mode="r|", tarinfo=BoundedTarInfo) as tar:  # type: ignore[call-overload]
                yield from relay(tar, place, end=False)
            capped.drain()
        hashed.drain()
    except (TooLarge, *DAMAGED) as exc:
        raise ArchiveChanged(str(exc)) from None
    if hashed.hash is None or hashed.hash.hexdigest() != judged.digest:
        raise ArchiveChanged("its content differs from what was checked")
    yield bytes(2 * BLOCK)
