"""`fldeploy down`: stop and remove the stack's containers; the data volume stays unless --volumes."""
from __future__ import annotations

from ..errors import ExitCode, FldeployError
from ..result import Result
from ..services.targets import other_target
from ..services.confirm import confirm
from ..services.stack import stack_compose


def run(settings, volumes: bool, confirmed: bool, interactive: bool, ask) -> Result:
    if target := other_target(settings):
        return target.down(settings, volumes, confirmed, interactive, ask)
    compose = stack_compose(settings)
    if volumes:
        confirm(confirmed, interactive, ask, "down",
                f"--volumes deletes the volume {settings.volume} (users, chats, settings)",
                f"Delete the volume {settings.volume} with all Open WebUI data?", declined="nothing was removed")
    done = compose.down(volumes)
    if not done.ok:
        raise FldeployError(f"docker compose down failed: {done.stderr.strip()[-200:]}", "see `docker ps`",
                            ExitCode.CHECK_FAILED, "stack.down")
    return Result("down", {"stack_dir": str(compose.dir), "volumes_removed": volumes,
                           "kept": [] if volumes else [settings.volume]})
