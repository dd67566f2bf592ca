"""`fldeploy status`: each service's state, health, URL and image; the Foundry URL in use vs the one found now."""
from __future__ import annotations

from ..errors import ExitCode
from ..result import Result


def run(settings) -> Result:
    from ..core.foundry_rules import api_url
    from ..core.stack_plan import drift_of
    from ..foundry import discovery
    from ..services import stack
    from ..services.foundry_facts import where_foundry_is_now

    rendered_stack = stack.require(settings)
    compose = stack.compose_of(rendered_stack, settings.project)
    rendered = rendered_stack.services
    running = {c.get("Service"): c for c in compose.ps()}
    services = []
    for name, svc in rendered.items():
        state = running.get(name, {})
        port = next((p.split(":")[-2] for p in svc.get("ports", [])), None)
        services.append({"service": name, "state": state.get("State", "absent"),
                         "health": state.get("Health") or ("-" if state else "absent"), "image": svc.get("image"),
                         "url": f"http://127.0.0.1:{port}" if port else None})
    in_use_url = rendered_stack.foundry_url
    found = discovery.discover(settings, settings.check_timeout)
    now = api_url(found.chosen.url) if found.chosen else None
    relay = rendered_stack.relay
    drift = drift_of(in_use_url, where_foundry_is_now(settings, found)[0]) if found.chosen else None
    healthy = all(s["state"] == "running" and s["health"] in ("healthy", "-") for s in services)
    data = {"stack_dir": str(compose.dir), "services": services, "foundry_in_use": in_use_url,
            "foundry_now": now, "drift": drift, "relay": bool(relay)}
    if not healthy or drift:
        message = drift or "not every service is running and healthy"
        return Result("status", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": "stack.status", "message": message, "hint": "fldeploy up"}])
    return Result("status", data)
