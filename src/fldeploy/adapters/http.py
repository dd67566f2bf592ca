"""Every HTTP request fldeploy makes goes through here (httpx, imported lazily): local traffic never uses a proxy.

httpx honours HTTP_PROXY/HTTPS_PROXY/ALL_PROXY for every host, 127.0.0.1 included, unless NO_PROXY names it.
With a corporate proxy set, fldeploy's requests to a Foundry on loopback, to the stack's own front ends (the
Open WebUI sign-in carries the admin password) and to the Docker bridge would go to that proxy: false alarms,
and secrets sent to a third party. So a request to a local address goes direct (no proxy, whatever the
environment says); anything else keeps the usual rules (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY).

Local: loopback (127.0.0.0/8, ::1, localhost, *.localhost), the unspecified address, this host's own interface
addresses (the Docker bridge gateway among them), addresses on a Docker bridge network (docker0, br-*), and
the names that always mean this host (host.docker.internal, the host name). No name is resolved here: a
lookup of an outside name is the proxy's business.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

ALWAYS_LOCAL_NAMES = ("localhost", "host.docker.internal", "gateway.docker.internal")
BRIDGE_INTERFACES = ("docker0", "br-")
HTTPX_ERRORS = ("HTTPError", "TimeoutException", "ConnectError", "TransportError", "RequestError")


def __getattr__(name: str):
    """http.HTTPError, http.TimeoutException, ...: httpx's exception types, imported on first use."""
    if name in HTTPX_ERRORS:
        import httpx

        return getattr(httpx, name)
    raise AttributeError(name)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _ip(host: str):
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        ip = _inet_aton(host)
        if ip is None:
            return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _inet_aton(host: str):
    """The address the system resolver gives an all-numeric host (127.1, 0x7f.1, 0177.0.0.1, 2130706433): the
    request goes there, so it is judged as that address, never by its spelling."""
    import socket

    if not host or not all(part.isalnum() for part in host.rstrip(".").split(".")):
        return None
    if not all(ch in "0123456789xXabcdefABCDEF." for ch in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except (OSError, ValueError):
        return None


def _interfaces() -> tuple[set[str], list]:
    """This host's own addresses, and the networks of its Docker bridges (containers live there)."""
    import psutil

    own: set[str] = set()
    bridges = []
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = a.address.split("%")[0]
            own.add(address)
            if name.startswith(BRIDGE_INTERFACES) and a.netmask:
                try:
                    bridges.append(ipaddress.ip_network(f"{address}/{a.netmask}", strict=False))
                except ValueError:
                    continue
    return own, bridges


def is_local(url: str) -> bool:
    """Does this URL point at this host or its containers (so no proxy may be used)? Pure for loopback."""
    host = _host(url)
    if not host:
        return False
    if host in ALWAYS_LOCAL_NAMES or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    if ip is None:
        return host == socket.gethostname().lower()
    if ip.is_loopback or ip.is_unspecified:
        return True
    own, bridges = _interfaces()
    return str(ip) in own or any(ip.version == net.version and ip in net for net in bridges)


def uses_env_proxy(url: str) -> bool:
    """The routing decision: False means direct, whatever HTTP(S)_PROXY says; True means httpx's usual
    environment rules (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) apply."""
    return not is_local(url)


def _direct() -> dict:
    """Client options for a direct connection: no environment proxies; CA settings from the environment kept."""
    options: dict = {"trust_env": False}
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile or capath:
        import ssl

        options["verify"] = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    return options


def client(base_url: str, timeout: float, **kw):
    """An httpx.Client for one service (relative paths): direct when base_url is local."""
    import httpx

    route = {} if uses_env_proxy(base_url) else _direct()
    return httpx.Client(base_url=base_url, timeout=timeout, **route, **kw)


def request(method: str, url: str, timeout: float, **kw):
    """One request (like httpx.request), routed by uses_env_proxy."""
    import httpx

    route = {} if uses_env_proxy(url) else _direct()
    with httpx.Client(timeout=timeout, **route) as c:
        return c.request(method, url, **kw)


def get(url: str, timeout: float, **kw):
    return request("GET", url, timeout, **kw)


def post(url: str, timeout: float, **kw):
    return request("POST", url, timeout, **kw)


def head(url: str, timeout: float, **kw):
    return request("HEAD", url, timeout, **kw)


def error_kind(exc: BaseException) -> str:
    """timeout, refused or error: how a transport failure is told apart in findings."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    return "error"
