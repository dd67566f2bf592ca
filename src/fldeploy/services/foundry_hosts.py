"""Several Foundry hosts, found once per run: each host probed at once (its models, where it listens), how
containers reach it, and the stack planned with one Open WebUI connection per host (or the balancer)."""
from __future__ import annotations

import sys
from functools import partial
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.compose_hosts import (BALANCER, BALANCER_IMAGE, BALANCER_PORT, LOCAL_BALANCER_IMAGE, HostPlan,
                                  apply_hosts)
from ..core.compose_model import Relay, compose_document
from ..core.foundry_hosts import FoundryHost, host_route, hosts_of, is_loopback, own_addresses
from ..core.foundry_rules import Probe, resolve_model, url_host, url_port
from ..core.stack_plan import LOCAL_IMAGES, FoundryFacts, Route, stack_spec
from ..errors import ExitCode, FldeployError


@dataclass(frozen=True)
class HostFacts:
    host: FoundryHost
    facts: FoundryFacts
    probe: Probe
    model_how: str
    loaded: list[str] | None = None

    @property
    def answering(self) -> bool:
        return self.probe.ok


def gather_hosts(settings, hosts: list[FoundryHost], engine=None) -> list[HostFacts]:
    """Every host probed at once, each bounded by http_timeout."""
    from ..adapters import docker_engine, foundry_http, net
    from ..concurrency import gather
    from ..core.engine_kind import engine_of

    if engine is None:
        engine = engine_of(docker_engine.engine_facts(settings.check_timeout), sys.platform.startswith("linux"))
    local_addrs = net.local_addresses()
    gateway = net.interface_ipv4("docker0")
    timeout = settings.http_timeout

    def one(host: FoundryHost) -> HostFacts:
        probe = foundry_http.probe_models(host.url, timeout, settings.api_key)
        loaded = foundry_http.loaded_models(host.url, timeout) if probe.ok else None
        model_id, how = resolve_model(settings.model, loaded or probe.models) if probe.ok else (None, probe.detail)
        address = url_host(host.url)
        local = address in local_addrs or is_loopback(address)
        listening = [l.address for l in net.listeners({url_port(host.url)})] if local else []
        facts = FoundryFacts(host.url, model_id or "", own_addresses(address, listening), local, gateway, engine)
        return HostFacts(host, facts, probe, how, loaded)

    done = gather({h.name: partial(one, h) for h in hosts}, timeout * 2 + 1)
    out = []
    for host in hosts:
        got = done.get(host.name)
        if not isinstance(got, HostFacts):
            got = HostFacts(host, FoundryFacts(host.url, "", (), False, gateway, engine),
                            Probe(host.url, "timeout", detail=f"no answer in {timeout * 2 + 1:.1f}s"), "")
        out.append(got)
    return out


def several_facts(settings) -> tuple[FoundryFacts, list[str]]:
    """foundry_facts for several hosts: the first answering host's facts, carrying every host's (facts.hosts).
    No host answering is the error `up` stops on; a host that does not answer is a note (doctor names it)."""
    found = gather_hosts(settings, hosts_of(settings))
    answering = [h for h in found if h.answering and h.facts.model_id]
    notes = [f"Foundry host {h.host.name} at {h.host.url}: " + (f"model {h.model_how}" if h.answering and
             h.facts.model_id else f"not used: {h.probe.outcome} {h.probe.detail or h.model_how}".rstrip())
             for h in found]
    if not answering and settings.model:  # as one Foundry renders with --foundry-url and --model as given
        notes.append(f"no Foundry host answers: rendering with the hosts and --model {settings.model} as given")
        return replace(found[0].facts, model_id=settings.model, hosts=tuple(found)), notes
    if not answering:
        raise FldeployError("no Foundry host answers with a loaded model: " + "; ".join(notes),
                            "start Foundry Local on the hosts (or fix their URLs), then run `fldeploy doctor`",
                            ExitCode.UNREACHABLE, "foundry.endpoint")
    return replace(answering[0].facts, hosts=tuple(found)), notes


def host_plans(settings, found: list[HostFacts]) -> list[HostPlan]:
    """Each host's container route; loopback-only local hosts get a relay each, on relay_port, relay_port + 1..."""
    plans, relayed = [], 0
    relay_image = LOCAL_IMAGES["foundry-relay"] if settings.build_local else settings.relay_image
    for h in found:
        f = h.facts
        if f.local and not f.bind_addresses and is_loopback(url_host(f.url)):
            f = replace(f, bind_addresses=(url_host(f.url),))  # not listening now: planned as it was given
        route = host_route(f, settings.relay_port + relayed)
        relay = None
        if route.relay:
            target = url_host(f.url)
            relay = Relay(relay_image, f.gateway or "172.17.0.1", settings.relay_port + relayed, url_port(f.url),
                          target if target.count(".") == 3 else "127.0.0.1")
            relayed += 1
        plans.append(HostPlan(h.host.name, f.url, route.url, f.model_id, relay, h.answering, route.reason))
    return plans


def plan(settings, out_dir: Path, facts: FoundryFacts | None = None) -> tuple[dict, FoundryFacts, Route, list[str]]:
    """services.rendering.plan for several hosts."""
    from ..stack import assets

    notes: list[str] = []
    if facts is None or not facts.hosts:
        facts, notes = several_facts(settings)
    plans = host_plans(settings, list(facts.hosts))
    contexts = assets.build_contexts(out_dir)
    if "chainlit" not in contexts:
        notes.append("deploy/ not found (set FLDEPLOY_DEPLOY_DIR): the Chainlit image must already exist")
    first = next((p for p in plans if p.answering), plans[0])
    route = Route(first.container_url, any(p.relay for p in plans), "; ".join(f"{p.name}: {p.reason}" for p in plans))
    spec = replace(stack_spec(settings, facts, route, contexts, assets.host_ca_file()), relay=None,
                   model_id=first.model_id or facts.model_id)
    balance = bool(settings.balance)
    doc = apply_hosts(compose_document(spec), spec, plans, balance,
                      LOCAL_BALANCER_IMAGE if settings.build_local else BALANCER_IMAGE)
    if balance:
        route = Route(f"http://{BALANCER}:{BALANCER_PORT}/v1", route.relay, f"balanced over {len(plans)} hosts: "
                      + route.reason)
        models = {p.model_id for p in plans if p.answering}
        if len(models) > 1:
            notes.append(f"--balance: the hosts serve different models ({', '.join(sorted(models))}); a chat "
                         "for a model one host lacks fails there and is not retried elsewhere: load the same "
                         "model on every host")
    else:
        notes.append("the Chainlit app takes one Foundry: it uses the first host, "
                     f"{first.name} ({first.container_url}); Open WebUI has one connection per host")
    return doc, facts, route, notes


def hosts_status(settings, rendered_hosts: tuple) -> dict:
    """`status` for several hosts: each host in use (as rendered) vs now (as containers would reach it), and the
    drift per host by the one rule."""
    from ..core.foundry_hosts import hosts_drift

    hosts = hosts_of(settings) or [FoundryHost(h["name"], h["url"]) for h in rendered_hosts]
    found = gather_hosts(settings, hosts)
    plans = {p.name: p for p in host_plans(settings, found)}
    answering = {h.host.name: h.answering for h in found}
    in_use = {h["name"]: h.get("container_url") or "" for h in rendered_hosts}
    now = {name: (p.container_url if answering[name] else None) for name, p in plans.items()}
    drift = hosts_drift(in_use, {n: (u or in_use.get(n)) for n, u in now.items()})
    from ..core.redact import mask_text

    rows = [{"name": name, "url": mask_text(plans[name].url if name in plans else h_url), "in_use": in_use.get(name),
             "now": now.get(name), "answers": answering.get(name, False), "drift": drift.get(name)}
            for name, h_url in [(h.name, h.url) for h in hosts] + [(n, "") for n in in_use if n not in plans]]
    return {"hosts": rows, "drift": list(drift.values())}
