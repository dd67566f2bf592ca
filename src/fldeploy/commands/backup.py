"""`fldeploy backup` / `restore`: the Open WebUI data volume to and from a tar.gz, with Open WebUI stopped
meanwhile (its SQLite database must not change under the copy). A restore first saves what it replaces."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import ExitCode, FldeployError
from ..result import Result
from .stack import confirm, stack_compose

SERVICE = "open-webui"


def _image(compose) -> str:
    from ..stack.files import read_services

    image = (read_services(compose.dir).get(SERVICE) or {}).get("image")
    if not image:
        raise FldeployError("the stack has no Open WebUI service", "", ExitCode.CHECK_FAILED, "backup.no_service")
    return image


def _tar(settings, image: str, folder: Path, script: str, owned: list[str]) -> None:
    """Run script in a container with the volume at /data and folder at /backup; the archives it writes
    are private (umask 077) and handed to the calling user (the image runs as root)."""
    from ..adapters import proc

    chown = " ".join(f"'/backup/{name}'" for name in owned)
    script = f"umask 077 && {script} && chown {os.getuid()}:{os.getgid()} {chown}"
    done = proc.run(["docker", "run", "--rm", "--entrypoint", "sh", "-v", f"{settings.volume}:/data",
                     "-v", f"{folder}:/backup", image, "-c", script], 600)
    if not done.ok:
        raise FldeployError(f"the copy failed: {(done.stderr or done.stdout).strip()[-300:]}", "see `docker volume ls`",
                            ExitCode.CHECK_FAILED, "backup.copy")


class _Paused:
    """Stop Open WebUI for the copy if it runs; start it again afterwards, whatever happens."""

    def __init__(self, compose) -> None:
        self.compose = compose
        self.was_running = False

    def __enter__(self):
        from ..adapters import proc

        running = {c.get("Service") for c in self.compose.ps() if c.get("State") == "running"}
        self.was_running = SERVICE in running
        if self.was_running:
            proc.run(self.compose.argv("stop", SERVICE), 120)
        return self

    def __exit__(self, *exc) -> None:
        from ..adapters import proc

        if self.was_running:  # back, and healthy, before the command returns
            proc.run(self.compose.argv("up", "--detach", "--wait", "--no-deps", SERVICE), 600)


def backup(settings, target: str | None, progress) -> Result:
    compose = stack_compose(settings)
    image = _image(compose)
    path = Path(target or f"{settings.volume}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz").resolve()
    if path.exists():
        raise FldeployError(f"{path} exists", "choose another file name", ExitCode.USAGE, "backup.exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    progress(f"backing up volume {settings.volume} (Open WebUI paused)")
    with _Paused(compose) as paused:
        # the database holds password hashes and API keys: the archive is private
        _tar(settings, image, path.parent, f"tar -czf '/backup/{path.name}.tmp' -C /data . && "
                                           f"mv '/backup/{path.name}.tmp' '/backup/{path.name}'", [path.name])
    return Result("backup", {"file": str(path), "bytes": path.stat().st_size, "volume": settings.volume,
                             "paused": paused.was_running})


def restore(settings, source: str, confirmed: bool, interactive: bool, ask, progress) -> Result:
    compose = stack_compose(settings)
    image = _image(compose)
    path = Path(source).resolve()
    if not path.is_file():
        raise FldeployError(f"no backup at {path}", "pass a file written by `fldeploy backup`", ExitCode.USAGE,
                            "restore.missing")
    confirm(confirmed, interactive, ask, "restore", f"restore replaces the data in volume {settings.volume}",
            f"Replace the data in {settings.volume} with {path.name}? (the current data is saved first)",
            fix="add --yes to confirm (the current data is saved first)")
    safety = path.parent / f"{settings.volume}-before-restore-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
    progress(f"saving the current data to {safety.name}, then restoring {path.name}")
    with _Paused(compose) as paused:
        # the archive is read through before anything is deleted, and what it replaces is saved first
        _tar(settings, image, path.parent, f"tar -tzf '/backup/{path.name}' >/dev/null && "
                                           f"tar -czf '/backup/{safety.name}' -C /data . && "
                                           f"find /data -mindepth 1 -delete && tar -xzf '/backup/{path.name}' -C /data",
             [safety.name])
    return Result("restore", {"file": str(path), "volume": settings.volume, "saved_previous": str(safety),
                              "paused": paused.was_running})
