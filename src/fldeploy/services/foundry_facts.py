"""Foundry as the stack needs it, found once per run: its URL, the model to use, where it listens, and so how
containers reach it."""
from __future__ import annotations

import sys

from ..core.engine_kind import engine_notes, engine_of
from ..core.foundry_rules import resolve_model, url_host, url_port
from ..core.stack_plan import FoundryFacts, container_route
from ..errors import ExitCode, FldeployError


def foundry_facts(settings, found=None) -> tuple[FoundryFacts, list[str]]:
    """Find Foundry (or use a Discovery already made) and what containers need of it; without a Foundry,
    explicit --foundry-url and --model suffice."""
    from ..adapters import docker_engine, foundry_http, net
    from ..core.foundry_hosts import hosts_of
    from ..foundry import discovery

    if hosts_of(settings):  # several Foundry hosts: each probed, no discovery
        from .foundry_hosts import several_facts

        return several_facts(settings)
    notes: list[str] = []
    found = found or discovery.discover(settings, settings.check_timeout)
    if found.chosen and found.probe:
        url = found.chosen.url
        loaded = foundry_http.loaded_models(url, settings.http_timeout)
        model_id, how = resolve_model(settings.model, loaded or found.probe.models)
        if not model_id:
            raise FldeployError(f"no usable model: {how}", f"{_fix('foundry.load', found)}; or set --model to a "
                                "loaded id", ExitCode.UNREACHABLE, "foundry.models")
        notes.append(f"Foundry at {url} (found via {found.chosen.source}); model {how}")
    elif settings.foundry_url and settings.model:
        url, model_id = found.explicit_failed.url if found.explicit_failed else settings.foundry_url, settings.model
        notes.append(f"Foundry does not answer at {url}: rendering with --foundry-url and --model as given")
    else:
        hint = f" (it answers at {found.alternatives[0].url}: the port moved)" if found.alternatives else ""
        raise FldeployError(f"Foundry Local was not found{hint}", f"{_fix('foundry.start', found)}; or pass "
                            "--foundry-url and --model to render without it", ExitCode.UNREACHABLE,
                            "foundry.endpoint")
    local = url_host(url) in net.local_addresses()
    addresses = tuple(sorted({l.address for l in net.listeners({url_port(url)})})) if local else ()
    engine = engine_of(docker_engine.engine_facts(settings.check_timeout), sys.platform.startswith("linux"))
    notes += engine_notes(engine)
    return FoundryFacts(url, model_id, addresses, local, net.interface_ipv4("docker0"), engine), notes


def _fix(key: str, found) -> str:
    """The fix for this platform, naming the verbs of the foundry CLI generation that answered, if one did."""
    from ..core.fix_texts import fix, platform_name

    return fix(key, platform_name(sys.platform), cli=getattr(found, "cli", None))


def where_foundry_is_now(settings, found) -> tuple[str | None, str | None]:
    """The URL containers should use for the Foundry found now, and its model id (None when not found)."""
    try:
        facts, _ = foundry_facts(settings, found)
    except FldeployError:
        return None, None
    return container_route(facts, settings.relay_port).url, facts.model_id
