"""`fldeploy down`, `status`, `logs`: the running stack, through Docker Compose."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ExitCode, FldeployError
from ..result import Result


def stack_compose(settings):
    from ..stack import files
    from ..stack.files import COMPOSE_FILE

    out_dir = Path(settings.stack_dir)
    if not (out_dir / COMPOSE_FILE).exists():
        raise FldeployError(f"no stack in {out_dir}", "run `fldeploy up` (or `fldeploy render`) first",
                            ExitCode.CHECK_FAILED, "stack.missing")
    return files.stack_compose(out_dir, settings.project)


def confirm(confirmed: bool, interactive: bool, ask, code: str, warning: str, question: str,
            fix: str = "add --yes to confirm", declined: str = "nothing was changed") -> None:
    """A destructive verb goes on with --yes, or after a yes at the terminal; never silently in a script."""
    if confirmed:
        return
    if not interactive:
        raise FldeployError(warning, fix, ExitCode.USAGE, f"{code}.confirm")
    if not ask(question):
        raise FldeployError(declined, "", ExitCode.INTERRUPTED, f"{code}.declined")


def down(settings, volumes: bool, confirmed: bool, interactive: bool, ask) -> Result:
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


def status(settings) -> Result:
    from ..core.foundry_rules import api_url
    from ..foundry import discovery
    from ..stack.files import read_services

    compose = stack_compose(settings)
    rendered = read_services(compose.dir)
    running = {c.get("Service"): c for c in compose.ps()}
    services = []
    for name, svc in rendered.items():
        state = running.get(name, {})
        port = next((p.split(":")[-2] for p in svc.get("ports", [])), None)
        services.append({"service": name, "state": state.get("State", "absent"),
                         "health": state.get("Health") or ("-" if state else "absent"), "image": svc.get("image"),
                         "url": f"http://127.0.0.1:{port}" if port else None})
    in_use = (rendered.get("open-webui") or rendered.get("chainlit") or {}).get("environment", {})
    in_use_url = in_use.get("OPENAI_API_BASE_URL") or in_use.get("BASE_URL")
    found = discovery.discover(settings, settings.check_timeout)
    now = api_url(found.chosen.url) if found.chosen else None
    relay = rendered.get("foundry-relay")
    drift = None
    if now and in_use_url and not relay and in_use_url.rsplit(":", 1)[-1] != now.rsplit(":", 1)[-1]:
        drift = f"the stack uses {in_use_url}, Foundry is now at {now}: run `fldeploy up`"
    healthy = all(s["state"] == "running" and s["health"] in ("healthy", "-") for s in services)
    data = {"stack_dir": str(compose.dir), "services": services, "foundry_in_use": in_use_url,
            "foundry_now": now, "drift": drift, "relay": bool(relay)}
    if not healthy or drift:
        message = drift or "not every service is running and healthy"
        return Result("status", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": "stack.status", "message": message, "hint": "fldeploy up"}])
    return Result("status", data)


def logs(settings, service: str | None, follow: bool, tail: int) -> None:
    """Hand the terminal to `docker compose logs` (its output is the result)."""
    compose = stack_compose(settings)
    argv = compose.logs_argv(service, follow, tail)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise FldeployError(f"cannot run {argv[0]}: {exc}", "install the docker CLI", ExitCode.UNREACHABLE,
                            "logs.docker") from None
