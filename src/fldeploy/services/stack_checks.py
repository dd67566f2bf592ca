"""The container-side checks (doctor): what the running stack's containers see, and the front ends end to end."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from ..concurrency import gather, timed
from ..core import verdicts_stack
from ..core.verdicts import Verdict

STACK_IDS = ("docker.host_gateway", "foundry.from_container", "stack.openwebui", "stack.chainlit",
             "stack.webgpu_demo")
PROBE_TIMEOUT_S = 25.0


def _skip(cause: str) -> list[Verdict]:
    return [Verdict(i, "skip", cause) for i in STACK_IDS]


def check(settings, found: Callable[[], Any] | None = None) -> list[Verdict]:
    """found: gives the Discovery doctor makes meanwhile (so Foundry is not searched twice); only the Open WebUI
    check waits for it, the other probes start at once."""
    from ..adapters import docker_engine
    from ..core.fix_texts import fix_engine, platform_name
    from ..stack import end_to_end, probe
    from . import stack
    from .foundry_facts import where_foundry_is_now

    out_dir = Path(settings.stack_dir)
    rendered = stack.read(out_dir)
    if rendered is None:
        return _skip(f"no stack in {out_dir} yet (`fldeploy up`)")
    services = rendered.services
    compose = stack.compose_of(rendered, settings.project)
    running = {c.get("Service") for c in compose.ps() if c.get("State") == "running"}
    front = [s for s in ("open-webui", "chainlit") if s in services and s in running]
    if not front:
        skipped = _skip("the stack is not running (`fldeploy up`)")
        if "webgpu-demo" in services and "webgpu-demo" in running:
            skipped[-1] = end_to_end.webgpu_demo(settings)
        return skipped
    url = rendered.foundry_url or ""

    def openwebui() -> Verdict:
        expected_url, model_id = where_foundry_is_now(settings, found() if found else None)
        return end_to_end.check_openwebui(settings, out_dir, model_id or rendered.model_id or "", expected_url or url)

    # independent probes of independent front ends: at once, each timed
    tasks: dict[str, Callable[[], Any]] = {"probe": lambda: probe.from_container(compose, front[0], url,
                                                                                PROBE_TIMEOUT_S),
                                           "engine": lambda: docker_engine.engine_facts(5.0)}
    if "open-webui" in front:
        tasks["stack.openwebui"] = openwebui
    if "chainlit" in front:
        tasks["stack.chainlit"] = lambda: end_to_end.chainlit(settings, compose)
    if "webgpu-demo" in services and "webgpu-demo" in running:
        tasks["stack.webgpu_demo"] = lambda: end_to_end.webgpu_demo(settings)
    took: dict[str, float] = {}
    done = gather({name: timed(fn, took, name) for name, fn in tasks.items()}, PROBE_TIMEOUT_S + 5)
    seen = done["probe"] if isinstance(done["probe"], dict) else {
        "outcome": "probe_failed", "detail": str(getattr(done["probe"], "error", done["probe"]))}
    host = platform_name(sys.platform)  # the fix for what the container saw differs per platform and engine
    engine = done["engine"] if isinstance(done["engine"], dict) else None
    seen = {**seen, "host_platform": host, "host_engine": fix_engine(engine, host)}
    out = [verdicts_stack.docker_host_gateway(seen), verdicts_stack.foundry_from_container(seen)]
    for verdict in out:
        verdict.duration_ms = took.get("probe")
    absent = {"stack.openwebui": "Open WebUI is not part of the running stack",
               "stack.chainlit": "the Chainlit app is not part of the running stack",
               "stack.webgpu_demo": "the in-browser demo is not enabled (--services)"}
    for cid, why in absent.items():
        outcome = done.get(cid)
        if outcome is None:
            out.append(Verdict(cid, "skip", why))
        elif isinstance(outcome, Verdict):
            outcome.duration_ms = took.get(cid)
            out.append(outcome)
        else:
            out.append(Verdict(cid, "fail", f"the check did not finish: {getattr(outcome, 'error', outcome)}",
                               "see the runbook", duration_ms=took.get(cid)))
    return out

