"""Find Foundry Local: gather candidates from every source at once, probe them, let the rules choose."""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from ..adapters import foundry_http, net, proc
from ..concurrency import Failed, TimedOut, gather
from ..core.foundry_rules import (HISTORICAL_PORTS, Candidate, Discovery, Probe, choose, cli_candidates,
                                  connectable_url, dedupe, parse_server_status_json, parse_service_status)
from . import embedded

# Process names of Foundry Local's service on Windows/macOS, and markers of a process running its runtime.
PROCESS_NAMES = ("foundry", "inference.service.agent")
CMDLINE_MARKERS = ("foundry_local", "foundry-local", "fldeploy.foundry.runtime")


CliAnswer = tuple[list[Candidate], list[str], "str | None"]  # candidates, notes, the CLI generation
# each CLI generation's status command and how to read it, the newer first
STATUS_COMMANDS = (("server", ["foundry", "server", "status", "-o", "json"],
                    lambda done: parse_server_status_json(done.stdout)),
                   ("service", ["foundry", "service", "status"],
                    lambda done: parse_service_status(done.stdout + done.stderr)))


def from_cli(timeout: float) -> CliAnswer:
    """Both generations' status commands at once, each bounded by timeout; the first that says something
    about its server is the answer."""
    runs: dict[str, proc.Completed] = {}

    def ask(name: str, argv: list[str]) -> None:
        runs[name] = proc.run(argv, timeout)

    threads = [threading.Thread(target=ask, args=(name, argv), daemon=True, name=f"foundry-cli-{name}")
               for name, argv, _ in STATUS_COMMANDS]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 0.5
    for thread, (name, _, read) in zip(threads, STATUS_COMMANDS):
        thread.join(max(0.0, deadline - time.monotonic()))
        done = runs.get(name)
        if done is not None and done.missing:
            return [], [], None
        status = read(done) if done is not None else None
        if status:
            candidates, notes = cli_candidates(status)
            return candidates, notes, status.generation
    if all(runs.get(name) is None or runs[name].timed_out for name, _, _ in STATUS_COMMANDS):
        return [], [f"the foundry CLI did not answer within {timeout:.1f}s (cli_timeout)"], None
    return [], ["the foundry CLI printed no service URL"], None


class _CliSearch:
    """The foundry CLI in a thread of its own: a slow CLI (public samples wait 15-60 s for it) neither holds
    up discovery nor is cut off at the other sources' budget."""

    def __init__(self, budget: float) -> None:
        self.budget, self.started = budget, time.monotonic()
        self.answer: CliAnswer | None = None
        self.thread = threading.Thread(target=self._ask, daemon=True, name="discovery-foundry-cli")
        self.thread.start()

    def _ask(self) -> None:
        try:
            self.answer = from_cli(self.budget)
        except Exception as exc:  # a finding, not a crash
            self.answer = [], [f"discovery source foundry-cli failed: {exc}"], None

    def result(self, until: float | None = None) -> CliAnswer | None:
        """Its answer, waiting for it until that time (monotonic) or the end of its budget."""
        end = self.started + self.budget + 1.0
        self.thread.join(max(0.0, min(end, until if until is not None else end) - time.monotonic()))
        return self.answer


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


def from_processes(notes: list[str] | None = None) -> list[Candidate]:
    """Listening sockets of processes that look like Foundry Local; one this user may not inspect (another
    user's: macOS and Linux without root) is named in notes instead."""
    me = os.getpid()
    found = []
    for info in net.processes():
        if info["pid"] == me or not _looks_like_foundry(info["name"] or "", info["cmdline"] or []):
            continue
        by_port = net.listening_of(info["pid"])
        if by_port is None:
            if notes is not None:
                notes.append(f"{info['name']} (pid {info['pid']}) looks like Foundry Local, but this user may not "
                             "read its sockets (it runs as another user): run as that user or as root to see them")
            continue
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
    """All sources concurrently, each bounded by timeout; then probe every candidate concurrently. The foundry
    CLI runs beside them with its own budget (cli_timeout), waited for only while no other source has found a
    Foundry that answers; without a foundry CLI it costs nothing."""
    notes: list[str] = []
    explicit = []
    if settings.foundry_url:
        explicit = [Candidate(settings.foundry_url, "setting", settings.source("foundry_url"))]
    cli = _CliSearch(settings.cli_timeout)
    gathered = _gather({"fldeploy-embedded": lambda: from_embedded(settings),
                        "process": lambda: from_processes(notes), "port-probe": from_port_probe}, timeout * 0.4, notes)
    others_done = cli.started + timeout * 0.4  # a CLI that answers within the other sources' budget is used
    probes: dict[str, Probe] = {}
    probe_timeout = min(settings.http_timeout, timeout * 0.5)

    def search(answer: CliAnswer | None) -> Discovery:
        candidates = dedupe(explicit + gathered + (answer[0] if answer else []))
        probes.update(probe_all([c for c in candidates if c.url not in probes], probe_timeout, settings.api_key))
        found = choose(candidates, probes, notes + (answer[1] if answer else []))
        found.cli = answer[2] if answer else None
        return found

    answer = cli.result(until=others_done)
    found = search(answer)
    if answer is None:
        settled = found.chosen is not None or bool(found.alternatives)
        answer = cli.result(until=time.monotonic() if settled else None)
        if answer is not None:
            found = search(answer)
        elif settled:
            found.notes.append("the foundry CLI was still answering when Foundry was found: not waited for")
        else:
            found.notes.append(f"the foundry CLI did not answer within {settings.cli_timeout:.1f}s (cli_timeout)")
    return found


def longest(settings, timeout: float) -> float:
    """The most discover() may take: its sources' budget, or a slow foundry CLI's."""
    return timeout + settings.cli_timeout


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
