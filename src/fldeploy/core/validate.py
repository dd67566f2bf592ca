"""Pure rules for setting values that reach Docker or a file: each validator returns nothing or raises
Invalid(problem, fix). settings.coerce() applies them, naming where the value came from."""
from __future__ import annotations

import re
import unicodedata
from typing import Callable

MAX_TEXT = 8192  # characters of one string setting
# Unicode categories refused in every string setting: controls (C0, DEL, C1 such as \x85), format characters
# (bidirectional overrides, zero-width), lone surrogates (bytes that were not UTF-8), line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible format character",
                       "Cs": "bytes that are not valid UTF-8", "Zl": "a line separator", "Zp": "a paragraph separator"}


class Invalid(ValueError):
    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def control_character(value: str) -> str | None:
    """'U+000D (a control character)' for the first character no setting may hold, else None."""
    for char in value:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            return f"U+{ord(char):04X} ({_REFUSED_CATEGORIES[category]})"
    return None


def text(value: str) -> None:
    """Every string setting: printable text of sane length (it may end up in .env, compose.yaml, a URL)."""
    found = control_character(value)
    if found:
        raise Invalid(f"contains {found}", "remove it: settings are one line of printable text")
    if len(value) > MAX_TEXT:
        raise Invalid(f"is {len(value)} characters long (at most {MAX_TEXT})", "use a shorter value")


def nonempty(value: str) -> None:
    if not value.strip():
        raise Invalid("is empty", "give it a value, or remove it to use the default")


_VOLUME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]+", re.ASCII)


def volume_name(value: str) -> None:
    """A named Docker volume (Docker's rule for local volumes): never a host path, which would bind-mount it."""
    if not _VOLUME.fullmatch(value):
        extra = " (a path would bind-mount that host folder)" if "/" in value or value.startswith(("~", ".")) else ""
        raise Invalid(f"is not a Docker volume name{extra}",
                      "use 2 or more letters, digits, '_', '.' or '-', starting with a letter or digit "
                      "(e.g. open-webui-data)")


_PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)


def project_name(value: str) -> None:
    """Compose's rule for project names."""
    if not _PROJECT.fullmatch(value):
        raise Invalid("is not a Compose project name",
                      "use lowercase letters, digits, '-' and '_', starting with a letter or digit (e.g. fldeploy)")


# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest]
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::[\w][\w.-]{{0,127}})?"
                        r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?", re.ASCII)


def image_reference(value: str) -> None:
    found = _REFERENCE.fullmatch(value)
    if not found or len(found.group("name")) > 255:
        raise Invalid("is not a Docker image reference",
                      "write [registry[:port]/]name[:tag][@sha256:digest] with a lowercase name "
                      "(e.g. ghcr.io/open-webui/open-webui:v0.12.4)")


_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?", re.ASCII)


def _url(value: str, default_scheme: bool, base: bool) -> None:
    from urllib.parse import urlsplit

    example = "http://127.0.0.1:5273"
    if any(c.isspace() for c in value):
        raise Invalid("contains a space", f"write the URL without spaces (e.g. {example})")
    url = value if "://" in value or not default_scheme else "http://" + value
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on a bad or out-of-range port
    except ValueError as exc:
        netloc = url.split("://", 1)[-1].split("/", 1)[0]
        ipv6 = "IPv6" in str(exc) or ("[" not in netloc and netloc.count(":") > 1)
        hint = "; write IPv6 addresses in brackets: http://[::1]:5273" if ipv6 else ""
        raise Invalid(f"is not a URL ({exc}{hint})", f"write it as http://HOST:PORT (e.g. {example})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid(f"must be an http:// or https:// URL, not {parts.scheme or 'without a scheme'}:",
                      f"write it as http://HOST:PORT (e.g. {example})")
    if not host:
        raise Invalid("has no host", f"write it as http://HOST:PORT (e.g. {example})")
    bracketed = "[" in parts.netloc
    if bracketed:
        import ipaddress

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise Invalid(f"has {host!r} in brackets, which is not an IPv6 address",
                          "brackets hold IPv6 addresses only: http://[::1]:5273") from None
    elif not _HOSTNAME.fullmatch(host):
        raise Invalid(f"has an invalid host {host!r}",
                      "use a host name or IP address; IPv6 addresses in brackets: http://[::1]:5273")
    if port == 0:
        raise Invalid("has port 0", "use a port from 1 to 65535")
    if base and (parts.query or parts.fragment):
        raise Invalid("has a query or fragment ('?' or '#')", f"give the base URL only (e.g. {example}/v1)")


def base_url(value: str) -> None:
    """Foundry's base URL: http(s), a host, an optional port and path; 'host:port' means http://host:port."""
    _url(value, default_scheme=True, base=True)


def foundry_urls(value: str) -> None:
    """Several Foundry hosts: comma-separated base URLs, each optionally named name=URL (core/foundry_hosts.py)."""
    from .foundry_hosts import check_foundry_urls

    check_foundry_urls(value)


def http_url(value: str) -> None:
    """Any http(s) URL with a host (e.g. a model catalog)."""
    _url(value, default_scheme=False, base=False)


_EMAIL = re.compile(r"[^@\s\"(),:;<>\[\\\]]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")


def email(value: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise Invalid("is not an email address", "write it as name@domain (e.g. admin@fldeploy.local)")


def services(value: str) -> None:
    """The front ends to deploy: a comma-separated list of known service names (empty items ignored)."""
    from .compose_model import SERVICES  # imported when used: `fldeploy ports` must start fast

    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVICES]
    if unknown or not names:
        what = f"names unknown services: {', '.join(repr(n) for n in unknown)}" if unknown else "names no service"
        raise Invalid(what, f"use a comma-separated list of: {', '.join(SERVICES)} (e.g. open-webui,chainlit)")


def all_of(*checks: Callable[[str], None]) -> Callable[[str], None]:
    def check(value: str) -> None:
        for one in checks:
            one(value)
    check.__doc__ = " and ".join(c.__name__ for c in checks)
    return check


def _service_url(value: str, schemes: tuple[str, ...], example: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        scheme, host, _ = parts.scheme.lower(), parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:
        scheme, host = "", None
    if any(c.isspace() for c in value) or scheme not in schemes or not host:
        raise Invalid(f"is not a {schemes[0]}:// URL with a host", f"write it as {example}")


def postgres_url(value: str) -> None:
    """An external PostgreSQL for Open WebUI (it takes postgres:// and postgresql://, with an optional driver)."""
    _service_url(value, ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"),
                 "postgresql://USER:PASSWORD@HOST:5432/DB")


def redis_url(value: str) -> None:
    _service_url(value, ("redis", "rediss"), "redis://:PASSWORD@HOST:6379/0")


_DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*", re.ASCII)


def dns_name(value: str) -> None:
    """A host name as a Kubernetes Ingress takes it (RFC 1123, lowercase, an optional leading '*.'; no IP)."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip or len(value) > 253 or not _DNS_NAME.fullmatch(value):
        why = "an IP address, which an Ingress rule does not take" if is_ip else "not a DNS host name"
        raise Invalid(f"is {why}", "write a lowercase host name of letters, digits, '-' and '.' (e.g. "
                      "chat.example.org)")
