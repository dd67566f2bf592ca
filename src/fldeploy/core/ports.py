"""Pure port analysis: which ports the stack needs, who holds them, conflicts and free alternatives."""
from __future__ import annotations

from typing import NamedTuple

from .engine_kind import is_forwarder

# role -> (setting that moves it, what it is)
ROLES = {
    "open-webui": ("openwebui_port", "Open WebUI"),
    "chainlit": ("chainlit_port", "the Chainlit app"),
    "webgpu-demo": ("webgpu_demo_port", "the in-browser inference demo"),
    "foundry": (None, "Foundry Local"),
    "requested": (None, "requested port"),
}
WILDCARDS = ("0.0.0.0", "::")
LOOPBACKS = ("127.0.0.1", "::1")


class Need(NamedTuple):
    port: int
    role: str


class PortStatus:
    """One port's verdict; state is free | ours | foundry | conflict | held. A plain class: `ports` starts
    ~10 ms sooner without the dataclasses module."""

    def __init__(self, port: int, role: str, state: str, holders: list[dict] | None = None,
                 suggestions: list[int] | None = None, fix: str = "", cause: str = "") -> None:
        self.port, self.role, self.state = port, role, state
        self.holders = holders if holders is not None else []
        self.suggestions = suggestions if suggestions is not None else []
        self.fix, self.cause = fix, cause

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortStatus) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"PortStatus({self.as_dict()!r})"

    def as_dict(self) -> dict:
        return {"port": self.port, "role": self.role, "state": self.state, "holders": self.holders,
                "suggestions": self.suggestions, "cause": self.cause, "fix": self.fix}


def needed_ports(openwebui: int | None, chainlit: int | None, foundry: int | None,
                 extra: list[int], webgpu_demo: int | None = None) -> list[Need]:
    wanted = ((openwebui, "open-webui"), (chainlit, "chainlit"), (webgpu_demo, "webgpu-demo"), (foundry, "foundry"))
    needs = [Need(port, role) for port, role in wanted if port]
    needs += [Need(p, "requested") for p in extra]
    out, seen = [], set()
    for need in needs:
        if need.port and need.port not in seen:
            seen.add(need.port)
            out.append(need)
    return out


def nearest_free(port: int, taken: set[int], count: int = 3, low: int = 1024, high: int = 65535) -> list[int]:
    """The count free ports closest to port (ties: the higher first)."""
    found: list[int] = []
    step = 1
    while len(found) < count and step <= (high - low):
        for candidate in (port + step, port - step):
            if low <= candidate <= high and candidate not in taken and len(found) < count:
                found.append(candidate)
        step += 1
    return found


def asked_of_engine(holders: dict[int, dict]) -> set[int]:
    """The ports the engine is asked about: those held by an engine's port forwarder (docker-proxy, Docker
    Desktop's com.docker.backend, Colima's ssh/limactl, OrbStack, Podman's conmon/rootlessport, …: which
    process holds a published port depends on the engine) or by a process fldeploy cannot see or name.
    holders: {port: {pid: holder}} with holder["process"] from net.process_info."""

    def unknown_or_forwarder(holder: dict) -> bool:
        name = (holder.get("process") or {}).get("name")
        return not name or is_forwarder(name)

    return {port for port, by_pid in holders.items() if any(map(unknown_or_forwarder, by_pid.values()))}


def attach_containers(holders: dict[int, dict], published: dict[int, list[dict]]) -> None:
    """Name the container the engine says publishes each port on that port's holders (classify then tells the
    stack's own ports from a conflict by its Compose project)."""
    for port, containers in published.items():
        for holder in holders.get(port, {}).values():
            holder["container"] = containers[0]


def describe_holder(holder: dict) -> str:
    container = holder.get("container")
    if container:
        project = f", compose project {container['project']}" if container.get("project") else ""
        return f"container {container['name']}{project}"
    proc = holder.get("process") or {}
    if proc.get("name"):
        return f"{proc['name']} (pid {proc['pid']}, user {proc.get('user')})"
    if holder.get("pid"):
        return f"pid {holder['pid']}"
    return "a process fldeploy cannot see (run as root to name it)"


def bind_scope(addresses: list[str]) -> str:
    if any(a in WILDCARDS for a in addresses):
        return "all interfaces"
    if addresses and all(a in LOOPBACKS for a in addresses):
        return "loopback only"
    return "specific addresses"


def classify(need: Need, holders: list[dict], own_project: str, taken: set[int]) -> PortStatus:
    if not holders:
        return PortStatus(need.port, need.role, "free")
    containers = [h["container"] for h in holders if h.get("container")]
    what = ROLES[need.role][1]
    addresses = sorted({a for h in holders for a in h.get("addresses", [])})
    held_by = describe_holder(holders[0])
    if any(c.get("project") == own_project for c in containers):
        return PortStatus(need.port, need.role, "ours", holders,
                          cause=f"held by fldeploy's own stack ({held_by})")
    if need.role == "foundry":
        return PortStatus(need.port, need.role, "foundry", holders,
                          cause=f"Foundry Local listens here ({', '.join(addresses)}; {bind_scope(addresses)})")
    cause = f"port {need.port} for {what} is held by {held_by} on {', '.join(addresses) or '?'}"
    if need.role == "requested":
        return PortStatus(need.port, need.role, "held", holders, cause=cause)
    suggestions = nearest_free(need.port, taken)
    setting = ROLES[need.role][0]
    fix = ""
    if suggestions and setting:
        alt = suggestions[0]
        flag = "--" + setting.replace("_", "-")
        fix = (f"use a free port: {flag} {alt} (or FLDEPLOY_{setting.upper()}={alt}, "
               f"or '{setting}: {alt}' in fldeploy.yaml), or stop {held_by}")
    return PortStatus(need.port, need.role, "conflict", holders, suggestions, fix, cause)
