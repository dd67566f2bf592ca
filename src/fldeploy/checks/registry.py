"""The one table of checks: id, runbook section, what it proves, the fact it is judged from, its judge, and
what fixes it. doctor reports them in this order, `doctor --fix` applies their fixes, the runbook-link test
walks them and the README's table is made from them (`python -m fldeploy.checks.registry`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..core import verdicts as v
from ..core.verdicts import Verdict

RUNBOOKS = "deploy/runbooks"


@dataclass
class Gathered:
    """Everything doctor gathered once for this run; judges only read it."""
    settings: Any
    deep: bool = False
    discovery: Any = None  # core.foundry_rules.Discovery
    loaded: list[str] | None = None
    addresses: list[str] = field(default_factory=list)
    gateway: str | None = None
    local_hosts: set[str] = field(default_factory=set)
    linux: bool = True
    relay: str | None = None
    chat: dict | None = None
    model_id: str | None = None
    engine: dict | None = None
    compose: dict | None = None
    ports: tuple = ((), ())
    stack: dict[str, Verdict] = field(default_factory=dict)
    hosts: list = field(default_factory=list)  # several Foundry hosts: (name, url, Gathered) each, judged per host


@dataclass(frozen=True)
class Check:
    id: str
    runbook_file: str
    proves: str
    source: str  # the gathered fact it is judged from: foundry, docker, compose, ports, stack
    judge: Callable[[Gathered], Verdict]
    fixed_by: str | None = None  # "ports": a free port saved to fldeploy.yaml; "deploy": `up`'s deploy service

    @property
    def runbook(self) -> str:
        return f"{RUNBOOKS}/{self.runbook_file}#{self.id}"


def _stack(check_id: str) -> Callable[[Gathered], Verdict]:
    return lambda g: g.stack.get(check_id) or Verdict(check_id, "skip", "not checked")


CHECKS: tuple[Check, ...] = (
    Check("foundry.endpoint", "foundry.md", "Foundry was found, and from where: setting, `foundry server status "
          "-o json` / `foundry service status`, the embedded Foundry, a Foundry process's sockets, or ports "
          "5272/5273/51211. A configured URL that no longer answers while Foundry answers elsewhere is named: "
          "\"its port moved\".", "foundry", lambda g: v.foundry_endpoint(g.discovery)),
    Check("foundry.api", "foundry.md", "`GET /v1/models` answers in time (hung, refused, HTTP error and "
          "non-OpenAI servers are told apart)", "foundry", lambda g: v.foundry_api(g.discovery)),
    Check("foundry.models", "foundry.md", "a model is loaded (not only cached); a configured alias resolves to "
          "the full id chat needs", "foundry", lambda g: v.foundry_models(g.discovery, g.settings.model, g.loaded)),
    Check("foundry.bind", "foundry.md", "containers can reach it: loopback-only on a native Linux engine fails "
          "(containers get `connection refused`); Docker Desktop passes with a note", "foundry",
          lambda g: v.foundry_bind(g.discovery, g.addresses, g.engine, g.gateway, g.local_hosts, g.linux, g.relay),
          fixed_by="deploy"),
    Check("foundry.chat", "foundry.md", "`--deep`: a 1-token chat completion with the configured (or first "
          "loaded) model", "foundry", lambda g: v.foundry_chat(g.chat if g.deep else None, g.model_id)),
    Check("docker.engine", "docker.md", "the engine answers, and where it was found (`DOCKER_HOST`, the docker "
          "context, the platform default); its version; Docker Desktop, native or Podman", "docker",
          lambda g: v.docker_engine(g.engine or {})),
    Check("docker.compose", "docker.md", "Compose v2, new enough for `up --wait` (2.1.1+; 2.23.1+ for `--balance`)",
          "compose",
          lambda g: v.docker_compose(g.compose or {})),
    Check("ports", "ports.md", "the stack's host ports are free or held by fldeploy's own stack", "ports",
          lambda g: v.ports(*g.ports), fixed_by="ports"),
    Check("docker.host_gateway", "docker.md", "`host.docker.internal` resolves inside the stack's running front end "
          "(`docker compose exec`: its network, its `extra_hosts`)", "stack", _stack("docker.host_gateway")),
    Check("foundry.from_container", "foundry.md", "that front end fetches Foundry's models; refused (loopback "
          "bind), timeout (firewall), no models, bad URL told apart", "stack", _stack("foundry.from_container"),
          fixed_by="deploy"),
    Check("stack.openwebui", "stack.md", "healthy, admin signs in, stored Foundry URL matches, model listed, a "
          "chat through the UI path answers", "stack", _stack("stack.openwebui"), fixed_by="deploy"),
    Check("stack.chainlit", "stack.md", "the app answers, its login works (a wrong password is refused) and its "
          "container reaches Foundry", "stack", _stack("stack.chainlit"), fixed_by="deploy"),
    Check("stack.webgpu_demo", "stack.md", "the demo page, runtime (`application/wasm`) and model are served "
          "locally under its CSP", "stack", _stack("stack.webgpu_demo")),
)
BY_ID = {c.id: c for c in CHECKS}
STACK_IDS = tuple(c.id for c in CHECKS if c.source == "stack")


def runbook(check_id: str) -> str:
    return BY_ID[check_id].runbook


def as_dict(verdict: Verdict) -> dict:
    """A verdict as doctor, up and the JSON envelope show it: with its runbook section."""
    shown: dict[str, Any] = {"id": verdict.id, "status": verdict.status, "cause": verdict.cause, "fix": verdict.fix,
             "runbook": runbook(verdict.id), "data": verdict.data}
    if verdict.duration_ms is not None:
        shown["duration_ms"] = round(verdict.duration_ms, 1)
    return shown


def markdown_table() -> str:
    rows = ["| check | what it proves |", "|---|---|"] + [f"| `{c.id}` | {c.proves} |" for c in CHECKS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
