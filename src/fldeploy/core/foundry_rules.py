"""Pure rules for finding Foundry Local: URL normalisation, CLI output parsing, choosing a candidate."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .urls import (api_url, bind_hosts, connectable_url, normalise_base_url, url_host,  # noqa: F401 (re-exported)
                   url_port)

# Ports Foundry Local has used by default over its releases (5273 in the course, 5272 earlier, 51211 in
# the course's later notebooks); probed last, when nothing else names the port.
HISTORICAL_PORTS = (5272, 5273, 51211)

# Source names, in order of preference.
SOURCES = ("setting", "foundry-cli", "fldeploy-embedded", "process", "port-probe")

_SERVICE_RUNNING = re.compile(r"running on (https?://\S+)", re.IGNORECASE)
_SERVICE_STOPPED = re.compile(r"not running", re.IGNORECASE)
_STOPPED_STATES = ("not_running", "stopped", "stopping")

# Foundry Local's two CLI generations and their verbs. "service": the service-based CLI (winget
# Microsoft.FoundryLocal, brew foundrylocal; Windows and macOS only). "server": the SDK-based CLI from 0.10
# (release cli-preview-0.10.0, "replacing the earlier service-based CLI"; also a Linux build). Loading a model:
# the earlier CLI's `model run` downloads, loads and opens a chat; 0.10's `model load` needs it downloaded first.
CLI_VERBS: dict[str, dict[str, tuple[str, ...]]] = {
    "server": {"status": ("foundry server status -o json",), "start": ("foundry server start",),
               "restart": ("foundry server restart",),
               "load": ("foundry model download {model}", "foundry model load {model}"),
               "logs": ("foundry report",)},
    "service": {"status": ("foundry service status",), "start": ("foundry service start",),
                "restart": ("foundry service restart",), "load": ("foundry model run {model}",),
                "logs": ("foundry service logs",)},
}
def parse_server_status_json(text: str) -> CliStatus | None:
    """CLI 0.10+, `foundry server status -o json`: {"running": true, "state": "ready", "webUrls": [...]}.
    None when the text holds no such JSON object."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc = json.loads(text[start: text.rfind("}") + 1])
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    urls, running, state = doc.get("webUrls"), doc.get("running"), doc.get("state")
    if not isinstance(urls, list) and not isinstance(running, bool):
        return None
    if not isinstance(running, bool):
        running = False if isinstance(state, str) and state.lower() in _STOPPED_STATES else None
    listed = [u for u in urls if isinstance(u, str) and u] if isinstance(urls, list) else []
    return CliStatus("server", running, listed)


def parse_service_status(text: str) -> CliStatus | None:
    """Earlier CLI, `foundry service status`: its running line names the URL; None when it says neither."""
    match = _SERVICE_RUNNING.search(text)
    if match:
        return CliStatus("service", True, [match.group(1)])
    if _SERVICE_STOPPED.search(text):
        return CliStatus("service", False, [])
    return None


def cli_candidates(status: CliStatus) -> tuple[list[Candidate], list[str]]:
    """What a status answer contributes: its URLs while it runs; a note otherwise. A `running: false` answer
    is taken at its word even when it still prints URLs (those are the last server's, not a live one's)."""
    command = CLI_VERBS[status.generation]["status"][0]
    if status.running is False:
        printed = f" (it printed {', '.join(status.urls)}: not used)" if status.urls else ""
        return [], [f"{command}: not running{printed}"]
    if not status.urls:
        return [], [f"{command} printed no service URL"]
    return [Candidate(u, "foundry-cli", command) for u in status.urls], []


@dataclass
class CliStatus:
    """What a foundry CLI said about its server: generation ("server" | "service"), running (None: not
    said), the URLs it printed."""
    generation: str
    running: bool | None
    urls: list[str]


@dataclass
class Candidate:
    url: str
    source: str
    detail: str = ""


@dataclass
class Probe:
    """What GET <url>/v1/models answered."""
    url: str
    outcome: str  # ok | refused | timeout | http_error | not_openai | error
    models: list[str] = field(default_factory=list)
    detail: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class Discovery:
    chosen: Candidate | None
    probe: Probe | None
    candidates: list[Candidate]
    probes: dict[str, Probe]
    notes: list[str] = field(default_factory=list)
    explicit_failed: Candidate | None = None
    alternatives: list[Candidate] = field(default_factory=list)
    cli: str | None = None  # the foundry CLI generation that answered: "server" (0.10+), "service", or None
    platform: str = "linux"  # the host's: windows | macos | linux (fix texts differ)

    def as_dict(self) -> dict:
        return {
            "url": self.chosen.url if self.chosen else None,
            "source": self.chosen.source if self.chosen else None,
            "models": self.probe.models if self.probe else [],
            "candidates": [
                {"url": c.url, "source": c.source, "detail": c.detail,
                 "answer": self.probes[c.url].outcome if c.url in self.probes else "not probed"}
                for c in self.candidates
            ],
            "alternatives": [c.url for c in self.alternatives],
            "notes": self.notes,
            "cli": self.cli,
        }


def ipv4_loopback(url: str) -> str:
    """'http://localhost:5273' -> 'http://127.0.0.1:5273'. Clients may try localhost's ::1 first (Windows
    retries a refused connection for about 2 s), while Foundry Local prints and binds 127.0.0.1."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() != "localhost":
        return url
    userinfo = parts.netloc.rpartition("@")[0]
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{userinfo + '@' if userinfo else ''}127.0.0.1{port}").geturl()


def dedupe(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the first candidate per normalised URL (localhost as 127.0.0.1), in source-preference order."""
    order = {s: i for i, s in enumerate(SOURCES)}
    seen: dict[str, Candidate] = {}
    for c in sorted(candidates, key=lambda c: order.get(c.source, len(order))):
        url = ipv4_loopback(normalise_base_url(c.url))
        if url not in seen:
            seen[url] = Candidate(url, c.source, c.detail)
    return list(seen.values())


def choose(candidates: list[Candidate], probes: dict[str, Probe], notes: list[str] | None = None) -> Discovery:
    """An explicit setting is used alone: when it does not answer nothing is chosen, and the candidates
    that do answer are kept as alternatives (the port moved). Otherwise the first candidate that answers."""
    candidates = dedupe(candidates)
    answering = [c for c in candidates if probes.get(c.url) and probes[c.url].ok]
    explicit = next((c for c in candidates if c.source == "setting"), None)
    if explicit is not None and explicit not in answering:
        return Discovery(None, None, candidates, probes, list(notes or []), explicit,
                         [c for c in answering if c is not explicit])
    chosen = explicit or (answering[0] if answering else None)
    return Discovery(chosen, probes.get(chosen.url) if chosen else None, candidates, probes, list(notes or []))


# What follows an alias in a catalog model name: "phi-4-mini" -> "phi-4-mini-instruct-generic-cpu".
_VARIANT_SUFFIX = re.compile(r"^(instruct-)?(generic|cuda|openvino|qnn|trt-?rtx|vitis|webgpu|dml|npu|gpu|cpu)\b")


def resolve_model(wanted: str | None, loaded: list[str]) -> tuple[str | None, str]:
    """Map a configured alias or id to a loaded model id: (id or None, explanation)."""
    if not loaded:
        return None, "no model is loaded"
    if not wanted:
        return loaded[0], f"first loaded model {loaded[0]}"
    if wanted in loaded:
        return wanted, f"configured model {wanted}"
    base = wanted.split(":")[0].lower()
    for model_id in loaded:
        name = model_id.split(":")[0].lower()
        if name == base or (name.startswith(base + "-") and _VARIANT_SUFFIX.match(name[len(base) + 1:])):
            return model_id, f"alias {wanted} -> id {model_id}"
    return None, f"model {wanted} is not loaded (loaded: {', '.join(loaded)})"
