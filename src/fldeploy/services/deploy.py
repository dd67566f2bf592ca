"""Deploying the stack: preflight (nothing starts before it passes), render, `docker compose up --wait`, then
the front ends checked end to end. `up` is this service; `doctor --fix` uses it for the checks it fixes."""
from __future__ import annotations

import time
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..concurrency import Failed, Started
from ..core import verdicts
from ..core.stack_plan import FoundryFacts, Route, selected_services
from ..core.verdicts import Verdict
from ..errors import ExitCode, FldeployError
from .rendering import plan


@dataclass
class Deployed:
    stack_dir: Path
    services: list[str]
    facts: FoundryFacts
    route: Route
    written: dict
    checks: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


PULL_FAILURES = ("pull access denied", "manifest unknown", "no such host", "dial tcp", "i/o timeout",
                 "toomanyrequests", "failed to resolve reference")
PORT_FAILURES = ("port is already allocated", "address already in use")


def _require(verdict: verdicts.Verdict, code: ExitCode) -> None:
    if verdict.status == "fail":
        raise FldeployError(verdict.cause, verdict.fix, code, verdict.id)


def preflight(settings) -> tuple[FoundryFacts, list[str]]:
    """Everything `up` needs, asked at once, or the error that names what is missing; nothing is started
    before this."""
    from ..adapters import docker_engine
    from ..concurrency import Failed, TimedOut, gather
    from .foundry_facts import foundry_facts
    from .ports_scan import scan

    def facts_of_foundry() -> tuple[FoundryFacts, list[str]]:
        if set(selected_services(settings.services)) & {"open-webui", "chainlit"}:
            return foundry_facts(settings)
        return FoundryFacts("http://127.0.0.1:5273", ""), []  # the in-browser demo alone needs no Foundry

    timeout = settings.check_timeout
    # Compose itself is not asked here: `compose up` without a usable Compose starts nothing, and only then is
    # its version asked (_compose_failure), which spares every up a `docker compose version` (~70 ms of CPU)
    found = gather({"engine": lambda: docker_engine.engine_facts(timeout),
                    "foundry": facts_of_foundry,
                    "ports": lambda: scan(settings, [], with_foundry=False)}, timeout * 4)
    for name, fact in found.items():
        if isinstance(fact, Failed) and isinstance(fact.error, FldeployError):
            raise fact.error  # e.g. Foundry not found: its own message and fix
        if isinstance(fact, (Failed, TimedOut)):
            what = f"failed: {fact.error}" if isinstance(fact, Failed) else f"took over {fact.seconds:.0f}s"
            raise FldeployError(f"preflight: the {name} check {what}", "run `fldeploy doctor`",
                                ExitCode.UNREACHABLE, f"preflight.{name}")
    _require(verdicts.docker_engine(found["engine"]), ExitCode.UNREACHABLE)
    facts, notes = found["foundry"]
    statuses, port_notes = found["ports"]
    _require(verdicts.ports(statuses, []), ExitCode.PORT_CONFLICT)
    return facts, notes + port_notes


def _compose_failure(settings, output: str, timed_out: bool) -> FldeployError:
    from ..adapters import docker_engine
    from .ports_scan import scan

    from ..core.foundry_hosts import hosts_of

    compose = verdicts.docker_compose({**docker_engine.compose_version(settings.check_timeout),
                                       **verdicts.compose_needs(bool(settings.balance and hosts_of(settings)))})
    if compose.status == "fail":  # no Compose v2, or one too old for --wait (or --balance): nothing was started
        return FldeployError(compose.cause, compose.fix, ExitCode.UNREACHABLE, compose.id)

    tail = " | ".join(output.splitlines()[-3:])
    if any(p in output for p in PORT_FAILURES):
        statuses, _ = scan(settings, [], with_foundry=False)
        conflict = next((s for s in statuses if s.state == "conflict"), None)
        if conflict:
            return FldeployError(conflict.cause, conflict.fix, ExitCode.PORT_CONFLICT, "ports")
        return FldeployError(f"a port was taken while the stack started: {tail}", "run `fldeploy ports`",
                             ExitCode.PORT_CONFLICT, "ports")
    if any(p in output.lower() for p in PULL_FAILURES):
        return FldeployError(f"an image cannot be pulled: {tail}", "on hosts without registry access use "
                             "--build-local (builds every image here)", ExitCode.UNREACHABLE, "stack.pull")
    if timed_out or "not healthy after" in output or "unhealthy" in output or "timeout" in output.lower():
        import sys

        from ..core.engine_kind import engine_of, healthcheck_situation

        engine = engine_of(docker_engine.engine_facts(settings.check_timeout), sys.platform.startswith("linux"))
        slow = "" if engine.runs_healthchecks is False else "; raise wait_timeout on a slow first boot"
        return FldeployError(f"the stack did not become healthy in {settings.wait_timeout:.0f}s: {tail}",
                             f"{healthcheck_situation(engine)}{slow}", ExitCode.TIMEOUT, "stack.wait")
    return FldeployError(f"docker compose up failed: {tail}", "see `fldeploy logs`", ExitCode.CHECK_FAILED, "stack.up")


def _recorded_hosts(settings) -> tuple[Any, list[str]]:
    from ..core.foundry_hosts import hosts_of
    from .stack import with_rendered_hosts

    kept = with_rendered_hosts(settings)
    if kept is settings:
        return settings, []
    names = ", ".join(h.name for h in hosts_of(kept))
    return kept, [f"kept the Foundry hosts this stack was made for ({names}); --foundry-url changes them"]


def deploy(settings, progress, build: bool = False) -> Deployed:
    from ..adapters.compose import Compose
    from ..stack import files

    timings: dict[str, float] = {}
    start = time.monotonic()
    settings, kept = _recorded_hosts(settings)
    progress("preflight: Foundry, Docker, ports")
    facts, notes = preflight(settings)
    notes += kept
    timings["preflight_s"] = time.monotonic() - start

    out_dir = Path(settings.stack_dir)
    doc, facts, route, render_notes = plan(settings, out_dir, facts)
    if "webgpu-demo" in doc["services"]:
        from ..stack import assets

        assets.vendor_webgpu_runtime()
    if route.relay:
        notes.append(f"applied the loopback relay: {route.reason}")
    written = files.write_stack(out_dir, doc, settings.api_key)
    compose = Compose(out_dir, settings.project)
    render_id = _render_id(out_dir, route, facts)
    light = None
    last_check = _last_full_check(out_dir)
    if not written["changed"] and last_check.get("render") == render_id:
        # the files are those a full check passed on: while Compose confirms it changes nothing, the light
        # check runs (sign-in and repairs, no chats); used only if Compose indeed changed nothing
        checked_at = last_check.get("at", "?")
        light = Started(partial(_light_checks, settings, doc["services"], facts, route, out_dir, checked_at))
    before = _containers(settings.project) if light is not None else None
    mark = time.monotonic()
    done = compose.up(settings.wait_timeout, progress, build=build)
    timings["compose_up_s"] = time.monotonic() - mark
    if not done.ok:
        raise _compose_failure(settings, done.stdout, done.timed_out)

    mark = time.monotonic()
    checks = None
    if light is not None and before is not None and before == _containers(settings.project):
        checks = light.result(LIGHT_CHECK_S)  # nothing changed since the full check passed on exactly this stack
        if isinstance(checks, Failed):
            raise checks.error
    if not isinstance(checks, list):  # something changed, or the light check did not finish: the full one
        progress("checking the stack end to end (Open WebUI: sign-in, models, a chat as the UI sends it)")
        checks = check_front_ends(settings, doc["services"], facts, route, out_dir, compose)
        if all(c.status == "ok" for c in checks):
            _record_full_check(out_dir, render_id)
    timings["check_s"] = time.monotonic() - mark
    timings["total_s"] = time.monotonic() - start
    return Deployed(out_dir, list(doc["services"]), facts, route, written, checks, notes + render_notes, timings)


LIGHT_CHECK_S = 120.0  # beyond it the full check runs instead (it has its own bounds)
CHECKED_FILE = ".fldeploy-checked.json"  # the render the last full end-to-end check passed on, and when


def _light_checks(settings, services, facts: FoundryFacts, route: Route, out_dir: Path,
                  checked_at: str) -> list[Verdict]:
    from ..adapters import foundry_http
    from ..stack import end_to_end

    checks = end_to_end.still_healthy(settings, services, checked_at)
    if "open-webui" in services:
        tools_ok, _ = foundry_http.accepts_tools(facts.url, facts.model_id, 30, settings.api_key)
        checks.insert(0, end_to_end.check_and_repair_openwebui(settings, out_dir, facts.model_id, route.url,
                                                               tools_ok, chat=False))
    return checks


def _containers(project: str) -> dict[str, str] | None:
    """The project's containers as the engine reports them, id -> state: Compose changed nothing when these are
    the same before and after `up` (its progress text depends on COMPOSE_PROGRESS and is not proof)."""
    import json
    from urllib.parse import quote

    from ..adapters import engine

    query = quote(json.dumps({"label": [f"com.docker.compose.project={project}"]}))
    try:
        listing = engine.get(f"/containers/json?all=1&filters={query}", 5.0)
    except engine.EngineError:
        return None
    return {c.get("Id", ""): c.get("State", "") for c in listing}


def _render_id(out_dir: Path, route: Route, facts: FoundryFacts) -> str:
    import hashlib

    from ..stack import files

    digest = hashlib.sha256()
    for name in (files.COMPOSE_FILE, files.ENV_FILE, files.OVERRIDE_FILE):
        path = out_dir / name
        digest.update(path.read_bytes() if path.exists() else b"")
    digest.update(f"{route.url}|{facts.model_id}".encode())
    return digest.hexdigest()


def _last_full_check(out_dir: Path) -> dict:
    import json

    try:
        found = json.loads((out_dir / CHECKED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _record_full_check(out_dir: Path, render_id: str) -> None:
    import json

    from ..stack import files

    at = time.strftime("%Y-%m-%d %H:%M:%S")
    files.atomic_write(out_dir / CHECKED_FILE, json.dumps({"render": render_id, "at": at}) + "\n", 0o644)


def check_front_ends(settings, services, facts: FoundryFacts, route: Route, out_dir: Path, compose) -> list[Verdict]:
    """The front ends checked as a user would use them, at once (each is a few round trips): Open WebUI
    repairs its stored connection and built-in tools as it goes (`up` fixes what it can)."""
    from ..adapters import foundry_http
    from ..concurrency import Failed, TimedOut, gather
    from ..stack import end_to_end

    def openwebui() -> Verdict:
        tools_ok, _ = foundry_http.accepts_tools(facts.url, facts.model_id, 30, settings.api_key)
        return end_to_end.check_and_repair_openwebui(settings, out_dir, facts.model_id, route.url, tools_ok)

    tasks = {"stack.openwebui": openwebui, "stack.chainlit": lambda: end_to_end.chainlit(settings, compose),
             "stack.webgpu_demo": lambda: end_to_end.webgpu_demo(settings)}
    wanted = {"stack.openwebui": "open-webui", "stack.chainlit": "chainlit", "stack.webgpu_demo": "webgpu-demo"}
    done = gather({cid: fn for cid, fn in tasks.items() if wanted[cid] in services}, 300)
    checks = []
    for cid, outcome in done.items():
        if isinstance(outcome, (Failed, TimedOut)):
            outcome = Verdict(cid, "fail", f"the check did not finish: {getattr(outcome, 'error', outcome)}",
                              "run `fldeploy doctor`")
        checks.append(outcome)
    return checks
