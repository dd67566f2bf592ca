"""The typer app: one small function per verb. Parses flags, calls the verb, hands its Result to output."""
from __future__ import annotations

import sys
from typing import List, Optional

import typer
from typing_extensions import Annotated

from .common import (ChainlitPortOpt, FoundryUrlOpt, JsonOpt, ModelOpt, OpenWebUIPortOpt, WebgpuDemoPortOpt,
                     execute, foundry_flags)
from .foundry import app as foundry_app
from .stack import register as register_stack_verbs

EPILOG = ("Exit codes: 0 ok, 1 check failed, 2 usage, 3 config, 4 port conflict, 5 dependency unreachable, "
          "6 health/wait timeout, 130 interrupted. Settings: flag > FLDEPLOY_* env > fldeploy.yaml > default "
          "(see 'fldeploy config').")

app = typer.Typer(
    name="fldeploy", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    pretty_exceptions_enable=False, epilog=EPILOG,
    help="Put Open WebUI and a Chainlit app on Microsoft Foundry Local, in Docker, and explain every failure.\n\n"
         "Start with 'fldeploy doctor': it finds Foundry, checks Docker and the ports, and prints a fix for "
         "anything wrong.",
)
app.add_typer(foundry_app, name="foundry")
register_stack_verbs(app)


@app.command()
def doctor(
    deep: Annotated[bool, typer.Option("--deep", help="Also send a 1-token chat completion to the model.")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe, reversible fixes (free ports saved to "
                                      "fldeploy.yaml; `up` for a stack that needs it), then check again.")] = False,
    bundle: Annotated[Optional[str], typer.Option("--bundle", help="Also write a support archive (findings, "
                                                  "versions, stack with secrets masked, logs) to this file.",
                                                  show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="With --bundle: replace an existing file (a symlink is "
                                        "replaced itself, never what it points to).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show how long each check took.")] = False,
    foundry_url: FoundryUrlOpt = None, model: ModelOpt = None,
    openwebui_port: OpenWebUIPortOpt = None, chainlit_port: ChainlitPortOpt = None, json: JsonOpt = False,
) -> None:
    """Check Foundry Local, Docker, Compose and the ports; each finding with its cause, fix and runbook.

    Exit 1 when any check fails. Checks run at once, each bounded by check_timeout, so a hung Foundry or
    a dead Docker socket cannot make doctor slow.

    Examples: fldeploy doctor --deep | fldeploy doctor --fix | fldeploy doctor --bundle support.tar.gz
    """
    from ..commands import doctor as verb

    flags = {**foundry_flags(foundry_url), "model": model, "openwebui_port": openwebui_port,
             "chainlit_port": chainlit_port}
    execute("doctor", json, flags, lambda s, p: verb.run(s, deep, fix, bundle, p, force, verbose),
            wants_progress=True)


@app.command()
def ports(
    extra: Annotated[Optional[List[int]], typer.Argument(help="More ports to inspect (1-65535).", min=1, max=65535,
                                                         show_default=False)] = None,
    foundry_url: FoundryUrlOpt = None, openwebui_port: OpenWebUIPortOpt = None,
    chainlit_port: ChainlitPortOpt = None, webgpu_demo_port: WebgpuDemoPortOpt = None, json: JsonOpt = False,
) -> None:
    """Who holds each port the stack needs (pid, process, user, bind addresses, container); exit 4 on a conflict.

    For a conflict it names the nearest free ports and the flag or setting that uses one.

    Example: fldeploy ports 5000 --openwebui-port 3001
    """
    from ..commands import ports as verb

    flags = {**foundry_flags(foundry_url), "openwebui_port": openwebui_port, "chainlit_port": chainlit_port,
             "webgpu_demo_port": webgpu_demo_port}
    execute("ports", json, flags, lambda s: verb.run(s, list(extra or [])))


@app.command()
def config(json: JsonOpt = False) -> None:
    """Show the effective settings and where each comes from (flag, env, fldeploy.yaml, default).

    Secrets are masked. A malformed fldeploy.yaml or an unknown key exits 3, naming file, key and line.
    """
    from ..commands import config as verb

    execute("config", json, {}, verb.run)


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        typer.echo(f"fldeploy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    pass


def main() -> None:
    """Entry point: usage errors exit 2 (as a JSON envelope with --json), never with a traceback."""
    try:
        code = app(prog_name="fldeploy", standalone_mode=False)
    except typer.Abort:
        code = 130
    except typer.TyperException as err:  # typer's (vendored click) usage errors
        code = getattr(err, "exit_code", 2)
        _usage_error(err, code)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(err, code: int) -> None:
    if "--json" not in sys.argv:
        err.show()
        return
    import json as _json

    from ..errors import ExitCode, FldeployError
    from ..result import Result

    ctx = getattr(err, "ctx", None)
    command = ctx.command_path.partition(" ")[2] if ctx else ""
    result = Result.from_error(command or "fldeploy",
                               FldeployError(err.format_message(), "see --help", ExitCode(code), "usage"))
    sys.stdout.write(_json.dumps(result.envelope(), indent=2) + "\n")
