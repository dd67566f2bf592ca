"""Shared CLI plumbing: options every verb takes, and the one place a verb's Result is handed to output."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import typer
from typing_extensions import Annotated

from ..result import Result

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON envelope (for scripts) instead of text.")]
FoundryUrlOpt = Annotated[Optional[List[str]], typer.Option(
    "--foundry-url", help="Foundry Local base URL, e.g. http://127.0.0.1:5273 (skips discovery) "
    "[env: FLDEPLOY_FOUNDRY_URL, BASE_URL]. Repeat it for several Foundry hosts, each optionally named: "
    "--foundry-url lab=http://10.0.0.5:5273 --foundry-url http://10.0.0.6:5273 [env: FLDEPLOY_FOUNDRY_URLS]",
    show_default=False)]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="Model alias or id [env: FLDEPLOY_MODEL, MODEL]", show_default=False)]
OpenWebUIPortOpt = Annotated[Optional[int], typer.Option(
    "--openwebui-port", help="Host port of Open WebUI [default: 3000]", show_default=False)]
WebgpuDemoPortOpt = Annotated[Optional[int], typer.Option(
    "--webgpu-demo-port", help="Host port of the in-browser demo [default: 8090]", show_default=False)]
ChainlitPortOpt = Annotated[Optional[int], typer.Option(
    "--chainlit-port", help="Host port of the Chainlit app [default: 8080]", show_default=False)]

TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", help="compose (one host), swarm (Docker Swarm) or kubernetes (render only) [default: compose; "
    "env: FLDEPLOY_TARGET]", show_default=False)]
ReplicasOpt = Annotated[Optional[int], typer.Option(
    "--replicas", help="Open WebUI replicas for --target swarm/kubernetes [default: 1]", show_default=False)]


def foundry_flags(urls: Optional[List[str]]) -> dict:
    """--foundry-url once, unnamed: the one-Foundry setting foundry_url, exactly as before; repeated or named
    (name=URL): several hosts, the foundry_urls setting."""
    if not urls:
        return {"foundry_url": None}
    if len(urls) == 1 and "=" not in urls[0]:
        return {"foundry_url": urls[0]}
    return {"foundry_urls": list(urls)}


def execute(command: str, as_json: bool, flags: dict[str, Any],
            action: Callable[..., Result], wants_progress: bool = False, view: str | None = None) -> None:
    """Load settings (flags win), run the verb, print its Result, exit with its code."""
    from ..invoke import invoke

    raise typer.Exit(invoke(command, as_json, flags, action, wants_progress, view))
