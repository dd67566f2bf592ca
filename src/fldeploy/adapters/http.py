"""Every HTTP request fldeploy makes goes through here: local traffic never uses a proxy (and never imports httpx).

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
from typing import Any
from urllib.parse import urlsplit

from .local_http import Verbs

ALWAYS_LOCAL_NAMES = ("localhost", "host.docker.internal", "gateway.docker.internal")
BRIDGE_INTERFACES = ("docker0", "br-")


class HTTPError(Exception):
    """Any failure of a request made here, local or through httpx."""
    kind = "error"


class TransportError(HTTPError):
    pass


RequestError = TransportError


class TimeoutException(TransportError):
    kind = "timeout"


class ConnectError(TransportError):
    kind = "refused"


_BY_KIND = {"timeout": TimeoutException, "refused": ConnectError, "error": TransportError}


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _ip(host: str):
    try:
        ip = ipaddress.ip_address(host.split("%")[0] if ":" in host else host)  # a zone only on IPv6
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


def _ca_from_env() -> tuple[str | None, str | None]:
    return os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")


def _translated(exc: Exception) -> HTTPError:
    """httpx's or the local session's failure as one of the types above (callers catch these only)."""
    kind = getattr(exc, "kind", None)
    if kind is None:
        name = type(exc).__name__
        kind = "timeout" if "Timeout" in name else "refused" if name == "ConnectError" else "error"
    return _BY_KIND[kind](str(exc) or type(exc).__name__)


class Client(Verbs):
    """One service's client (paths relative to base_url): the standard library's http.client when the
    service is local (never a proxy, and no httpx import: doctor and up start ~170 ms sooner), httpx with the
    environment's proxy rules otherwise. Responses have status_code, headers, content, text and json()."""

    def __init__(self, base_url: str, timeout: float) -> None:
        if uses_env_proxy(base_url):
            import httpx

            self._session: Any = httpx.Client(base_url=base_url, timeout=timeout)
            self._errors: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL)
        else:
            from .local_http import Failure, Session

            self._session = Session(base_url, timeout, *_ca_from_env())
            self._errors = (Failure,)

    @property
    def cookies(self) -> Any:
        return self._session.cookies

    def request(self, method: str, url: str, **kw: Any) -> Any:
        try:
            return self._session.request(method, url, **kw)
        except self._errors as exc:
            raise _translated(exc) from exc

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def client(base_url: str, timeout: float) -> Client:
    """A client for one service (relative paths): direct when base_url is local."""
    return Client(base_url, timeout)


def request(method: str, url: str, timeout: float, **kw: Any) -> Any:
    """One request (like httpx.request), routed by uses_env_proxy."""
    with Client(url, timeout) as one:
        return one.request(method, url, **kw)


def get(url: str, timeout: float, **kw: Any) -> Any:
    return request("GET", url, timeout, **kw)


def post(url: str, timeout: float, **kw: Any) -> Any:
    return request("POST", url, timeout, **kw)


def head(url: str, timeout: float, **kw: Any) -> Any:
    return request("HEAD", url, timeout, **kw)


def error_kind(exc: BaseException) -> str:
    """timeout, refused or error: how a transport failure is told apart in findings."""
    return getattr(exc, "kind", "error") if isinstance(exc, HTTPError) else "error"
