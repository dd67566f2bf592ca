"""The support archive of `fldeploy doctor --bundle FILE`: — findings, versions, the rendered stack (secrets
masked), the effective settings, the last log lines of each service and of the embedded Foundry.

The archive never replaces an existing file, and never writes through a symlink: it is written to a new
temp file next to FILE and linked into place (fails if FILE exists, whatever it is). With --force it is
renamed over FILE, which replaces a symlink itself, never what it points to."""
from __future__ import annotations

import errno
import io
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from .. import __version__
from ..adapters.platform import chmod_private
from ..core.redact import mask_data, mask_text
from ..errors import ExitCode, FldeployError
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
    from ..foundry import embedded

    out: dict[str, str] = {}
    out_dir = Path(settings.stack_dir)
    if (out_dir / files.COMPOSE_FILE).exists():
        compose = files.stack_compose(out_dir, settings.project)
        for service in sorted({c.get("Service") for c in compose.ps() if c.get("Service")}):
            done = proc.run(compose.argv("logs", "--no-color", "--tail", str(LOG_LINES), service), 60)
            out[f"logs/{service}.log"] = done.stdout + done.stderr
    log = Path(embedded.paths(settings).log)
    if log.exists():
        out["logs/foundry-embedded.log"] = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_LINES:])
    return out


def _exists(path: str) -> str | None:
    """What is at path (a symlink is reported as one, dangling or not), or None."""
    if os.path.islink(path):
        return f"a symlink to {os.readlink(path)}"
    if os.path.isdir(path):
        return "a folder"
    return "a file" if os.path.lexists(path) else None


def check_target(target: str, force: bool) -> str:
    """The absolute path to write (the last component not resolved: a symlink stays a symlink); refuses an
    existing file or symlink unless force, and always a folder."""
    path = os.path.abspath(target)
    there = _exists(path)
    if there == "a folder":
        raise FldeployError(f"{path} is a folder", "give a file name for the bundle, e.g. support.tar.gz",
                            ExitCode.USAGE, "bundle.target")
    if there and not force:
        raise FldeployError(f"{path} already exists ({there}): the support bundle does not replace it",
                            "choose another file name, or pass --force to replace it (a symlink is replaced "
                            "itself, never what it points to)", ExitCode.USAGE, "bundle.exists")
    if not os.path.isdir(os.path.dirname(path)):
        raise FldeployError(f"the folder of {path} does not exist", "create it or choose another file name",
                            ExitCode.USAGE, "bundle.target")
    return path


def _place(path: str, data: bytes, force: bool) -> None:
    """Write data to a new temp file next to path (O_EXCL: nothing followed), then link it in (refuses an
    existing path of any kind) or, with force, rename it over path (replaces a symlink, not its target)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
    try:
        chmod_private(fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            if os.path.isdir(path) and not os.path.islink(path):
                check_target(path, force)  # raises: a folder is never replaced
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path, follow_symlinks=False)
        except FileExistsError:
            check_target(path, force)  # appeared meanwhile: raises with what is there
            raise
        except OSError as exc:  # a file system without hard links: create exclusively, never through a link
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(out, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def write_bundle(settings, envelope: dict, target: str, force: bool = False) -> dict:
    path = check_target(target, force)
    out_dir = Path(settings.stack_dir)
    env_values = files.read_secrets(out_dir)
    secrets = _secrets(settings, env_values)
    members = {
        "findings.json": json.dumps(envelope, indent=2, default=str),
        "versions.json": json.dumps(_versions(settings, envelope.get("data") or {}), indent=2),
        "settings.json": json.dumps(mask_data(settings.describe()), indent=2, default=str),
    }
    if (out_dir / files.COMPOSE_FILE).exists():
        members["stack/compose.yaml"] = (out_dir / files.COMPOSE_FILE).read_text()
        members["stack/env.masked"] = "\n".join(f"{k}={MASK}" for k in env_values) + "\n"
    members.update(_logs(settings))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in members.items():
            data = mask_text(mask(text, secrets)).encode()  # secrets, then URL credentials
            info = tarfile.TarInfo(f"fldeploy-bundle/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
    _place(path, buffer.getvalue(), force)
    return {"file": path, "members": sorted(members), "masked_secrets": len(secrets)}
