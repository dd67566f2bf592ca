"""What fldeploy asks of the Docker engine (through the Engine API adapter) and of the Compose v2 CLI."""
from __future__ import annotations

from . import engine, proc

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def engine_facts(timeout: float) -> dict:
    """Is the engine reachable, where it was found, its version, and what kind of engine it is."""
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
    platform = (version.get("Platform") or {}).get("Name", "")
    operating_system = info.get("OperatingSystem", "")
    components = [c.get("Name", "") for c in version.get("Components") or [] if isinstance(c, dict)]
    desktop = "desktop" in f"{platform} {operating_system} {info.get('Name', '')}".lower()
    return {"reachable": True, **where, "version": version.get("Version"),
            "api_version": version.get("ApiVersion"), "os": operating_system, "platform": platform,
            "components": components, "desktop": desktop, "kernel": info.get("KernelVersion"),
            "podman": any("podman" in c.lower() for c in components)}


def compose_version(timeout: float) -> dict:
    """`docker compose version --short`; {'present', 'version', 'error'}."""
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
