"""Several Foundry hosts behind one Open WebUI: `name=URL` items parsed and named, each host's container route,
and the Open WebUI connections they become. Pure.

Open WebUI 0.12.4 reads OPENAI_API_BASE_URLS and OPENAI_API_KEYS (`;`-separated, config.py:342-353) and
OPENAI_API_CONFIGS (a JSON object, config.py:355-365) keyed by the connection's index as a string
(routers/openai.py:606-611); a connection's `prefix_id` is put before each of its model ids as `prefix.id`
(routers/openai.py:664-665) and taken off again before a request goes to it (utils/model_ids.py). All three are
seeded into its database on first start and the database wins from then on (models/config.py seed_defaults):
fldeploy compares and updates the stored connections through the admin API (stack/openwebui.py).
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from .validate import Invalid, base_url

NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?", re.ASCII)
MAX_HOSTS = 16
EXAMPLE = "lab=http://10.0.0.5:5273,http://10.0.0.6:5273"


@dataclass(frozen=True)
class FoundryHost:
    name: str  # [a-z0-9-]: Open WebUI's prefix of this host's models, and part of Compose service names
    url: str  # as given (a base URL; '/v1' optional)


def derived_name(url: str, with_port: bool = False) -> str:
    """A name from the URL's host: 'http://10.0.0.5:5273' -> '10-0-0-5' (with_port: '10-0-0-5-5273')."""
    from .foundry_rules import url_host, url_port

    text = url_host(url).lower() + (f"-{url_port(url)}" if with_port else "")
    name = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:32].strip("-")
    return name or "host"


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_hosts(value: str) -> list[FoundryHost]:
    """'lab=http://10.0.0.5:5273,http://10.0.0.6:5273' -> hosts named lab and 10-0-0-6. Raises Invalid (problem,
    fix) for a bad name, a bad URL, a repeated name or URL, or too many hosts."""
    from .foundry_rules import ipv4_loopback, normalise_base_url

    items = _split(value)
    if not items:
        raise Invalid("names no Foundry host", f"give one or more URLs, comma-separated (e.g. {EXAMPLE})")
    if len(items) > MAX_HOSTS:
        raise Invalid(f"names {len(items)} Foundry hosts (at most {MAX_HOSTS})", "keep the hosts the stack uses")
    named: list[tuple[str | None, str]] = []
    for item in items:
        name: str | None = None
        url = item
        head, sep, tail = item.partition("=")
        if sep and "/" not in head and ":" not in head:
            name, url = head.strip(), tail.strip()
            if not NAME.fullmatch(name):
                raise Invalid(f"has the host name {name!r}, which is not [a-z0-9-] (1-32 characters, no '-' at "
                              "either end)", f"name hosts like lab or gpu-2 (e.g. {EXAMPLE})")
        if ";" in url:
            raise Invalid(f"has a ';' in the URL of {name or url!r}", "Open WebUI separates its connections with "
                          "';': give each host's base URL without it")
        try:
            base_url(url)
        except Invalid as bad:
            raise Invalid(f"has a bad URL for host {name or url!r}: it {bad.problem}", bad.fix) from None
        named.append((name, url))
    taken = {n for n, _ in named if n}
    hosts: list[FoundryHost] = []
    seen_urls: dict[str, str] = {}
    for name, url in named:
        if name is None:
            name = derived_name(url)
            if name in taken or any(h.name == name for h in hosts):
                name = derived_name(url, with_port=True)
        if any(h.name == name for h in hosts):
            raise Invalid(f"names the host {name!r} twice", "give each host a name of its own (name=URL)")
        key = ipv4_loopback(normalise_base_url(url)).lower()
        if key in seen_urls:
            raise Invalid(f"gives the same URL for {seen_urls[key]!r} and {name!r}", "name each Foundry host once")
        seen_urls[key] = name
        hosts.append(FoundryHost(name, url))
    return hosts


def check_foundry_urls(value: str) -> None:
    """The foundry_urls setting's rule (settings.coerce runs it)."""
    parse_hosts(value)


def hosts_of(settings) -> list[FoundryHost]:
    """The configured hosts; [] for the one-Foundry mode (foundry_url, or discovery)."""
    value = getattr(settings, "foundry_urls", None)
    return parse_hosts(value) if value else []


def is_loopback(address: str) -> bool:
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def own_addresses(host: str, addresses: list[str]) -> tuple[str, ...]:
    """The listen addresses that belong to the Foundry at host: another loopback address's listener on the same
    port (a second Foundry on 127.0.0.3 beside this one on 127.0.0.2) is not this host's."""
    host = "127.0.0.1" if host.lower() == "localhost" else host
    return tuple(sorted({a for a in addresses if not is_loopback(a) or a == host}))


def connection_configs(prefixes: list[str]) -> dict[str, dict]:
    """OPENAI_API_CONFIGS: one entry per connection, keyed by its index as a string, with its prefix."""
    return {str(i): {"enable": True, "prefix_id": prefix} for i, prefix in enumerate(prefixes)}


def openwebui_env(urls: list[str], prefixes: list[str], key_ref: str) -> dict[str, str]:
    """The Open WebUI environment for several connections (one per host, or the balancer alone)."""
    configs = connection_configs(prefixes) if any(prefixes) else {}
    return {"OPENAI_API_BASE_URLS": ";".join(urls), "OPENAI_API_KEYS": ";".join([key_ref] * len(urls)),
            "OPENAI_API_CONFIGS": json.dumps(configs, sort_keys=True, separators=(",", ":"))}


def read_connections(environment: dict) -> list[tuple[str, str]]:
    """(prefix, url) per connection of a rendered Open WebUI environment ('$$' already read as '$')."""
    urls = [u.strip() for u in (environment.get("OPENAI_API_BASE_URLS") or "").split(";") if u.strip()]
    try:
        configs = json.loads(environment.get("OPENAI_API_CONFIGS") or "{}")
    except ValueError:
        configs = {}
    configs = configs if isinstance(configs, dict) else {}
    return [(str((configs.get(str(i)) or {}).get("prefix_id") or ""), url) for i, url in enumerate(urls)]


def stored_matches(stored: dict, urls: list[str], prefixes: list[str]) -> bool:
    """Does Open WebUI's stored OpenAI configuration hold exactly these connections, with these prefixes?"""
    if list(stored.get("OPENAI_API_BASE_URLS") or []) != urls:
        return False
    configs = stored.get("OPENAI_API_CONFIGS") or {}
    return all((configs.get(str(i)) or {}).get("prefix_id", "") == p and (configs.get(str(i)) or {}).get(
        "enable", True) for i, p in enumerate(prefixes))


def hosts_drift(in_use: dict[str, str], now: dict[str, str | None]) -> dict[str, str]:
    """Drift per host (host name -> what moved), by the one rule of stack_plan.drift_of; a host added or removed
    since the stack was rendered is drift too."""
    from .stack_plan import drift_of

    out: dict[str, str] = {}
    for name, url in in_use.items():
        if name not in now:
            out[name] = f"host {name} is no longer configured: run `fldeploy up`"
        elif (moved := drift_of(url, now[name])):
            out[name] = f"host {name}: {moved}"
    for name in now:
        if name not in in_use:
            out[name] = f"host {name} is configured but not in the stack: run `fldeploy up`"
    return out


def model_for(prefix: str, model_id: str) -> str:
    """The id Open WebUI lists a host's model under."""
    return f"{prefix}.{model_id}" if prefix else model_id


def host_route(facts, relay_port: int):
    """How containers reach one host: container_route's rule, plus a relay for a Foundry that listens on any
    loopback address only (127.0.0.2 too), forwarding to that address."""
    from .stack_plan import Route, container_route

    engine = facts.engine
    loopback_only = facts.local and facts.bind_addresses and all(is_loopback(a) for a in facts.bind_addresses)
    if loopback_only and engine.relays_loopback:
        return Route(f"http://{engine.host_name}:{relay_port}/v1", True,
                     f"listens on {', '.join(facts.bind_addresses)} only: a socat relay on "
                     f"{facts.gateway or 'the bridge gateway'}:{relay_port} forwards to it")
    return container_route(facts, relay_port)
