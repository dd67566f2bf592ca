"""Find Foundry Local: gather candidates from every source at once, probe them, let the rules choose."""
from __future__ import annotations

import os
from typing import Callable

from ..adapters import foundry_http, net, proc
from ..concurrency import Failed, TimedOut, gather
from ..core.foundry_rules import (HISTORICAL_PORTS, Candidate, Discovery, Probe, choose, connectable_url,
                                  dedupe, parse_server_status_json, parse_service_status)
from . import embedded

# Process names of Foundry Local's service on Windows/macOS, and markers of a process running its runtime.
PROCESS_NAMES = ("foundry", "inference.service.agent")
CMDLINE_MARKERS = ("foundry_local", "foundry-local", "fldeploy.foundry.runtime")


def from_cli(timeout: float, notes: list[str]) -> list[Candidate]:
    """`foundry server status -o json` (new CLI), then `foundry service status` (older CLI)."""
    new = proc.run(["foundry", "server", "status", "-o", "json"], timeout)
    if new.missing:
        return []
    urls = parse_server_status_json(new.stdout) if new.ok else None
    if urls:
        return [Candidate(u, "foundry-cli", "foundry server status -o json") for u in urls]
    if new.timed_out:
        notes.append(f"the foundry CLI did not answer within {timeout:.1f}s")
        return []
    old = proc.run(["foundry", "service", "status"], timeout)
    if old.timed_out:
        notes.append(f"the foundry CLI did not answer within {timeout:.1f}s")
    state, url = parse_service_status(old.stdout + old.stderr)
    if url:
        return [Candidate(url, "foundry-cli", "foundry service status")]
    if state == "stopped":
        notes.append("foundry service status: the service is not running")
    elif not old.timed_out:
        notes.append("the foundry CLI printed no service URL")
    return []


def from_embedded(settings) -> list[Candidate]:
    state = embedded.read_state(settings)
    url = embedded.running_url(state)
    return [Candidate(url, "fldeploy-embedded", f"pid {state['pid']}")] if url and state else []


def _looks_like_foundry(name: str, cmdline: list[str]) -> bool:
    if any(n in name.lower() for n in PROCESS_NAMES):
        return True
    for arg in cmdline:
        base = arg.replace("\\", "/").rsplit("/", 1)[-1].lower()
        if base.startswith("foundry") or any(m in base for m in CMDLINE_MARKERS):
            return True
    return False


def from_processes() -> list[Candidate]:
    """Listening sockets of processes that look like Foundry Local."""
    import psutil

    me = os.getpid()
    found = []
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        info = p.info
        if info["pid"] == me or not _looks_like_foundry(info["name"] or "", info["cmdline"] or []):
            continue
        try:
            conns = p.net_connections(kind="tcp")
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        by_port: dict[int, list[str]] = {}
        for c in conns:
            if c.status == psutil.CONN_LISTEN:
                by_port.setdefault(c.laddr.port, []).append(c.laddr.ip)
        for port, addresses in by_port.items():
            # one candidate per port; host clients prefer the loopback (or wildcard) listener
            best = min(addresses, key=lambda a: (a not in ("127.0.0.1", "0.0.0.0", "::", "::1"), a))
            found.append(Candidate(connectable_url(best, port), "process",
                                   f"{info['name']} pid {info['pid']} on {', '.join(sorted(addresses))}"))
    return found


def from_port_probe() -> list[Candidate]:
    listening = {l.port for l in net.listeners(set(HISTORICAL_PORTS))}
    return [Candidate(f"http://127.0.0.1:{p}", "port-probe", f"historical port {p}")
            for p in HISTORICAL_PORTS if p in listening]


def discover(settings, timeout: float) -> Discovery:
    """All sources concurrently, each bounded by timeout; then probe every candidate concurrently."""
    notes: list[str] = []
    explicit = []
    if settings.foundry_url:
        explicit = [Candidate(settings.foundry_url, "setting", settings.source("foundry_url"))]
    gathered = _gather({"foundry-cli": lambda: from_cli(timeout * 0.35, notes),
                        "fldeploy-embedded": lambda: from_embedded(settings),
                        "process": from_processes, "port-probe": from_port_probe}, timeout * 0.4, notes)
    candidates = dedupe(explicit + gathered)
    probes = probe_all(candidates, min(settings.http_timeout, timeout * 0.5), settings.api_key)
    return choose(candidates, probes, notes)


def _gather(sources: dict, timeout: float, notes: list[str]) -> list[Candidate]:
    found: list[Candidate] = []
    for name, outcome in gather(sources, timeout).items():
        if isinstance(outcome, TimedOut):
            notes.append(f"discovery source {name} did not finish in {timeout:.1f}s")
        elif isinstance(outcome, Failed):
            notes.append(f"discovery source {name} failed: {outcome.error}")
        else:
            found += outcome
    return found


def probe_all(candidates: list[Candidate], timeout: float, api_key: str) -> dict[str, Probe]:
    def prober(url: str) -> Callable[[], Probe]:
        return lambda: foundry_http.probe_models(url, timeout, api_key)

    answers = gather({c.url: prober(c.url) for c in candidates}, timeout + 0.5)
    return {url: a if isinstance(a, Probe) else Probe(url, "timeout", detail=f"no answer in {timeout:.1f}s")
            for url, a in answers.items()}
