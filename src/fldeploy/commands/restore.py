"""`fldeploy restore`: judge the whole archive first (regular files and folders only, no climbing out, caps,
a database that passes its integrity check), save the current data (the safety copy), stage the new data inside
the volume, and only then swap it in, rolling back when a rename fails; until the swap the current data is
untouched, and every message after the safety copy exists names it."""
from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

from ..core.archive_rules import PRIVATE_PREFIX, Limits, summary
from ..errors import ExitCode, FldeployError
from ..result import Result
from ..services.confirm import confirm
from ..services.stack import stack_compose
from ..services.volume_backup import (COPY_TIMEOUT, MAX_BYTES_ENV, SWAP_TIMEOUT, copy_failed, free_name,
                                      openwebui_image, restore_limits, save_volume, until)
from ..stack.pause import OpenWebUIPause


def restore(settings, source: str, confirmed: bool, interactive: bool, ask, progress) -> Result:
    if settings.target == "swarm":  # PostgreSQL through pg_dump/pg_restore
        from ..services import swarm_backup

        return swarm_backup.restore(settings, source, confirmed, interactive, ask, progress)
    from ..adapters import volume

    volume.check_volume_name(settings.volume)
    compose = stack_compose(settings)
    image = openwebui_image(compose)
    volume.check_volume_exists(settings.volume)
    limits = restore_limits()
    path = Path(os.path.abspath(source))  # the safety copy goes next to it as typed, not where a link points
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
        safety = free_name(path.parent, f"{settings.volume}-before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
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
        save_volume(settings, image, safety, "safety-copy")
    except KeyboardInterrupt:
        raise FldeployError(f"interrupted while saving the current data: {untouched}", "",
                            ExitCode.INTERRUPTED, "restore.interrupted") from None
    except Exception as exc:
        raise copy_failed(exc, f"saving the current data to {safety}", untouched) from None
    kept = f"{untouched}; it is also saved in {safety}"
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    stage, previous = f"{PRIVATE_PREFIX}restore-{run_id}", f"{PRIVATE_PREFIX}previous-{run_id}"
    progress("unpacking the archive into the volume (staged beside the current data)")
    deadline = time.monotonic() + COPY_TIMEOUT
    try:
        with volume.helper(image, settings.volume, settings.project, "restore", read_only=False,
                           command=["swap", stage, previous]) as swapper:
            try:
                swapper.write(until(deadline, staged_stream(raw, limits, stage, judged)))
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
        raise copy_failed(exc, "unpacking the archive into the volume", kept) from None
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
