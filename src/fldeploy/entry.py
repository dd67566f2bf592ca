"""Console entry point. `fldeploy ports` with plain arguments, and `fldeploy up` / `fldeploy doctor` with none
but --json, take a lean path that skips typer's start-up (~150 ms of imports and per-parameter coercion set-up): ports stays as
fast as `lsof`, and an up with nothing to change costs little more than Compose's own. Every other command
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
    from .commands import ports
    from .invoke import invoke

    return invoke("ports", as_json, flags, lambda s: ports.run(s, extra))


def _lean_up(args: list[str]) -> int | None:
    """`fldeploy up` and `fldeploy up --json`, the everyday forms, without typer (~100 ms of its start-up and
    argument coercion); any flag goes through typer."""
    if args not in ([], ["--json"]):
        return None
    from .commands import up
    from .invoke import invoke

    return invoke("up", bool(args), {}, lambda s, p: up.run(s, p), wants_progress=True)


def _lean_doctor(args: list[str]) -> int | None:
    """`fldeploy doctor` and `fldeploy doctor --json` without typer; any other flag goes through typer."""
    if args not in ([], ["--json"]):
        return None
    from .commands import doctor
    from .invoke import invoke

    return invoke("doctor", bool(args), {}, lambda s, p: doctor.run(s, False, False, None, p, False, False),
                  wants_progress=True)


LEAN_PATHS = {"ports": _lean_ports, "up": _lean_up, "doctor": _lean_doctor}


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # a redirected Windows console is cp1252: replace, never crash
        if (getattr(stream, "encoding", None) or "").lower().replace("-", "") != "utf8":
            from .adapters import platform

            platform.console_safe(stream)
    args = sys.argv[1:]
    lean = LEAN_PATHS.get(args[0]) if args and not os.environ.get("FLDEPLOY_NO_LEAN_PATH") else None
    if lean is not None:
        code = lean(args[1:])
        if code is not None:
            sys.exit(code)
    from .cli import main as typer_main

    typer_main()
