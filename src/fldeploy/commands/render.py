"""`fldeploy render`: the compose model for the current Foundry, written as compose.yaml + .env."""
from __future__ import annotations

from pathlib import Path

from ..core.compose_model import compose_document
from ..core.foundry_rules import resolve_model, url_host, url_port
from ..core.stack_plan import FoundryFacts, Route, container_route, stack_spec
from ..errors import ExitCode, FldeployError
from ..result import Result


def foundry_facts(settings, found=None) -> tuple[FoundryFacts, list[str]]:
    """Find Foundry (or use a Discovery already made) and what containers need of it; without a Foundry,
    explicit --foundry-url and --model suffice."""
    from ..adapters import docker_engine, foundry_http, net
    from ..foundry import discovery

    notes: list[str] = []
    found = found or discovery.discover(settings, settings.check_timeout)
    if found.chosen and found.probe:
        url = found.chosen.url
        loaded = foundry_http.loaded_models(url, settings.http_timeout)
        model_id, how = resolve_model(settings.model, loaded or found.probe.models)
        if not model_id:
            raise FldeployError(f"no usable model: {how}", "load one: `fldeploy foundry start --model <alias>` "
                                "or `foundry model run <alias>`; or set --model to a loaded id",
                                ExitCode.UNREACHABLE, "foundry.models")
        notes.append(f"Foundry at {url} (found via {found.chosen.source}); model {how}")
    elif settings.foundry_url and settings.model:
        url, model_id = found.explicit_failed.url if found.explicit_failed else settings.foundry_url, settings.model
        notes.append(f"Foundry does not answer at {url}: rendering with --foundry-url and --model as given")
    else:
        hint = f" (it answers at {found.alternatives[0].url}: the port moved)" if found.alternatives else ""
        raise FldeployError(f"Foundry Local was not found{hint}", "start it (`fldeploy foundry start --model "
                            "<alias>`), or pass --foundry-url and --model to render without it",
                            ExitCode.UNREACHABLE, "foundry.endpoint")
    local = url_host(url) in net.local_addresses()
    addresses = tuple(sorted({l.address for l in net.listeners({url_port(url)})})) if local else ()
    desktop = False
    if addresses and all(a in ("127.0.0.1", "::1") for a in addresses):
        desktop = bool(docker_engine.engine_facts(settings.check_timeout).get("desktop"))
    return FoundryFacts(url, model_id, addresses, local, net.interface_ipv4("docker0"), desktop), notes


def plan(settings, out_dir: Path, facts: FoundryFacts | None = None) -> tuple[dict, FoundryFacts, Route, list[str]]:
    from ..stack import assets

    notes: list[str] = []
    if facts is None:
        facts, notes = foundry_facts(settings)
    route = container_route(facts, settings.relay_port)
    contexts = assets.build_contexts(out_dir)
    if "chainlit" not in contexts:
        notes.append("deploy/ not found (set FLDEPLOY_DEPLOY_DIR): the Chainlit image must already exist")
    spec = stack_spec(settings, facts, route, contexts, assets.host_ca_file())
    return compose_document(spec), facts, route, notes


def run(settings, out: str | None) -> Result:
    from ..stack import files

    out_dir = Path(out or settings.stack_dir)
    doc, facts, route, notes = plan(settings, out_dir)
    written = files.write_stack(out_dir, doc, settings.api_key)
    data = {**written, "services": list(doc["services"]), "foundry_url": facts.url,
            "container_url": route.url, "route": route.reason, "relay": route.relay, "model_id": facts.model_id,
            "notes": notes}
    return Result("render", data)
