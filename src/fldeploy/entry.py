"""Console entry point. `fldeploy ports` with plain arguments takes a lean path that skips typer's start-up
(~150 ms of imports and per-parameter coercion set-up), so it stays as fast as `lsof`; every other command
line goes through the typer app, which stays the single definition of the CLI."""
from __future__ import annotations

import os
import sys

# flag -> setting, for the arguments the lean path understands; anything else falls back to typer
PORTS_FLAGS = {"--openwebui-port": "openwebui_port", "--chainlit-port": "chainlit_port",
               "--webgpu-demo-port": "webgpu_demo_port", "--foundry-url": "foundry_url"}


def parse_ports_args(args: list[str]) -> tuple[dict, list[int], bool] | None:
    """(flags, extra ports, json) for a plain `ports` command line, or None when typer should parse it (and
    report anything invalid, e.g. a port outside 1-65535, as the usage error it is)."""
    flags: dict = {}
    extra: list[int] = []
    as_json = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--json":
            as_json = True
        elif arg in PORTS_FLAGS and i + 1 < len(args):
            flags[PORTS_FLAGS[arg]] = args[i + 1]
            i += 1
        elif arg.isascii() and arg.isdigit() and 1 <= int(arg) <= 65535:
            extra.append(int(arg))
        else:
            return None
        i += 1
    return flags, extra, as_json


def _lean_ports(args: list[str]) -> int | None:
    parsed = parse_ports_args(args)
    if parsed is None:
        return None
    flags, extra, as_json = parsed
    from . import output, settings
    from .commands import ports
    from .errors import FldeployError
    from .result import Result

    try:
        result = ports.run(settings.load(flags), extra)
    except FldeployError as err:
        result = Result.from_error("ports", err)
    output.emit(result, as_json)
    return int(result.exit_code)


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # a redirected Windows console is cp1252: replace, never crash
        if (getattr(stream, "encoding", None) or "").lower().replace("-", "") != "utf8":
            from .adapters import platform

            platform.console_safe(stream)
    args = sys.argv[1:]
    if args[:1] == ["ports"] and not os.environ.get("FLDEPLOY_NO_LEAN_PATH"):
        code = _lean_ports(args[1:])
        if code is not None:
            sys.exit(code)
    from .cli import main as typer_main

    typer_main()
