"""What fldeploy asks of the Docker engine (through the Engine API adapter) and of the Compose v2 CLI."""
from __future__ import annotations

from . import engine

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def engine_facts(timeout: float) -> dict:
    """Is the engine reachable, where it was found, its version, and what kind of engine it is (core.engine_kind):
    for Podman also its networks' gateways, whether it has an init binary and whether it can run healthchecks."""
    import sys

    from ..core import engine_kind

    try:
        endpoint = engine.locate()
    except engine.EngineError as exc:
        return {"reachable": False, "host": None, "host_source": "docker context", "error": str(exc)}
    where = {"host": endpoint.host, "host_source": endpoint.source}
    try:
        version = engine.get("/version", timeout, endpoint)
        info = engine.get("/info", timeout, endpoint)
    except engine.EngineError as exc:
        return {"reachable": False, **where, "error": str(exc)}
    on_linux = sys.platform.startswith("linux")
    kind, recognised = engine_kind.classify(version, info, endpoint.host, on_linux)
    components = [c.get("Name", "") for c in version.get("Components") or [] if isinstance(c, dict)]
    facts = {"reachable": True, **where, "version": version.get("Version"),
             "api_version": version.get("ApiVersion"), "os": info.get("OperatingSystem", ""),
             "platform": (version.get("Platform") or {}).get("Name", ""), "components": components,
             "kind": kind, "kind_name": engine_kind.KINDS[kind].name, "recognised": recognised,
             "desktop": kind == engine_kind.DOCKER_DESKTOP, "podman": kind in PODMAN_KINDS,
             "kernel": info.get("KernelVersion"), "init": bool(info.get("InitBinary")) or None}
    if kind in PODMAN_KINDS:
        facts.update(_podman_facts(endpoint, timeout))
    return facts


PODMAN_KINDS = ("podman", "podman-machine")
# where Podman looks for catatonit (containers.conf init_path, then its helper_binaries_dir)
CATATONIT_PATHS = ("/usr/libexec/podman/catatonit", "/usr/lib/podman/catatonit", "/usr/local/libexec/podman/catatonit",
                   "/usr/local/lib/podman/catatonit", "/usr/bin/catatonit")


def _podman_facts(endpoint, timeout: float) -> dict:
    """Its networks' gateways (host.containers.internal leads there); and, when it runs on this host, whether
    catatonit (its init) is installed and whether systemd runs (Podman's healthchecks are systemd timers)."""
    import os

    gateways: list[str] = []
    try:
        for network in engine.get("/networks", timeout, endpoint):
            for config in (network.get("IPAM") or {}).get("Config") or []:
                if config.get("Gateway") and config["Gateway"] not in gateways:
                    gateways.append(config["Gateway"])
    except (engine.EngineError, AttributeError, TypeError):
        pass
    facts: dict = {"gateways": gateways}
    if endpoint.host.startswith("unix://") and "machine" not in endpoint.host:
        facts["init"] = any(os.path.exists(path) for path in CATATONIT_PATHS)
        facts["runs_healthchecks"] = os.path.isdir("/run/systemd/system")  # sd_booted(3)
    return facts


def compose_version(timeout: float) -> dict:
    """`docker compose version --short`; {'present', 'version', 'error'}."""
    from . import proc

    done = proc.run(["docker", "compose", "version", "--short"], timeout=timeout)
    if done.ok and done.stdout.strip():
        return {"present": True, "version": done.stdout.strip().lstrip("v")}
    if done.missing:
        return {"present": False, "error": "the docker CLI is not installed"}
    if done.timed_out:
        return {"present": False, "error": f"`docker compose version` did not answer in {timeout:.0f}s"}
    return {"present": False, "error": (done.stderr or done.stdout).strip()[:200] or "no output"}


def containers_by_host_port(ports: set[int], timeout: float) -> tuple[dict[int, list[dict]], str | None]:
    """Running containers publishing the given host ports: {port: [container]}, error text or None."""
    try:
        listing = engine.get("/containers/json", timeout)
    except engine.EngineError as exc:
        return {}, str(exc)
    found: dict[int, list[dict]] = {}
    for c in listing:
        labels = c.get("Labels") or {}
        for p in c.get("Ports") or []:
            port = p.get("PublicPort")
            if port in ports:
                found.setdefault(port, []).append({
                    "name": (c.get("Names") or ["?"])[0].lstrip("/"), "id": c.get("Id", "")[:12],
                    "project": labels.get(PROJECT_LABEL), "service": labels.get(SERVICE_LABEL),
                    "host_ip": p.get("IP"), "image": c.get("Image")})
    return found, None
