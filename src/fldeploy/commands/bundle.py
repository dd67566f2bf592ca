"""`fldeploy doctor --bundle FILE`: a support archive — findings, versions, the rendered stack (secrets
masked), the effective settings, the last log lines of each service and of the embedded Foundry."""
from __future__ import annotations

import io
import json
import platform
import sys
import tarfile
import time
from pathlib import Path

from .. import __version__
from ..settings import MASK
from ..stack import files

LOG_LINES = 200


def _secrets(settings, env_values: dict[str, str]) -> list[str]:
    values = [v for v in env_values.values() if v and len(v) >= 4]
    if settings.api_key and not settings.is_default("api_key"):
        values.append(settings.api_key)
    return sorted(set(values), key=len, reverse=True)  # longest first: no partial leftovers


def mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _versions(settings, doctor_data: dict) -> dict:
    from importlib import metadata

    checks = {c["id"]: c for c in doctor_data.get("checks", [])}
    sdk = None
    try:
        sdk = metadata.version("foundry-local-sdk")
    except metadata.PackageNotFoundError:
        pass
    return {"fldeploy": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "docker": checks.get("docker.engine", {}).get("data", {}).get("version"),
            "compose": checks.get("docker.compose", {}).get("data", {}).get("version"),
            "foundry_local_sdk": sdk, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _logs(settings) -> dict[str, str]:
    from ..adapters import proc
    from ..adapters.compose import Compose
    from ..foundry import embedded

    out: dict[str, str] = {}
    out_dir = Path(settings.stack_dir)
    if (out_dir / files.COMPOSE_FILE).exists():
        compose = Compose(out_dir, settings.project)
        for service in sorted({c.get("Service") for c in compose.ps() if c.get("Service")}):
            done = proc.run(compose.argv("logs", "--no-color", "--tail", str(LOG_LINES), service), 60)
            out[f"logs/{service}.log"] = done.stdout + done.stderr
    log = Path(embedded.paths(settings).log)
    if log.exists():
        out["logs/foundry-embedded.log"] = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_LINES:])
    return out


def write_bundle(settings, envelope: dict, target: str) -> dict:
    out_dir = Path(settings.stack_dir)
    env_values = files.read_secrets(out_dir)
    secrets = _secrets(settings, env_values)
    members = {
        "findings.json": json.dumps(envelope, indent=2, default=str),
        "versions.json": json.dumps(_versions(settings, envelope.get("data") or {}), indent=2),
        "settings.json": json.dumps(settings.describe(), indent=2, default=str),
    }
    if (out_dir / files.COMPOSE_FILE).exists():
        members["stack/compose.yaml"] = (out_dir / files.COMPOSE_FILE).read_text()
        members["stack/env.masked"] = "\n".join(f"{k}={MASK}" for k in env_values) + "\n"
    members.update(_logs(settings))
    path = Path(target).resolve()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in members.items():
            data = mask(text, secrets).encode()
            info = tarfile.TarInfo(f"fldeploy-bundle/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
    files.atomic_write_bytes(path, buffer.getvalue(), 0o600)
    return {"file": str(path), "members": sorted(members), "masked_secrets": len(secrets)}
