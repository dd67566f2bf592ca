"""The fixes of `fldeploy doctor --fix`, safe and reversible, each named by the checks it fixes (the registry's
`fixed_by`): free ports saved to fldeploy.yaml, and the deploy service for a stack that needs re-rendering
(Foundry's new port, the loopback relay, Open WebUI's stored connection and built-in tools). Each change is
reported."""
from __future__ import annotations

import re
from pathlib import Path

from ..core.ports import ROLES
from ..settings import CONFIG_NAME, parse_config
from ..stack import files



def _failing(checks: dict, fixed_by: str) -> list[str]:
    from ..checks.registry import CHECKS

    return [c.id for c in CHECKS if c.fixed_by == fixed_by and checks.get(c.id, {}).get("status") == "fail"]


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
    failing = _failing(checks, "ports")
    if not failing:
        return []
    ports = checks[failing[0]]
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
    broken = _failing(checks, "deploy")
    if not broken or not (Path(settings.stack_dir) / files.COMPOSE_FILE).exists():
        return []
    from ..errors import FldeployError
    from .deploy import deploy

    try:
        done = deploy(settings, progress)
    except FldeployError as err:
        return [f"`fldeploy up` for {', '.join(broken)} could not run: {err.message} (fix: {err.fix})"]
    changes = [f"ran `fldeploy up` for {', '.join(broken)}"]
    changes += [f"  {note}" for note in done.notes if "relay" in note]
    for check in done.checks:
        fixed = check.data.get("connection_fixed")
        if fixed:
            changes.append(f"  Open WebUI's stored Foundry URL: {fixed['was']} -> {fixed['now']}")
        if check.data.get("builtin_tools_disabled") is True:
            changes.append("  turned Open WebUI's built-in tools off for the model (Foundry rejects tools)")
    return changes
