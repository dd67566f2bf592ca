"""`fldeploy doctor`: gather each fact once (concurrently, each bounded), then judge every check of the
registry in its order; `--fix` applies what the failing checks name as their fix; `--bundle` writes the
support archive."""
from __future__ import annotations

import sys
from concurrent.futures import Future
from functools import partial

from ..checks.registry import CHECKS, Gathered, as_dict
from ..concurrency import Failed, TimedOut, gather, timed
from ..core import verdicts as v
from ..core.fix_texts import fix_engine, platform_name
from ..core.foundry_rules import Discovery, url_host, url_port
from ..errors import ExitCode
from ..result import Result

CHAT_TIMEOUT_S = 15.0
WHAT = {"foundry": "Foundry discovery", "docker": "the Docker engine", "compose": "`docker compose version`",
        "ports": "the port scan", "stack": "the stack checks"}


def _gather(settings, deep: bool) -> tuple[Gathered, dict, dict]:
    """(what was gathered, the sources that failed or timed out, milliseconds per source)."""
    from ..adapters import docker_engine
    from ..foundry import discovery
    from ..services import ports_scan, stack_checks

    from ..core.foundry_hosts import hosts_of

    timeout = settings.check_timeout
    hosts = hosts_of(settings)
    longest = discovery.longest(settings, timeout)  # a slow foundry CLI has a budget of its own
    took: dict[str, float] = {}
    discovered: Future = Future()

    def find_foundry() -> Gathered:
        if hosts:  # several Foundry hosts: each one's URL probed and judged on its own, no discovery
            return _foundry_hosts(settings, hosts, deep, discovered)
        try:
            found = discovery.discover(settings, timeout)
        except BaseException:
            discovered.set_result(None)
            raise
        discovered.set_result(found)
        return _foundry(settings, found, deep)

    # all at once; the container-side checks start containers and sign in, so they have their own bound, and
    # reuse the Discovery (Foundry is searched once) when they need it
    facts = gather({name: timed(fn, took, name) for name, fn in {
        "foundry": find_foundry,
        "docker": lambda: docker_engine.engine_facts(timeout),
        "compose": lambda: docker_engine.compose_version(timeout),
        "ports": lambda: ports_scan.scan(settings, [], with_foundry=False),
        "stack": lambda: stack_checks.check(settings, lambda: discovered.result(longest + 1)),
    }.items()}, timeout + (CHAT_TIMEOUT_S if deep else 0) + 0.2,
        timeouts={"stack": stack_checks.PROBE_TIMEOUT_S + 30,
                  "foundry": longest + (CHAT_TIMEOUT_S if deep else 0) + 0.2})
    g = facts["foundry"] if isinstance(facts["foundry"], Gathered) else Gathered(settings, deep)
    host = platform_name(sys.platform)  # fix texts differ per platform and engine
    g.engine = {**facts["docker"], "host_platform": host} if isinstance(facts["docker"], dict) else None
    g.compose = ({**facts["compose"], "host_platform": host, "host_engine": fix_engine(g.engine, host),
                  **v.compose_needs(bool(settings.balance and g.hosts))}
                 if isinstance(facts["compose"], dict) else None)
    g.ports = facts["ports"] if isinstance(facts["ports"], tuple) else ((), ())
    if isinstance(facts["stack"], list):
        g.stack = {verdict.id: verdict for verdict in facts["stack"]}
    broken = {name: fact for name, fact in facts.items() if isinstance(fact, (TimedOut, Failed))}
    return g, broken, took


def _foundry(settings, disc: Discovery, deep: bool) -> Gathered:
    """What the foundry.* checks judge: the Discovery, loaded models, bind addresses, the relay, a chat."""
    from ..adapters import foundry_http, net

    g = Gathered(settings, deep, disc, linux=sys.platform.startswith("linux"))
    disc.platform = platform_name(sys.platform)
    chosen = disc.chosen
    g.loaded = foundry_http.loaded_models(chosen.url, settings.http_timeout) if chosen else None
    g.local_hosts = net.local_addresses()
    if chosen and url_host(chosen.url) in g.local_hosts:
        g.addresses = sorted({listener.address for listener in net.listeners({url_port(chosen.url)})})
    g.gateway = net.interface_ipv4("docker0")
    if chosen and g.addresses and g.gateway:
        g.relay = _relay_for(settings, g.gateway, url_port(chosen.url))
    g.model_id = v.foundry_models(disc, settings.model, g.loaded).data.get("model_id")
    if deep and g.model_id and chosen:
        g.chat = foundry_http.chat_once(chosen.url, g.model_id, max(CHAT_TIMEOUT_S, settings.http_timeout),
                                        settings.api_key)
    return g


def _relay_for(settings, gateway: str, port: int, target: str = "127.0.0.1", spread: int = 1) -> str | None:
    """The stack's socat relay, if one listens on the bridge gateway and forwards to target:port (several hosts:
    their relays listen on relay_port, relay_port + 1, ...)."""
    from ..adapters import net

    ports = set(range(settings.relay_port, min(settings.relay_port + spread, 65536)))
    listening = [listener for listener in net.listeners(ports) if listener.address == gateway]
    owners, _ = net.socket_owners({listener.inode for listener in listening})
    by_inode = {listener.inode: listener.port for listener in listening}
    for inode, pid in owners.items():
        cmdline = (net.process_info(pid).get("cmdline") or "")
        if "socat" in cmdline and f"TCP:{target}:{port}" in cmdline:
            return f"{gateway}:{by_inode.get(inode, settings.relay_port)}"
    return None


def _foundry_hosts(settings, hosts, deep: bool, discovered: Future) -> Gathered:
    """The foundry.* facts of each host (at once), each from a Discovery of its URL alone; the first host's are
    the primary ones (the stack checks use them)."""
    from ..core.foundry_hosts import is_loopback, own_addresses
    from ..core.foundry_rules import Candidate, choose
    from ..foundry import discovery

    def one(host) -> Gathered:
        disc = choose([Candidate(host.url, "setting", f"foundry_urls: host {host.name}")],
                      discovery.probe_all([Candidate(host.url, "setting")], settings.http_timeout, settings.api_key))
        g = _foundry(settings.but(foundry_url=host.url, foundry_urls=None), disc, deep)
        address = url_host(host.url)
        if is_loopback(address) and disc.chosen:  # 127.0.0.2: this host's own loopback address
            from ..adapters import net

            g.local_hosts = g.local_hosts | {address}
            g.addresses = list(own_addresses(address, [l.address for l in net.listeners({url_port(host.url)})]))
            if g.addresses and g.gateway:
                g.relay = _relay_for(settings, g.gateway, url_port(host.url), address if address.count(".") == 3
                                     else "127.0.0.1", len(hosts))
        return g

    done = gather({h.name: partial(one, h) for h in hosts}, settings.check_timeout + (CHAT_TIMEOUT_S if deep else 0))
    per_host = [(h.name, h.url, done[h.name] if isinstance(done[h.name], Gathered) else
                 Gathered(settings, deep, choose([Candidate(h.url, "setting")], {}))) for h in hosts]
    primary = per_host[0][2]
    discovered.set_result(primary.discovery)
    primary.hosts = per_host
    return primary


def _for_host(verdict: v.Verdict, name: str, url: str) -> v.Verdict:
    verdict.cause = f"host {name} ({url}): {verdict.cause}"
    verdict.data = {**(verdict.data or {}), "host": name, "host_url": url}
    return verdict


def check(settings, deep: bool = False) -> Result:
    g, broken, took = _gather(settings, deep)
    verdicts: list[v.Verdict] = []
    reported: set[str] = set()
    for entry in CHECKS:
        fact = broken.get(entry.source)
        if fact is None and entry.source == "foundry" and g.hosts:  # one verdict per host, naming it
            verdicts += [_for_host(entry.judge(host_g), name, url) for name, url, host_g in g.hosts]
            continue
        if fact is None:
            verdict = entry.judge(g)
        elif entry.source in reported:  # one finding per broken source; the rest of its checks skip
            verdict = v.Verdict(entry.id, "skip", f"{WHAT[entry.source]} did not finish")
        else:
            reported.add(entry.source)
            verdict = (v.timed_out(entry.id, WHAT[entry.source], fact.seconds) if isinstance(fact, TimedOut)
                       else v.Verdict(entry.id, "fail", f"{WHAT[entry.source]} could not be checked: {fact.error}"))
        if verdict.duration_ms is None and entry.source in took:
            verdict.duration_ms = took[entry.source]
        verdicts.append(verdict)
    status = v.summary_status(verdicts)
    counts = {s: sum(1 for c in verdicts if c.status == s) for s in ("ok", "warn", "fail", "skip")}
    data: dict = {"checks": [as_dict(c) for c in verdicts], "summary": counts,
                  "took_ms": {name: round(ms, 1) for name, ms in took.items()}}
    if g.discovery is not None:
        data["foundry"] = g.discovery.as_dict()
    if g.hosts:
        data["foundry_hosts"] = [{"name": name, "url": url, "answers": bool(hg.discovery and hg.discovery.chosen),
                                  "models": hg.loaded or []} for name, url, hg in g.hosts]
    if status == "fail":
        errors = [{"code": c.id, "message": c.cause, "hint": c.fix, **({"host": c.data["host"]} if c.data and
                   "host" in c.data else {})} for c in verdicts if c.status == "fail"]
        return Result("doctor", data, "fail", ExitCode.CHECK_FAILED, errors)
    return Result("doctor", data, status)


def run(settings, deep: bool = False, fix: bool = False, bundle: str | None = None, progress=None,
        force: bool = False, verbose: bool = False) -> Result:
    from ..core.redact import mask_data
    from ..services.stack import with_rendered_hosts

    settings = with_rendered_hosts(settings)  # a stack made with several --foundry-url: those hosts
    if bundle:  # refuse an existing file or symlink before the checks run (force: replace it)
        from ..services.bundle import check_target

        check_target(bundle, force)
    result = check(settings, deep)
    if fix:
        from ..services import fixes

        before: dict = {}
        for c in result.data["checks"]:  # several hosts: one check id per host; a failing one counts
            if c["id"] not in before or c["status"] == "fail":
                before[c["id"]] = c
        changes = fixes.fix_ports(settings, before)
        settings = with_rendered_hosts(settings.reload()) if changes else settings  # saved ports apply from here on
        changes += fixes.fix_stack(settings, before, progress or (lambda _m: None))
        if changes:
            result = check(settings, deep)
        result.data["changes"] = changes or ["nothing to fix automatically"]
    result.data, result.errors = mask_data(result.data), mask_data(result.errors)  # a URL's credentials
    result.data["verbose"] = verbose
    if bundle:
        from ..services.bundle import write_bundle

        result.data["bundle"] = write_bundle(settings, result.envelope(), bundle, force)
    return result
