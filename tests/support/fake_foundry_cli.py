"""A fake `foundry` executable: Foundry Local's Windows/macOS CLI cannot run here. It reproduces only what is
documented of its two generations, and nothing fldeploy does not read or tell users to type.

The earlier, service-based CLI (winget Microsoft.FoundryLocal, brew foundrylocal):
- verbs: `foundry service start|stop|restart|status|ps|logs`, `foundry model run|list|info|download|load|unload`
  (microsoft/Foundry-Local docs/reference/reference-cli.md at 05a7ba75; learn.microsoft.com/azure/foundry-local/
  reference/reference-cli before the 0.10 preview). `foundry service status` is how its dynamic port is found
  (microsoft/Foundry-Local commit 9515b229, README: "run `foundry service status` to discover the current
  endpoint"), printing `🟢 Model management service is running on http://127.0.0.1:51995/openai/status` or
  `🔴 Model management service is not running!` (the lines public samples parse, e.g. docs.rs crate
  foundry-local 0.1.0 src/service.rs). It has no `server` group.
- The SDK-based CLI 0.10 (github.com/microsoft/Foundry-Local/releases/tag/cli-preview-0.10.0: "replacing the
  earlier service-based CLI"; also for Linux): `foundry server start|stop|restart|status`, `foundry model
  list|info|download|load|unload`, `foundry run|chat|complete`, `foundry report` (Learn "Foundry Local CLI
  reference", current preview; `model run` became `foundry run`: microsoft/Foundry-Local commit dd2e7bce).
  `foundry server status -o json` prints {"running": ..., "state": ..., "webUrls": [...]}: the shape read by
  public samples (pta19059/teamviewer-hitl-agent-foundry-local tests/test_foundry_local.py, which also records
  `{"running": false, "state": "not_running", "webUrls": [<url>]}` — a URL printed while not running). `model
  load` needs the model downloaded first (public 0.10 samples run `model download` before it).

Modes: old-running, old-stopped, new (0.10, running), new-stopped (`running: false` with the last URL still
printed), hang (never answers), garbage (prints something else). delay: seconds every command takes before it
answers: a slow CLI (public samples wait 15-30 s for `foundry server status`, 60 s for `server start`).
"""
from __future__ import annotations

import pathlib
import shlex
import stat
import subprocess
import sys

MODES = ("old-running", "old-stopped", "new", "new-stopped", "hang", "garbage")

SCRIPT = '''#!{python}
import json, sys, time
mode, url, delay = {mode!r}, {url!r}, {delay!r}
if mode == "hang":
    time.sleep(30)
time.sleep(delay)
if mode == "garbage":
    print("Something unexpected happened. Please try again.")
    sys.exit(0)
args = sys.argv[1:]
new = mode.startswith("new")
running = mode in ("new", "old-running")
group = "server" if new else "service"
verbs = {{"server": {{"start", "stop", "restart", "status"}},
         "service": {{"start", "stop", "restart", "status", "ps", "logs"}},
         "model": {{"list", "info", "download", "load", "unload"}} | (set() if new else {{"run"}})}}
top = {{"run", "chat", "complete", "report", "cache", "config", "status"}} if new else {{"cache", "zip-logs"}}
known = (args[:1] and args[0] in top) or (len(args) > 1 and args[0] in (group, "model") and args[1] in verbs[args[0]])
if not known:
    unknown = args[1] if len(args) > 1 and args[0] in (group, "model") else (args[0] if args else "")
    print(f"Unrecognized command or argument '{{unknown}}'.", file=sys.stderr)
    sys.exit(1)
if args[:2] == ["server", "status"]:
    state = "ready" if running else "not_running"
    if "-o" in args or "--output" in args:
        print(json.dumps({{"running": running, "state": state, "webUrls": [url]}}))
    else:
        print(f"Server  {{'Ready' if running else 'Not running'}}\\nWeb URLs  {{url}}")
elif args[:2] == ["service", "status"]:
    print(f"🟢 Model management service is running on {{url}}/openai/status" if running
          else "🔴 Model management service is not running!")
else:
    print("ok")
'''


def install(bin_dir: pathlib.Path, mode: str, url: str = "http://127.0.0.1:5273", delay: float = 0.0) -> pathlib.Path:
    assert mode in MODES
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "foundry"
    path.write_text(SCRIPT.format(python=sys.executable, mode=mode, url=url, delay=delay), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def generation(mode: str) -> str:
    """The CLI generation a mode stands for: server (0.10+) or service (earlier)."""
    return "server" if mode.startswith("new") else "service"


def answers(path: pathlib.Path, command: str) -> bool:
    """Does this fake CLI accept `foundry ...` (as typed in a fix text)?"""
    argv = shlex.split(command)
    assert argv[0] == "foundry"
    return subprocess.run([str(path), *argv[1:]], capture_output=True, timeout=30).returncode == 0

