"""A fake `foundry` executable: the Windows/macOS Foundry Local CLI cannot run on Linux.

It reproduces only the documented output that fldeploy parses:
- older CLI, `foundry service status` (Foundry Local docs, "foundry service" reference):
  `🟢 Model management service is running on http://127.0.0.1:5273/openai/status`
  or `🔴 Model management service is not running!`; the older CLI has no `server` command group.
- newer CLI, `foundry server status -o json`: a JSON object whose `webUrls` lists the service URLs
  (as consumed by Foundry Local samples: `status["webUrls"][0]`).
Modes "hang" and "garbage" stand for a CLI that never answers or prints something else.
"""
from __future__ import annotations

import json
import pathlib
import stat

MODES = ("old-running", "old-stopped", "new", "hang", "garbage")


def install(bin_dir: pathlib.Path, mode: str, url: str = "http://127.0.0.1:5273") -> pathlib.Path:
    assert mode in MODES
    bin_dir.mkdir(parents=True, exist_ok=True)
    new_json = json.dumps({"running": True, "webUrls": [url], "pid": 4242})
    script = f"""#!/bin/sh
mode={mode}
case "$mode $1 $2" in
  "hang "*) exec sleep 30 ;;
  "garbage "*) echo "Something unexpected happened. Please try again."; exit 0 ;;
  "new server status") echo '{new_json}'; exit 0 ;;
  "old-"*" server "*) echo "Unrecognized command or argument 'server'." >&2; exit 1 ;;
  "old-running service status") echo "🟢 Model management service is running on {url}/openai/status"; exit 0 ;;
  "old-stopped service status") echo "🔴 Model management service is not running!"; exit 0 ;;
esac
echo "usage: foundry [command]" >&2; exit 1
"""
    path = bin_dir / "foundry"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path
