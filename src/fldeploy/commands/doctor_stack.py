"""doctor's container-side checks: what the running stack's containers see, and the front ends end to end."""
from __future__ import annotations

from pathlib import Path

from ..core import verdicts_stack
from ..core.verdicts import Verdict

STACK_IDS = ("docker.host_gateway", "foundry.from_container", "stack.openwebui", "stack.chainlit",
             "stack.webgpu_demo")
PROBE_TIMEOUT_S = 25.0


def _skip(cause: str) -> list[Verdict]:
    return [Verdict(i, "skip", cause) for i in STACK_IDS]


def _env(service: dict | None, name: str) -> str | None:
    value = (service or {}).get("environment", {}).get(name)
    return value.replace("$$", "$") if isinstance(value, str) else None


def _where_foundry_is_now(settings, found) -> tuple[str | None, str | None]:
    """The URL containers should use for the Foundry found now, and its model id (None when not found)."""
    from ..core.stack_plan import container_route
    from ..errors import FldeployError
    from . import render

    try:
        facts, _ = render.foundry_facts(settings, found)
    except FldeployError:
        return None, None
    return container_route(facts, settings.relay_port).url, facts.model_id


def check(settings, found=None) -> list[Verdict]:
    """found: the Discovery doctor already made (so Foundry is not searched twice)."""
    from ..stack import files, probe, verify

    out_dir = Path(settings.stack_dir)
    if not (out_dir / files.COMPOSE_FILE).exists():
        return _skip(f"no stack in {out_dir} yet (`fldeploy up`)")
    services = files.read_services(out_dir)
    compose = files.stack_compose(out_dir, settings.project)
    running = {c.get("Service") for c in compose.ps() if c.get("State") == "running"}
    front = [s for s in ("open-webui", "chainlit") if s in services and s in running]
    if not front:
        skipped = _skip("the stack is not running (`fldeploy up`)")
        if "webgpu-demo" in services and "webgpu-demo" in running:
            skipped[-1] = verify.webgpu_demo(settings)
        return skipped
    url = _env(services.get("open-webui"), "OPENAI_API_BASE_URL") or _env(services.get("chainlit"), "BASE_URL")
    seen = probe.from_container(compose, front[0], url or "", PROBE_TIMEOUT_S)
    out = [verdicts_stack.docker_host_gateway(seen), verdicts_stack.foundry_from_container(seen)]
    expected_url, model_id = _where_foundry_is_now(settings, found)
    model_id = model_id or _env(services.get("chainlit"), "MODEL") or next(iter(seen.get("models") or []), "")
    if "open-webui" in front:
        out.append(verify.openwebui(settings, out_dir, model_id, expected_url or url or "", None, repair=False))
    else:
        out.append(Verdict("stack.openwebui", "skip", "Open WebUI is not part of the running stack"))
    if "chainlit" in front:
        out.append(verify.chainlit(settings, compose))
    else:
        out.append(Verdict("stack.chainlit", "skip", "the Chainlit app is not part of the running stack"))
    if "webgpu-demo" in services and "webgpu-demo" in running:
        out.append(verify.webgpu_demo(settings))
    else:
        out.append(Verdict("stack.webgpu_demo", "skip", "the in-browser demo is not enabled (--services)"))
    return out
