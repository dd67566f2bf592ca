"""The rendered stack, read back by one reader: its folder, Compose project, services and the Foundry URL its
containers use (as Compose reads it: `$$` is a literal `$`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExitCode, FldeployError


@dataclass(frozen=True)
class RenderedStack:
    dir: Path
    services: dict = field(default_factory=dict)
    foundry_url: str | None = None  # as containers use it
    model_id: str | None = None
    relay: bool = False
    project: str | None = None  # the Compose project it was rendered for (its `name:`)
    hosts: tuple = ()  # several Foundry hosts: ({"name", "url", "container_url", "relay"}, ...) as rendered
    balance: bool = False  # their chats spread by the balancer


def _env(service: dict | None, name: str) -> str | None:
    value = ((service or {}).get("environment") or {}).get(name)
    return value.replace("$$", "$") if isinstance(value, str) else None


def read(out_dir: Path) -> RenderedStack | None:
    """The stack rendered in out_dir, or None when there is none; a file broken by hand is a config error."""
    from ..stack import files

    if not (out_dir / files.COMPOSE_FILE).exists():
        return None
    doc = files.read_document(out_dir)
    services = doc.get("services") or {}
    owui, chainlit = services.get("open-webui"), services.get("chainlit")
    from ..core.compose_hosts import read_hosts

    hosts, balance = read_hosts(doc)
    relay = "foundry-relay" in services or any(h.get("relay") for h in hosts)
    first = hosts[0]["container_url"] if hosts else None
    return RenderedStack(out_dir, services, _env(owui, "OPENAI_API_BASE_URL") or _env(chainlit, "BASE_URL") or first,
                         _env(chainlit, "MODEL"), relay, files.project_of(doc, ""), hosts, balance)


def with_rendered_hosts(settings):
    """The settings, or, when they name no Foundry, the hosts (and balance) the stack in stack_dir was rendered
    for: a plain `fldeploy up`, `doctor` or `doctor --fix` on a stack made with several --foundry-url keeps those
    hosts instead of discovering one Foundry; --foundry-url (or foundry_url/foundry_urls) changes them."""
    from ..core.foundry_hosts import hosts_of

    if hosts_of(settings) or getattr(settings, "foundry_url", None):
        return settings
    try:
        rendered = read(Path(settings.stack_dir))
    except FldeployError:
        return settings
    items = [f"{h['name']}={h['url']}" for h in (rendered.hosts if rendered else ())
             if isinstance(h, dict) and isinstance(h.get("url"), str)]
    if not items:
        return settings
    balance = {"balance": bool(rendered and rendered.balance)} if settings.is_default("balance") else {}
    return settings.but(foundry_urls=",".join(items), **balance)


def require(settings) -> RenderedStack:
    rendered = read(Path(settings.stack_dir))
    if rendered is None:
        raise FldeployError(f"no stack in {settings.stack_dir}", "run `fldeploy up` (or `fldeploy render`) first",
                            ExitCode.CHECK_FAILED, "stack.missing")
    return rendered


def compose_of(rendered: RenderedStack, default_project: str):
    """Compose for this rendered stack, under the project recorded in it (a stack beside it is never seen)."""
    from ..adapters.compose import Compose

    return Compose(rendered.dir, rendered.project or default_project)


def stack_compose(settings):
    """Compose for the stack in stack_dir, under the project recorded there."""
    return compose_of(require(settings), settings.project)
