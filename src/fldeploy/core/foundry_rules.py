"""Pure rules for finding Foundry Local: URL normalisation, CLI output parsing, choosing a candidate."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Ports Foundry Local has used by default over its releases (5273 in the course, 5272 earlier, 51211 in
# the course's later notebooks); probed last, when nothing else names the port.
HISTORICAL_PORTS = (5272, 5273, 51211)

# Source names, in order of preference.
SOURCES = ("setting", "foundry-cli", "fldeploy-embedded", "process", "port-probe")

_SERVICE_RUNNING = re.compile(r"running on (https?://\S+)", re.IGNORECASE)
_SERVICE_STOPPED = re.compile(r"not running", re.IGNORECASE)
_API_SUFFIXES = ("/openai/status", "/v1/models", "/v1", "/openai")


def normalise_base_url(url: str) -> str:
    """'localhost:5273/v1/' -> 'http://localhost:5273'; the base URL without /v1 and trailing slashes."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"not a URL: {url!r}")
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    changed = True
    while changed:
        changed = False
        for suffix in _API_SUFFIXES:
            if path.lower().endswith(suffix):
                path, changed = path[: -len(suffix)].rstrip("/"), True
    return f"{parts.scheme}://{parts.netloc}{path}"


def api_url(base_url: str) -> str:
    return normalise_base_url(base_url) + "/v1"


def connectable_url(host: str, port: int) -> str:
    """URL a client on this host uses for a listener bound to host:port (wildcards -> loopback)."""
    host = host.strip("[]")
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def url_port(url: str) -> int:
    parts = urlsplit(normalise_base_url(url))
    return parts.port or (443 if parts.scheme == "https" else 80)


def url_host(url: str) -> str:
    return urlsplit(normalise_base_url(url)).hostname or ""


def parse_server_status_json(text: str) -> list[str] | None:
    """New CLI, `foundry server status -o json`: the `webUrls` list; None when it is not that JSON."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc = json.loads(text[start: text.rfind("}") + 1])
    except ValueError:
        return None
    urls = doc.get("webUrls") if isinstance(doc, dict) else None
    if not isinstance(urls, list):
        return None
    return [u for u in urls if isinstance(u, str) and u]


def parse_service_status(text: str) -> tuple[str, str | None]:
    """Older CLI, `foundry service status`: ('running', url) | ('stopped', None) | ('unknown', None)."""
    match = _SERVICE_RUNNING.search(text)
    if match:
        return "running", normalise_base_url(match.group(1))
    if _SERVICE_STOPPED.search(text):
        return "stopped", None
    return "unknown", None


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
        }


def dedupe(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the first candidate per normalised URL, in source-preference order."""
    order = {s: i for i, s in enumerate(SOURCES)}
    seen: dict[str, Candidate] = {}
    for c in sorted(candidates, key=lambda c: order.get(c.source, len(order))):
        url = normalise_base_url(c.url)
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


def bind_hosts(mode: str, bridge_gateway: str | None) -> list[str]:
    """Addresses an embedded Foundry listens on: loopback for the host, the bridge gateway for containers."""
    if mode == "all":
        return ["0.0.0.0"]
    if mode == "docker" and bridge_gateway:
        return ["127.0.0.1", bridge_gateway]
    return ["127.0.0.1"]
