"""`fldeploy status`: each service's state, health, URL and image; the Foundry URL in use vs the one found now."""
from __future__ import annotations

from ..errors import ExitCode
from ..result import Result
from ..services.targets import other_target


def run(settings) -> Result:
    if target := other_target(settings):
        return target.status(settings)
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
    if rendered_stack.hosts:  # several Foundry hosts: each one in use vs now, drift per host
        from ..services.foundry_hosts import hosts_status

        hosts = hosts_status(settings, rendered_stack.hosts)
        down = [h["name"] for h in hosts["hosts"] if not h["answers"]]
        return _result({"stack_dir": str(compose.dir), "services": services, "foundry_in_use": in_use_url,
                        "foundry_hosts": hosts["hosts"], "balance": rendered_stack.balance,
                        "drift": "; ".join(hosts["drift"]) or None, "hosts_not_answering": down,
                        "relay": bool(rendered_stack.relay)}, services)
    found = discovery.discover(settings, settings.check_timeout)
    now = api_url(found.chosen.url) if found.chosen else None
    relay = rendered_stack.relay
    drift = drift_of(in_use_url, where_foundry_is_now(settings, found)[0]) if found.chosen else None
    data = {"stack_dir": str(compose.dir), "services": services, "foundry_in_use": in_use_url,
            "foundry_now": now, "drift": drift, "relay": bool(relay)}
    return _result(data, services)


def _result(data: dict, services: list[dict]) -> Result:
    drift = data.get("drift")
    healthy = all(s["state"] == "running" and s["health"] in ("healthy", "-") for s in services)
    down = data.get("hosts_not_answering")
    if not healthy or drift or down:
        message = drift or (f"Foundry host{'s' if len(down) > 1 else ''} {', '.join(down)} not answering" if down
                            else "not every service is running and healthy")
        return Result("status", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": "stack.status", "message": message, "hint": "fldeploy up"}])
    return Result("status", data)
