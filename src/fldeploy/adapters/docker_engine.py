"""The Docker engine (through the Docker SDK) and the Compose v2 CLI."""
from __future__ import annotations

import os

from . import proc

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def _client(timeout: float):
    import docker

    return docker.from_env(timeout=timeout)


def engine_facts(timeout: float) -> dict:
    """Is the daemon reachable; its version; Docker Desktop or a native Linux engine."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = _client(timeout)
        version = client.version()
        info = client.info()
    except Exception as exc:  # DockerException, connection errors, timeouts: all mean "not reachable"
        return {"reachable": False, "host": host, "error": _short_error(exc)}
    platform = (version.get("Platform") or {}).get("Name", "")
    operating_system = info.get("OperatingSystem", "")
    desktop = "desktop" in f"{platform} {operating_system} {info.get('Name', '')}".lower()
    return {"reachable": True, "host": host, "version": version.get("Version"),
            "api_version": version.get("ApiVersion"), "os": operating_system, "platform": platform,
            "desktop": desktop, "kernel": info.get("KernelVersion")}


def _short_error(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Error while fetching server API version: ", "('Connection aborted.', "):
        text = text.replace(marker, "")
    return text.strip("()'\" ")[:200] or type(exc).__name__


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
        listing = _client(timeout).api.containers()
    except Exception as exc:
        return {}, _short_error(exc)
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
