"""The stack planned for the Foundry found now: the Compose document, how containers reach Foundry, notes."""
from __future__ import annotations

from pathlib import Path

from ..core.compose_model import compose_document
from ..core.stack_plan import FoundryFacts, Route, container_route, stack_spec
from .foundry_facts import foundry_facts


def plan(settings, out_dir: Path, facts: FoundryFacts | None = None) -> tuple[dict, FoundryFacts, Route, list[str]]:
    from ..core.foundry_hosts import hosts_of
    from ..stack import assets

    if hosts_of(settings):  # several Foundry hosts: one Open WebUI connection each, or the balancer
        from .foundry_hosts import plan as plan_hosts

        return plan_hosts(settings, out_dir, facts)
    notes: list[str] = []
    if facts is None:
        facts, notes = foundry_facts(settings)
    route = container_route(facts, settings.relay_port)
    contexts = assets.build_contexts(out_dir)
    if "chainlit" not in contexts:
        notes.append("deploy/ not found (set FLDEPLOY_DEPLOY_DIR): the Chainlit image must already exist")
    spec = stack_spec(settings, facts, route, contexts, assets.host_ca_file())
    return compose_document(spec), facts, route, notes
