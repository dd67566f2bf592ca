"""`fldeploy foundry start|stop|status|expose|unexpose`."""
from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from .common import JsonOpt, ModelOpt, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help="Run Foundry Local embedded (from foundry-local-sdk) where no Foundry service runs, "
                       "e.g. on Linux; expose a Foundry to other machines behind a proxy that wants a key.")


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


@app.command()
def expose(
    address: Annotated[Optional[str], typer.Option("--address", help="IP address to listen on: the one other "
                                                   "machines reach this one at (0.0.0.0: every interface) "
                                                   "[default: the last one given]", show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port to listen on [default: 5280, or the last one "
                                                "given]", show_default=False)] = None,
    show_key: Annotated[bool, typer.Option("--show-key", help="Print the key (otherwise only where it is kept)."
                                           )] = False,
    new_key: Annotated[bool, typer.Option("--new-key", help="Replace the key (front ends need the new one).")] = False,
    key_file: Annotated[Optional[str], typer.Option("--key-file", help="Use the key in this file (the bare key, or "
                                                    "another Foundry machine's expose .env): several exposed hosts "
                                                    "then share the front end's one api_key.", show_default=False
                                                    )] = None,
    json: JsonOpt = False,
) -> None:
    """Expose this machine's Foundry to other machines: nginx (in a container) on ADDRESS:PORT forwards the
    OpenAI API under /v1/ to Foundry, only with the key it generated (Authorization: Bearer KEY); /shutdown,
    model load/unload and everything else never reach Foundry. Idempotent; the key is made once (mode 0600).

    On the front-end machine: --foundry-url http://ADDRESS:PORT and api_key = the key. Several Foundry
    machines behind one front end share one key: expose the second with --key-file (a copy of the first's key).

    Examples: fldeploy foundry expose --address 192.168.1.20 | fldeploy foundry expose --show-key |
    fldeploy foundry expose --address 192.168.1.21 --key-file lab.key
    """
    from ..commands import foundry as verb

    execute("foundry expose", json, {},
            lambda s, p: verb.expose(s, address, port, show_key, new_key, p, key_file),
            wants_progress=True)


@app.command()
def unexpose(json: JsonOpt = False) -> None:
    """Stop the proxy of `fldeploy foundry expose` (the key is kept for the next expose)."""
    from ..commands import foundry as verb

    execute("foundry unexpose", json, {}, verb.unexpose)
