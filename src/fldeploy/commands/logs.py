"""`fldeploy logs`: the stack's logs, streamed by `docker compose logs` to this terminal."""
from __future__ import annotations

from ..errors import ExitCode, FldeployError
from ..result import Result
from ..services.targets import other_target
from ..services.stack import stack_compose


def run(settings, service: str | None, follow: bool, tail: int) -> Result:
    """Compose writes the logs straight to this terminal; the result is its exit code (130 on Ctrl-C)."""
    if target := other_target(settings):
        return target.logs(settings, service, follow, tail)
    from ..adapters import proc

    compose = stack_compose(settings)
    code = proc.passthrough(compose.logs_argv(service, follow, tail))
    if code is None:
        raise FldeployError("cannot run docker", "install the docker CLI", ExitCode.UNREACHABLE, "logs.docker")
    if code == 0:
        return Result("logs", None)
    if code in (130, -2):
        return Result("logs", None, "ok", ExitCode.INTERRUPTED)
    return Result("logs", None, "fail", ExitCode.CHECK_FAILED,
                  [{"code": "logs.compose", "message": f"docker compose logs exited {code}", "hint": "see `docker ps -a`"}])
