"""`fldeploy doctor --fix`: the fixes that are safe and reversible — free ports saved to fldeploy.yaml, and
`up` for a stack that needs re-rendering (Foundry's new port, the loopback relay, Open WebUI's stored
connection and built-in tools). Each change is reported."""
from __future__ import annotations

import re
from pathlib import Path

from ..core.ports import ROLES
from ..settings import CONFIG_NAME, parse_config
from ..stack import files

STACK_FIXED_BY_UP = ("foundry.bind", "foundry.from_container", "stack.openwebui", "stack.chainlit")


def save_setting(path: Path, key: str, value) -> None:
    """Set key in fldeploy.yaml, keeping every other line (and comment) as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines()
    known = parse_config(text, str(path)) if text.strip() else {}
    if key in known:
        number = known[key][1] - 1
        lines[number] = re.sub(r"^(\s*" + re.escape(key) + r"\s*:).*$", rf"\g<1> {value}", lines[number])
    else:
        lines.append(f"{key}: {value}")
    files.atomic_write(path, "\n".join(lines) + "\n", path.stat().st_mode & 0o777 if path.exists() else 0o644)


def fix_ports(settings, checks: dict) -> list[str]:
    ports = checks.get("ports")
    if not ports or ports["status"] != "fail":
        return []
    config = Path(settings.config_file or CONFIG_NAME)
    changes = []
    for entry in ports["data"]["ports"]:
        setting = ROLES[entry["role"]][0]
        if entry["state"] != "conflict" or not setting or not entry["suggestions"]:
            continue
        source = settings.source(setting)
        if source.startswith(("env:", "flag")):
            changes.append(f"not changed: {setting} comes from {source}; set it to {entry['suggestions'][0]} there")
            continue
        save_setting(config, setting, entry["suggestions"][0])
        changes.append(f"{setting}: {entry['port']} -> {entry['suggestions'][0]} (saved in {config.resolve()})")
    return changes


def fix_stack(settings, checks: dict, progress) -> list[str]:
    broken = [i for i in STACK_FIXED_BY_UP if checks.get(i, {}).get("status") == "fail"]
    if not broken or not (Path(settings.stack_dir) / files.COMPOSE_FILE).exists():
        return []
    from ..errors import FldeployError
    from . import up

    try:
        result = up.run(settings, progress)
    except FldeployError as err:
        return [f"`fldeploy up` for {', '.join(broken)} could not run: {err.message} (fix: {err.fix})"]
    changes = [f"ran `fldeploy up` for {', '.join(broken)}"]
    changes += [f"  {note}" for note in result.data.get("notes", []) if "relay" in note]
    for check in result.data.get("checks", []):
        fixed = check.get("data", {}).get("connection_fixed")
        if fixed:
            changes.append(f"  Open WebUI's stored Foundry URL: {fixed['was']} -> {fixed['now']}")
        if check.get("data", {}).get("builtin_tools_disabled") is True:
            changes.append("  turned Open WebUI's built-in tools off for the model (Foundry rejects tools)")
    return changes
