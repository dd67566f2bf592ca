"""`fldeploy doctor`: gather facts concurrently (each bounded), then judge them with pure verdicts."""
from __future__ import annotations

import sys

from ..concurrency import Failed, TimedOut, gather
from ..core import verdicts as v
from ..core.foundry_rules import Discovery, url_host, url_port
from ..errors import ExitCode
from ..result import Result

CHAT_TIMEOUT_S = 15.0


def _facts(settings, timeout: float) -> dict:
    from ..adapters import docker_engine
    from ..foundry import discovery
    from . import doctor_stack, ports

    facts = gather({
        "foundry": lambda: discovery.discover(settings, timeout),
        "docker": lambda: docker_engine.engine_facts(timeout),
        "compose": lambda: docker_engine.compose_version(timeout),
        "ports": lambda: ports.scan(settings, [], with_foundry=False),
    }, timeout + 0.2)
    # the container-side checks reuse the Discovery; they start containers and sign in, so their own bound
    found = facts["foundry"] if isinstance(facts["foundry"], Discovery) else None
    facts.update(gather({"stack": lambda: doctor_stack.check(settings, found)}, doctor_stack.PROBE_TIMEOUT_S + 30))
    return facts


def _unavailable(check_id: str, what: str, fact) -> v.Verdict | None:
    if isinstance(fact, TimedOut):
        return v.timed_out(check_id, what, fact.seconds)
    if isinstance(fact, Failed):
        return v.Verdict(check_id, "fail", f"{what} could not be checked: {fact.error}")
    return None


def _foundry_verdicts(settings, disc, engine: dict | None, deep: bool) -> list[v.Verdict]:
    from ..adapters import foundry_http, net

    bad = _unavailable("foundry.endpoint", "Foundry discovery", disc)
    if bad:
        skipped = [v.Verdict(i, "skip", "Foundry discovery did not finish")
                   for i in ("foundry.api", "foundry.models", "foundry.bind", "foundry.chat")]
        return [bad] + skipped
    assert isinstance(disc, Discovery)
    loaded = foundry_http.loaded_models(disc.chosen.url, settings.http_timeout) if disc.chosen else None
    out = [v.foundry_endpoint(disc), v.foundry_api(disc), v.foundry_models(disc, settings.model, loaded)]
    addresses: list[str] = []
    local_hosts = net.local_addresses()
    if disc.chosen and url_host(disc.chosen.url) in local_hosts:
        addresses = sorted({l.address for l in net.listeners({url_port(disc.chosen.url)})})
    gateway = net.interface_ipv4("docker0")
    relay = _relay_for(settings, gateway, url_port(disc.chosen.url)) if addresses and gateway else None
    out.append(v.foundry_bind(disc, addresses, engine, gateway, local_hosts, sys.platform.startswith("linux"),
                              relay))
    model_id = out[2].data.get("model_id")
    answer = None
    if deep and model_id:
        answer = foundry_http.chat_once(disc.chosen.url, model_id, max(CHAT_TIMEOUT_S, settings.http_timeout),
                                        settings.api_key)
    out.append(v.foundry_chat(answer if deep else None, model_id))
    return out


def _relay_for(settings, gateway: str, port: int) -> str | None:
    """The stack's socat relay, if one listens on the bridge gateway and forwards to 127.0.0.1:port."""
    from ..adapters import net

    listening = [l for l in net.listeners({settings.relay_port}) if l.address == gateway]
    owners, _ = net.socket_owners({l.inode for l in listening})
    for pid in owners.values():
        cmdline = (net.process_info(pid).get("cmdline") or "")
        if "socat" in cmdline and f"TCP:127.0.0.1:{port}" in cmdline:
            return f"{gateway}:{settings.relay_port}"
    return None


def run(settings, deep: bool = False, fix: bool = False, bundle: str | None = None, progress=None) -> Result:
    result = check(settings, deep)
    if fix:
        from . import doctor_fix

        before = {c["id"]: c for c in result.data["checks"]}
        changes = doctor_fix.fix_ports(settings, before)
        settings = settings.reload() if changes else settings  # saved ports apply from here on
        changes += doctor_fix.fix_stack(settings, before, progress or (lambda _m: None))
        if changes:
            result = check(settings, deep)
        result.data["changes"] = changes or ["nothing to fix automatically"]
    if bundle:
        from .bundle import write_bundle

        result.data["bundle"] = write_bundle(settings, result.envelope(), bundle)
    return result


def check(settings, deep: bool = False) -> Result:
    facts = _facts(settings, settings.check_timeout)
    engine = facts["docker"] if isinstance(facts["docker"], dict) else None
    checks = _foundry_verdicts(settings, facts["foundry"], engine, deep)
    checks.append(_unavailable("docker.engine", "the Docker engine", facts["docker"])
                  or v.docker_engine(facts["docker"]))
    checks.append(_unavailable("docker.compose", "`docker compose version`", facts["compose"])
                  or v.docker_compose(facts["compose"]))
    checks.append(_unavailable("ports", "the port scan", facts["ports"]) or v.ports(*facts["ports"]))
    stack = facts["stack"]
    if isinstance(stack, list):
        checks += stack
    else:
        from .doctor_stack import STACK_IDS
        checks += [_unavailable(i, "the stack checks", stack) for i in STACK_IDS]
    status = v.summary_status(checks)
    counts = {s: sum(1 for c in checks if c.status == s) for s in ("ok", "warn", "fail", "skip")}
    data = {"checks": [c.as_dict() for c in checks], "summary": counts}
    if isinstance(facts["foundry"], Discovery):
        data["foundry"] = facts["foundry"].as_dict()
    if status == "fail":
        errors = [{"code": c.id, "message": c.cause, "hint": c.fix} for c in checks if c.status == "fail"]
        return Result("doctor", data, "fail", ExitCode.CHECK_FAILED, errors)
    return Result("doctor", data, status)
