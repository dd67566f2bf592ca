"""`fldeploy up`: the stack deployed (services/deploy.py) and what the user needs to use it."""
from __future__ import annotations

from ..checks.registry import as_dict
from ..errors import ExitCode
from ..result import Result
from ..services.targets import other_target


def run(settings, progress, build: bool = False, init_swarm: bool = False) -> Result:
    if target := other_target(settings):
        return target.up(settings, progress, build, init_swarm)
    from ..services.deploy import deploy

    done = deploy(settings, progress, build)
    checks, env_file = done.checks, done.written["env_file"]
    data = {
        "urls": {c.id.split(".")[1].replace("_", "-"): c.data.get("url") for c in checks if c.data.get("url")},
        "admin": {"email": settings.admin_email, "password_in": f"{env_file} (OPENWEBUI_ADMIN_PASSWORD)"},
        "chainlit_login": {"user": next((c.data.get("login_user") for c in checks if c.id == "stack.chainlit"), None)
                           or "admin", "password_in": f"{env_file} (CHAINLIT_ADMIN_PASSWORD)"}
        if "chainlit" in done.services else None,
        "foundry": {"url": done.facts.url, "model_id": done.facts.model_id, "container_url": done.route.url,
                    "route": done.route.reason, "relay": done.route.relay,
                    **({"hosts": [{"name": h.host.name, "url": h.host.url, "answers": h.answering,
                                   "model_id": h.facts.model_id} for h in done.facts.hosts]} if done.facts.hosts
                       else {})},
        "stack_dir": str(done.stack_dir), "files_written": done.written["written"],
        "checks": [as_dict(c) for c in checks], "notes": done.notes,
        "timings": {k: round(v, 2) for k, v in done.timings.items()},
    }
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        return Result("up", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": c.id, "message": c.cause, "hint": c.fix} for c in failed])
    return Result("up", data)
