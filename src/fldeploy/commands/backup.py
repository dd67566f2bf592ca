"""`fldeploy backup` / `restore`: Open WebUI's data volume to and from a private tar.gz, with Open WebUI stopped
meanwhile (its SQLite database must not change under the copy).

No shell and no user data in any command: archives are written and judged in Python (adapters/archive_stream
under core/archive_rules) and streamed through helper containers (adapters/volume). A restore judges the whole
archive first, saves the current data (the safety copy), stages the new data inside the volume, and only then
swaps it in, rolling back when a rename fails; until the swap the current data is untouched."""
from __future__ import annotations

import os
import secrets
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from ..core.archive_rules import (MAX_RESTORE_BYTES, PRIVATE_PREFIX, Limits, is_private, member_problem,
                                  relative_name, summary)
from ..errors import ConfigError, ExitCode, FldeployError
from ..result import Result
from ..services.confirm import confirm
from ..services.stack import stack_compose
from ..stack.pause import SERVICE, OpenWebUIPause

MAX_BYTES_ENV = "FLDEPLOY_RESTORE_MAX_BYTES"
COPY_TIMEOUT = 3600.0
SWAP_TIMEOUT = 1800.0


def _image(compose) -> str:
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


def _until(deadline: float, chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise FldeployError(f"the copy took longer than {COPY_TIMEOUT:.0f}s and was stopped", "",
                                ExitCode.TIMEOUT, "backup.timeout")
        yield chunk


def _save_volume(settings, image: str, path: Path, purpose: str) -> tuple[int, list[str]]:
    """The volume into path (private tar.gz, members './webui.db' like `tar -C /data .`): size, left out."""
    from ..adapters import volume
    from ..adapters.archive_stream import ChunkReader, relay, write_private_archive

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
        stream = tarfile.open(fileobj=ChunkReader(_until(deadline, chunks)), mode="r|")  # type: ignore
        return write_private_archive(path, relay(stream, place)), left_out


def _copy_failed(exc: BaseException, what: str, after: str) -> FldeployError:
    if isinstance(exc, FldeployError):
        return FldeployError(f"{exc.message}: {after}", exc.fix, exc.exit_code, exc.code)
    detail = str(exc).strip()[:300] or type(exc).__name__
    return FldeployError(f"{what} failed ({detail}): {after}", "see `fldeploy doctor`; free disk space if it is "
                         "full", ExitCode.CHECK_FAILED, "backup.copy")


def backup(settings, target: str | None, progress) -> Result:
    from ..adapters import volume
    from ..adapters.signals import sigterm_as_interrupt

    volume.check_volume_name(settings.volume)
    compose = stack_compose(settings)
    image = _image(compose)
    volume.check_volume_exists(settings.volume)
    path = Path(target or f"{settings.volume}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz").resolve()
    if os.path.lexists(path):
        raise FldeployError(f"{path} exists", "choose another file name", ExitCode.USAGE, "backup.exists")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        usable = os.access(path.parent, os.W_OK | os.X_OK)
    except OSError:
        usable = False
    if not usable:
        raise FldeployError(f"cannot write in {path.parent}: nothing was done", "choose a folder you can write to",
                            ExitCode.USAGE, "backup.folder")
    pause = OpenWebUIPause(compose, settings.project, "backup")
    with sigterm_as_interrupt():
        pause.stop(progress, "no archive was written")
        progress(f"backing up volume {settings.volume} to {path}")
        try:
            size, left_out = _save_volume(settings, image, path, "backup")
        except KeyboardInterrupt:
            raise pause.after(FldeployError("interrupted: no archive was written", "run `fldeploy backup` again",
                                            ExitCode.INTERRUPTED, "backup.interrupted"), progress) from None
        except Exception as exc:  # whatever broke the copy, the user gets Open WebUI back and one message
            raise pause.after(_copy_failed(exc, "the copy", "no archive was written"), progress) from None
        problem = pause.resume(progress)
    if problem is not None:
        raise FldeployError(f"the backup is complete ({path}), but Open WebUI did not start again ({problem})",
                            "run `fldeploy up`; see `fldeploy logs open-webui`", ExitCode.CHECK_FAILED,
                            "backup.restart")
    data = {"file": str(path), "bytes": size, "volume": settings.volume, "paused": pause.was_running,
            "left_out": left_out}
    if left_out:  # a backup that restore would refuse is worse than one without these entries
        return Result("backup", data, "warn", ExitCode.OK, [{
            "code": "backup.left_out", "message": f"left out what restore refuses: {summary(left_out[:8])}",
            "hint": "these are not plain files or folders; copy them by hand if you need them"}])
    return Result("backup", data)


def _free_name(folder: Path, stem: str) -> Path:
    path, n = folder / f"{stem}.tar.gz", 2
    while os.path.lexists(path):
        path, n = folder / f"{stem}-{n}.tar.gz", n + 1
    return path


def restore(settings, source: str, confirmed: bool, interactive: bool, ask, progress) -> Result:
    from ..adapters import volume

    volume.check_volume_name(settings.volume)
    compose = stack_compose(settings)
    image = _image(compose)
    volume.check_volume_exists(settings.volume)
    limits = restore_limits()
    path = Path(source).resolve()
    if not path.is_file():
        raise FldeployError(f"no backup at {path}", "pass a file written by `fldeploy backup`", ExitCode.USAGE,
                            "restore.missing")
    confirm(confirmed, interactive, ask, "restore", f"restore replaces the data in volume {settings.volume}",
            f"Replace the data in {settings.volume} with {path.name}? (the current data is saved first)",
            fix="add --yes to confirm (the current data is saved first)")
    try:
        raw = open(path, "rb")
        scratch = tempfile.TemporaryDirectory(prefix=".fldeploy-check-", dir=path.parent)
    except OSError as exc:
        raise FldeployError(f"cannot read {path} or write next to it ({exc.strerror or exc}): nothing was changed",
                            "the archive's folder must be writable: the safety copy of the current data goes there",
                            ExitCode.USAGE, "restore.folder") from None
    with raw, scratch as folder:
        return _restore_from(settings, compose, image, path, raw, Path(folder), limits, progress)


def _restore_from(settings, compose, image: str, path: Path, raw, scratch: Path, limits: Limits, progress) -> Result:
    from ..adapters.archive_stream import inspect_archive
    from ..adapters.signals import sigterm_as_interrupt

    untouched = f"nothing was changed: Open WebUI keeps its data in volume {settings.volume}"
    with sigterm_as_interrupt():
        progress(f"checking {path.name}")
        try:
            judged = inspect_archive(raw, limits, scratch)
        except KeyboardInterrupt:
            raise FldeployError(f"interrupted while checking the archive: {untouched}", "",
                                ExitCode.INTERRUPTED, "restore.interrupted") from None
        if judged.problems:
            cap = (f"; if it is genuine, raise {MAX_BYTES_ENV} (now {limits.max_bytes} bytes)"
                   if judged.over_limit else "")
            raise FldeployError(f"{path} cannot be restored: {summary(judged.problems)}; {untouched}",
                                f"restore an archive written by `fldeploy backup`{cap}", ExitCode.CHECK_FAILED,
                                "restore.refused")
        safety = _free_name(path.parent, f"{settings.volume}-before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        pause = OpenWebUIPause(compose, settings.project, "restore")
        pause.stop(progress, untouched)
        try:
            _swap_in(settings, image, raw, limits, judged, safety, progress)
        except FldeployError as err:
            raise pause.after(err, progress) from None
        except KeyboardInterrupt:
            raise pause.after(FldeployError(f"interrupted; if {safety} exists, it holds the data before the "
                                            "restore", "", ExitCode.INTERRUPTED, "restore.interrupted"),
                              progress) from None
        problem = pause.resume(progress)
    kept = f"the data it replaced is in {safety}"
    if problem is not None:
        raise FldeployError(f"restored {path.name} into volume {settings.volume}, but Open WebUI did not start "
                            f"again ({problem}); {kept}", "run `fldeploy up`; see `fldeploy logs open-webui`",
                            ExitCode.CHECK_FAILED, "restore.restart")
    return Result("restore", {"file": str(path), "volume": settings.volume, "saved_previous": str(safety),
                              "paused": pause.was_running, "members": judged.members, "bytes": judged.total_bytes,
                              "special_bits_stripped": judged.stripped[:20]})


def _swap_in(settings, image: str, raw, limits: Limits, judged, safety: Path, progress) -> None:
    """Safety copy, staging inside the volume, swap. Every error from here on names the safety copy."""
    from ..adapters import volume
    from ..adapters.archive_stream import ArchiveChanged, staged_stream
    from ..adapters.signals import held_interrupts

    untouched = f"nothing was changed: Open WebUI keeps its data in volume {settings.volume}"
    progress(f"saving the current data to {safety}")
    try:
        _save_volume(settings, image, safety, "safety-copy")
    except KeyboardInterrupt:
        raise FldeployError(f"interrupted while saving the current data: {untouched}", "",
                            ExitCode.INTERRUPTED, "restore.interrupted") from None
    except Exception as exc:
        raise _copy_failed(exc, f"saving the current data to {safety}", untouched) from None
    kept = f"{untouched}; it is also saved in {safety}"
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    stage, previous = f"{PRIVATE_PREFIX}restore-{run_id}", f"{PRIVATE_PREFIX}previous-{run_id}"
    progress("unpacking the archive into the volume (staged beside the current data)")
    deadline = time.monotonic() + COPY_TIMEOUT
    try:
        with volume.helper(image, settings.volume, settings.project, "restore", read_only=False,
                           command=["swap", stage, previous]) as swapper:
            try:
                swapper.write(_until(deadline, staged_stream(raw, limits, stage, judged)))
            except BaseException:
                _discard(settings, image, stage)
                raise
            progress("swapping the restored data in (Ctrl-C waits for this step)")
            with held_interrupts() as held:
                try:
                    status, output = swapper.run(SWAP_TIMEOUT)
                except Exception as exc:  # no answer in time: the script's state is unknown
                    status, output = -1, str(exc)[:300]
    except KeyboardInterrupt:
        raise FldeployError(f"interrupted: {kept}", "", ExitCode.INTERRUPTED, "restore.interrupted") from None
    except ArchiveChanged as exc:
        raise FldeployError(f"the archive changed while it was being restored ({exc}): {kept}",
                            "restore again from a file nothing writes to", ExitCode.CHECK_FAILED,
                            "restore.changed") from None
    except Exception as exc:
        raise _copy_failed(exc, "unpacking the archive into the volume", kept) from None
    if status == volume.ROLLED_BACK:
        raise FldeployError(f"the swap failed and was rolled back ({output}): {kept}",
                            "see why a file in the volume could not be renamed, then restore again",
                            ExitCode.CHECK_FAILED, "restore.swap")
    if status != volume.SWAPPED:
        raise FldeployError(f"the swap failed half-way ({output or f'exit status {status}'}): the volume may hold "
                            f"a mix of old and new data; the data before the restore is saved in {safety}",
                            f"put it back: `fldeploy restore {safety} --yes`", ExitCode.CHECK_FAILED,
                            "restore.half_swapped")
    if held:
        raise FldeployError(f"interrupted after the restored data was swapped in (the restore is done); the data "
                            f"it replaced is in {safety}", "", ExitCode.INTERRUPTED, "restore.interrupted")


def _discard(settings, image: str, stage: str) -> None:
    """Remove the staged folder from the volume; the current data beside it was never touched."""
    from ..adapters import volume

    try:
        with volume.helper(image, settings.volume, settings.project, "discard", read_only=False,
                           command=["discard", stage, ""]) as cleaner:
            cleaner.run(300)
    except Exception:  # the next restore removes a leftover stage; the original error is the one to report
        pass
