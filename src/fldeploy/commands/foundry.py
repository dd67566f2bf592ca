"""`fldeploy foundry start|stop|status`: the embedded Foundry Local that fldeploy manages; `expose|unexpose`: the
authenticating proxy in front of the Foundry found here (services/expose.py)."""
from __future__ import annotations

from ..errors import ExitCode, FldeployError
from ..foundry import demo, embedded
from ..result import Result


def start(settings, use_demo: bool, timeout: float, progress) -> Result:
    model = demo.ALIAS if use_demo else settings.model
    if not model:
        raise FldeployError("which model should Foundry serve?",
                            "pass --model <catalog alias> (e.g. --model phi-4-mini), or --demo offline",
                            ExitCode.USAGE, "foundry.no_model")
    return Result("foundry start", embedded.start(settings, model, use_demo, timeout, progress))


def stop(settings, progress) -> Result:
    return Result("foundry stop", embedded.stop(settings, progress))


def status(settings) -> Result:
    state = embedded.status(settings)
    if not state.get("running"):
        return Result("foundry status", state, "fail", ExitCode.CHECK_FAILED,
                      [{"code": "foundry.not_running", "message": "the embedded Foundry is not running",
                        "hint": "fldeploy foundry start --model <alias> (or --demo)"}])
    return Result("foundry status", state)


def expose(settings, address: str | None, port: int | None, show_key: bool, new_key: bool, progress,
           key_file: str | None = None) -> Result:
    from ..services import expose as proxy

    return Result("foundry expose", proxy.expose(settings, address, port, show_key, new_key, progress, key_file))


def unexpose(settings) -> Result:
    from ..services import expose as proxy

    return Result("foundry unexpose", proxy.unexpose(settings))
