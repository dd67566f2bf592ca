"""What `backup` and `restore` share: Open WebUI's data volume streamed through helper containers into a private
tar.gz (no shell, no user data in any command), the restore limits, and the error naming a failed copy."""
from __future__ import annotations

import os
import tarfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from ..core.archive_rules import MAX_RESTORE_BYTES, Limits, is_private, member_problem, relative_name
from ..errors import ConfigError, ExitCode, FldeployError
from ..stack.pause import SERVICE

MAX_BYTES_ENV = "FLDEPLOY_RESTORE_MAX_BYTES"
COPY_TIMEOUT = 3600.0
SWAP_TIMEOUT = 1800.0


def openwebui_image(compose) -> str:
    from ..stack.files import read_services

    image = (read_services(compose.dir).get(SERVICE) or {}).get("image")
    if not image:
        raise FldeployError("the stack has no Open WebUI service", "", ExitCode.CHECK_FAILED, "backup.no_service")
    return image


def restore_limits() -> Limits:
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return Limits()
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{MAX_BYTES_ENV}={raw!r} is not a positive number of bytes",
                          f"set {MAX_BYTES_ENV} to a byte count (default {MAX_RESTORE_BYTES}) or unset it",
                          "restore.max_bytes")
    return Limits(max_bytes=int(raw))


def until(deadline: float, chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise FldeployError(f"the copy took longer than {COPY_TIMEOUT:.0f}s and was stopped", "",
                                ExitCode.TIMEOUT, "backup.timeout")
        yield chunk


def save_volume(settings, image: str, path: Path, purpose: str) -> tuple[int, list[str]]:
    """The volume into path (private tar.gz, members './webui.db' like `tar -C /data .`): size, left out."""
    from ..adapters import volume
    from ..adapters.archive_stream import BoundedTarInfo, ChunkReader, relay, write_private_archive

    left_out: list[str] = []

    def place(member: tarfile.TarInfo) -> str | None:
        inside = relative_name(member.name.split("/", 1)[1] if "/" in member.name else "")
        problem = member_problem(member)
        if is_private(inside):
            return None
        if problem:
            left_out.append(problem)
            return None
        return f"./{inside}" if inside else "."

    deadline = time.monotonic() + COPY_TIMEOUT
    with volume.helper(image, settings.volume, settings.project, purpose, read_only=True) as reader, \
            reader.read() as chunks:
        stream = tarfile.open(fileobj=ChunkReader(until(deadline, chunks)), mode="r|",  # type: ignore
                              tarinfo=BoundedTarInfo)
        return write_private_archive(path, relay(stream, place)), left_out


def copy_failed(exc: BaseException, what: str, after: str) -> FldeployError:
    if isinstance(exc, FldeployError):
        return FldeployError(f"{exc.message}: {after}", exc.fix, exc.exit_code, exc.code)
    detail = str(exc).strip()[:300] or type(exc).__name__
    return FldeployError(f"{what} failed ({detail}): {after}", "see `fldeploy doctor`; free disk space if it is "
                         "full", ExitCode.CHECK_FAILED, "backup.copy")


def free_name(folder: Path, stem: str) -> Path:
    path, n = folder / f"{stem}.tar.gz", 2
    while os.path.lexists(path):
        path, n = folder / f"{stem}-{n}.tar.gz", n + 1
    return path


def writable_target(path: Path, code: str) -> None:
    """A new file may be written at path (taken as typed: an existing name, even a dangling symlink, is refused),
    or FldeployError before anything was done."""
    if os.path.lexists(path):
        raise FldeployError(f"{path} exists", "choose another file name", ExitCode.USAGE, f"{code}.exists")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        usable = os.access(path.parent, os.W_OK | os.X_OK)
    except OSError:
        usable = False
    if not usable:
        raise FldeployError(f"cannot write in {path.parent}: nothing was done", "choose a folder you can write to",
                            ExitCode.USAGE, f"{code}.folder")
