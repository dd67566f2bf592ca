"""Pure planning of the stack: how containers reach Foundry, and the StackSpec from settings and facts."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from .compose_model import HOST_GATEWAY, SERVICES, Relay, StackSpec
from .engine_kind import KINDS, PODMAN, Engine
from .foundry_rules import api_url, url_host, url_port
from .ports import LOOPBACKS, WILDCARDS

ALWAYS_BUILT = ("chainlit", "webgpu-demo")  # fldeploy's own images: built from deploy/, never pulled
LOCAL_IMAGES = {"open-webui": "fldeploy-local/open-webui:0.12.4", "foundry-relay": "fldeploy-local/socat:1"}


@dataclass(frozen=True)
class FoundryFacts:
    url: str  # base URL as the host reaches it
    model_id: str
    bind_addresses: tuple[str, ...] = ()
    local: bool = True
    gateway: str | None = None  # the Docker bridge gateway (docker0), where the relay listens
    engine: Engine = field(default_factory=lambda: KINDS["docker"])  # the engine the stack runs on
    hosts: tuple = ()  # several Foundry hosts (services/foundry_hosts.py): each host's HostFacts; this is the first


@dataclass(frozen=True)
class Route:
    url: str  # OpenAI base URL as containers see it
    relay: bool
    reason: str


def container_route(f: FoundryFacts, relay_port: int) -> Route:
    """The URL containers use for Foundry on this engine: the host name the engine gives them, or a relay where
    a native Linux Docker engine cannot reach a loopback-only Foundry."""
    if not f.local:
        return Route(api_url(f.url), False, f"Foundry runs on {url_host(f.url)}: containers use its URL")
    engine, port = f.engine, url_port(f.url)
    direct = f"http://{engine.host_name}:{port}/v1"
    listens = ", ".join(f.bind_addresses) or "?"
    if engine.in_vm:
        assumed = "" if engine.known else " (assumed: the engine did not answer or was not recognised)"
        return Route(direct, False, f"{engine.name} forwards {engine.host_name} to the host's loopback{assumed}")
    if engine.kind == PODMAN:
        if any(a in WILDCARDS for a in f.bind_addresses):
            return Route(direct, False, f"Foundry listens on {listens}: Podman's containers reach it as "
                         f"{engine.host_name}")
        now = f" (it listens on {listens})" if f.bind_addresses else ""
        return Route(direct, False, f"Podman's containers reach the host as {engine.host_name}, their network's "
                     f"gateway: Foundry must listen there or on all interfaces{now}; see `fldeploy doctor` "
                     "(foundry.bind)")
    if engine.relays_loopback and f.bind_addresses and all(a in LOOPBACKS for a in f.bind_addresses):
        return Route(f"http://{engine.host_name}:{relay_port}/v1", True,
                     f"Foundry listens on loopback only: a socat relay on {f.gateway or 'the bridge gateway'}:"
                     f"{relay_port} forwards to 127.0.0.1:{port}")
    return Route(direct, False, f"Foundry listens on {listens}: containers reach it as {engine.host_name}")


def selected_services(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SERVICES]
    if unknown or not names:
        raise ConfigError(f"services: unknown or empty service list {text!r}",
                          f"use a comma-separated list of: {', '.join(SERVICES)}")
    return tuple(s for s in SERVICES if s in names)


def stack_spec(settings, facts: FoundryFacts, route: Route, build_contexts: dict[str, str],
               ca_file: str | None) -> StackSpec:
    local = settings.build_local
    contexts = {s: c for s, c in build_contexts.items() if local or s in ALWAYS_BUILT}
    relay = None
    engine = facts.engine
    if route.relay:
        relay = Relay(LOCAL_IMAGES["foundry-relay"] if local else settings.relay_image,
                      facts.gateway or "172.17.0.1", settings.relay_port, url_port(facts.url))
    return StackSpec(
        project=settings.project, services=selected_services(settings.services),
        bind_host="0.0.0.0" if settings.public else "127.0.0.1",
        openwebui_port=settings.openwebui_port, chainlit_port=settings.chainlit_port,
        webgpu_demo_port=settings.webgpu_demo_port, webgpu_demo_image=settings.webgpu_demo_image,
        foundry_api_url=route.url, model_id=facts.model_id,
        openwebui_image=LOCAL_IMAGES["open-webui"] if local else settings.openwebui_image,
        chainlit_image=settings.chainlit_image, volume=settings.volume, admin_email=settings.admin_email,
        build_contexts=contexts, base_image=settings.base_image if contexts else None,
        ca_file=ca_file if contexts else None, relay=relay,
        extra_hosts=() if engine.provides_host_name else (HOST_GATEWAY,), init=engine.init)


def drift_of(in_use: str | None, expected: str | None) -> str | None:
    """The one drift rule: the Foundry URL the stack's containers use is not the one they should use now."""
    if in_use and expected and in_use.rstrip("/") != expected.rstrip("/"):
        return f"the stack uses {in_use}, Foundry is now at {expected}: run `fldeploy up`"
    return None
