"""`fldeploy up`: preflight, render, `docker compose up --wait`, then the end-to-end check."""
from __future__ import annotations

import time
from pathlib import Path

from ..core import verdicts
from ..core.stack_plan import FoundryFacts, selected_services
from ..errors import ExitCode, FldeployError
from ..result import Result

PULL_FAILURES = ("pull access denied", "manifest unknown", "no such host", "dial tcp", "i/o timeout",
                 "toomanyrequests", "failed to resolve reference")
PORT_FAILURES = ("port is already allocated", "address already in use")


def _require(verdict: verdicts.Verdict, code: ExitCode) -> None:
    if verdict.status == "fail":
        raise FldeployError(verdict.cause, verdict.fix, code, verdict.id)


def preflight(settings):
    """Everything `up` needs, or the error that names what is missing; nothing is started before this."""
    from ..adapters import docker_engine
    from . import ports, render

    _require(verdicts.docker_engine(docker_engine.engine_facts(settings.check_timeout)), ExitCode.UNREACHABLE)
    _require(verdicts.docker_compose(docker_engine.compose_version(settings.check_timeout)), ExitCode.UNREACHABLE)
    if set(selected_services(settings.services)) & {"open-webui", "chainlit"}:
        facts, notes = render.foundry_facts(settings)
    else:  # the in-browser demo alone needs no Foundry
        facts, notes = FoundryFacts("http://127.0.0.1:5273", ""), []
    statuses, port_notes = ports.scan(settings, [], with_foundry=False)
    _require(verdicts.ports(statuses, []), ExitCode.PORT_CONFLICT)
    return facts, notes + port_notes


def _compose_failure(settings, output: str, timed_out: bool) -> FldeployError:
    from . import ports

    tail = " | ".join(output.splitlines()[-3:])
    if any(p in output for p in PORT_FAILURES):
        statuses, _ = ports.scan(settings, [], with_foundry=False)
        conflict = next((s for s in statuses if s.state == "conflict"), None)
        if conflict:
            return FldeployError(conflict.cause, conflict.fix, ExitCode.PORT_CONFLICT, "ports")
        return FldeployError(f"a port was taken while the stack started: {tail}", "run `fldeploy ports`",
                             ExitCode.PORT_CONFLICT, "ports")
    if any(p in output.lower() for p in PULL_FAILURES):
        return FldeployError(f"an image cannot be pulled: {tail}", "on hosts without registry access use "
                             "--build-local (builds every image here)", ExitCode.UNREACHABLE, "stack.pull")
    if timed_out or "unhealthy" in output or "timeout" in output.lower():
        return FldeployError(f"the stack did not become healthy in {settings.wait_timeout:.0f}s: {tail}",
                             "see `fldeploy logs`; raise wait_timeout on a slow first boot", ExitCode.TIMEOUT,
                             "stack.wait")
    return FldeployError(f"docker compose up failed: {tail}", "see `fldeploy logs`", ExitCode.CHECK_FAILED, "stack.up")


def run(settings, progress, build: bool = False) -> Result:
    from ..adapters import foundry_http
    from ..adapters.compose import Compose
    from ..stack import files, verify
    from . import render

    timings: dict[str, float] = {}
    start = time.monotonic()
    progress("preflight: Foundry, Docker, Compose, ports")
    facts, notes = preflight(settings)
    timings["preflight_s"] = time.monotonic() - start

    out_dir = Path(settings.stack_dir)
    doc, facts, route, render_notes = render.plan(settings, out_dir, facts)
    if "webgpu-demo" in doc["services"]:
        from ..stack import assets

        assets.vendor_webgpu_runtime()
    if route.relay:
        notes.append(f"applied the loopback relay: {route.reason}")
    written = files.write_stack(out_dir, doc, settings.api_key)
    compose = Compose(out_dir, settings.project)
    mark = time.monotonic()
    done = compose.up(settings.wait_timeout, lambda line: progress(f"compose: {line[:150]}"), build=build)
    timings["compose_up_s"] = time.monotonic() - mark
    if not done.ok:
        raise _compose_failure(settings, done.stdout, done.timed_out)

    mark = time.monotonic()
    checks = []
    if "open-webui" in doc["services"]:
        progress("checking Open WebUI end to end (sign-in, models, a chat as the UI sends it)")
        tools_ok, _ = foundry_http.accepts_tools(facts.url, facts.model_id, 30)
        checks.append(verify.openwebui(settings, out_dir, facts.model_id, route.url, tools_ok))
    if "chainlit" in doc["services"]:
        progress("checking the Chainlit app")
        checks.append(verify.chainlit(settings, compose))
    if "webgpu-demo" in doc["services"]:
        checks.append(verify.webgpu_demo(settings))
    timings["check_s"] = time.monotonic() - mark
    timings["total_s"] = time.monotonic() - start
    data = {
        "urls": {c.id.split(".")[1].replace("_", "-"): c.data.get("url") for c in checks if c.data.get("url")},
        "admin": {"email": settings.admin_email, "password_in": f"{written['env_file']} (OPENWEBUI_ADMIN_PASSWORD)"},
        "foundry": {"url": facts.url, "model_id": facts.model_id, "container_url": route.url,
                    "route": route.reason, "relay": route.relay},
        "stack_dir": str(out_dir), "files_written": written["written"],
        "checks": [c.as_dict() for c in checks], "notes": notes + render_notes,
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        return Result("up", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": c.id, "message": c.cause, "hint": c.fix} for c in failed])
    return Result("up", data)
