"""URLs of Foundry and its listeners, pure: normalised base URLs, ports, hosts, where an embedded Foundry binds.
Their own module (no dataclasses, no regex compiled at import) because `fldeploy ports` needs them at start-up."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

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


def bind_hosts(mode: str, bridge_gateway: str | None) -> list[str]:
    """Addresses an embedded Foundry listens on: loopback for the host, the bridge gateway for containers."""
    if mode == "all":
        return ["0.0.0.0"]
    if mode == "docker" and bridge_gateway:
        return ["127.0.0.1", bridge_gateway]
    return ["127.0.0.1"]
