"""`fldeploy backup`: Open WebUI's data volume to a private tar.gz, with Open WebUI stopped meanwhile (its SQLite
database must not change under the copy). No shell and no user data in any command."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..core.archive_rules import summary
from ..errors import ExitCode, FldeployError
from ..result import Result
from ..services.stack import stack_compose
from ..stack.pause import OpenWebUIPause

from ..services.volume_backup import copy_failed, openwebui_image, save_volume, writable_target


def backup(settings, target: str | None, progress) -> Result:
    if settings.target == "swarm":  # PostgreSQL through pg_dump/pg_restore
        from ..services import swarm_backup

        return swarm_backup.backup(settings, target, progress)
    from ..adapters import volume
    from ..adapters.signals import sigterm_as_interrupt

    volume.check_volume_name(settings.volume)
    compose = stack_compose(settings)
    image = openwebui_image(compose)
    volume.check_volume_exists(settings.volume)
    # as typed, never through a symlink someone planted at that name
    path = Path(os.path.abspath(target or f"{settings.volume}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"))
    writable_target(path, "backup")
    pause = OpenWebUIPause(compose, settings.project, "backup")
    with sigterm_as_interrupt():
        pause.stop(progress, "no archive was written")
        progress(f"backing up volume {settings.volume} to {path}")
        try:
            size, left_out = save_volume(settings, image, path, "backup")
        except KeyboardInterrupt:
            raise pause.after(FldeployError("interrupted: no archive was written", "run `fldeploy backup` again",
                                            ExitCode.INTERRUPTED, "backup.interrupted"), progress) from None
        except Exception as exc:  # whatever broke the copy, the user gets Open WebUI back and one message
            raise pause.after(copy_failed(exc, "the copy", "no archive was written"), progress) from None
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
