"""`fldeploy foundry start|stop|status`."""
from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from .common import JsonOpt, ModelOpt, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help="Run Foundry Local embedded (from foundry-local-sdk) where no Foundry service runs, "
                       "e.g. on Linux.")


@app.command()
def start(
    model: ModelOpt = None,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the offline demo model (tiny-llama) through a "
                                       "local catalog stand-in: no internet needed.")] = False,
    port: Annotated[Optional[int], typer.Option("--port", help="Listen port [default: 5273, or the nearest "
                                                "free one]", show_default=False)] = None,
    bind: Annotated[Optional[str], typer.Option("--bind", help="docker (127.0.0.1 + the Docker bridge gateway), "
                                                "loopback, or all [default: docker]", show_default=False)] = None,
    catalog_url: Annotated[Optional[str], typer.Option("--catalog-url", help="Model catalog URL (a private "
                                                       "mirror)", show_default=False)] = None,
    model_cache_dir: Annotated[Optional[str], typer.Option("--model-cache-dir", help="Where models are kept",
                                                           show_default=False)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the model (downloads "
                                           "included)")] = 600.0,
    json: JsonOpt = False,
) -> None:
    """Start Foundry Local in the background, load the model, serve its OpenAI API; idempotent.

    It listens on 127.0.0.1 and on the Docker bridge gateway (so containers reach it as
    host.docker.internal), never on all interfaces unless --bind all.

    Examples: fldeploy foundry start --model phi-4-mini | fldeploy foundry start --demo
    """
    from ..commands import foundry as verb

    flags = {"model": model, "foundry_port": port, "foundry_bind": bind, "catalog_url": catalog_url,
             "model_cache_dir": model_cache_dir}
    execute("foundry start", json, flags, lambda s, p: verb.start(s, demo, timeout, p), wants_progress=True)


@app.command()
def stop(json: JsonOpt = False) -> None:
    """Stop the Foundry that fldeploy started (SIGTERM; it takes a few seconds). Nothing else is touched."""
    from ..commands import foundry as verb

    execute("foundry stop", json, {}, verb.stop, wants_progress=True)


@app.command()
def status(json: JsonOpt = False) -> None:
    """URL, bind addresses, loaded models and pid of the embedded Foundry; exit 1 when it is not running."""
    from ..commands import foundry as verb

    execute("foundry status", json, {}, verb.status)
