"""`backup`/`restore` with --target swarm: Open WebUI's PostgreSQL database through pg_dump (custom format,
consistent while Open WebUI runs) and pg_restore (one transaction: a failed restore changes nothing). Open WebUI
is scaled to 0 during a restore and back afterwards; the current data is dumped next to the archive first.
The uploads volume is not in the dump (files; copy that volume with the engine's tools)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..core import swarm_model as model
from ..core import swarm_status
from ..errors import ExitCode, FldeployError
from ..result import Result
from . import swarm_stack
from .volume_backup import writable_target

DUMP = ["pg_dump", "--username", model.DB_USER, "--dbname", model.DB_NAME, "--format", "custom"]
RESTORE = ["pg_restore", "--username", model.DB_USER, "--dbname", model.DB_NAME, "--clean", "--if-exists",
           "--no-owner", "--single-transaction", "--exit-on-error"]
MAGIC = b"PGDMP"  # pg_dump's custom format
TIMEOUT = 1800


def _postgres(settings) -> tuple[str, dict, str]:
    from ..adapters import swarm

    stack, doc = swarm_stack.require(settings)
    found = swarm.containers(model.service_name(stack, "postgres"))
    if not found:
        raise FldeployError(f"PostgreSQL of the swarm stack {stack} is not running on this node",
                            "run `fldeploy up --target swarm`", ExitCode.CHECK_FAILED, "swarm.postgres")
    return stack, doc, str(found[0]["ID"])


def _dump(container: str, path: Path, code: str) -> int:
    from ..adapters import swarm

    ok, error = swarm.exec_to_file(container, DUMP, path, TIMEOUT)
    if not ok:
        raise FldeployError(f"pg_dump failed: {error}", "see `fldeploy logs --target swarm postgres`",
                            ExitCode.CHECK_FAILED, f"{code}.dump")
    return path.stat().st_size


def backup(settings, target: str | None, progress) -> Result:
    stack, _, container = _postgres(settings)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(os.path.abspath(target or f"{settings.volume}-postgres-{stamp}.dump"))
    writable_target(path, "backup")
    progress(f"pg_dump of the swarm stack {stack} to {path}")
    size = _dump(container, path, "backup")
    return Result("backup", {"file": str(path), "bytes": size, "volume": f"{stack} PostgreSQL ({model.DB_NAME})",
                             "target": "swarm", "format": "pg_dump custom"})


def restore(settings, source: str, confirmed: bool, interactive: bool, ask, progress) -> Result:
    from ..adapters import swarm
    from .confirm import confirm

    stack, doc, container = _postgres(settings)
    path = Path(os.path.abspath(source))
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC))
    except OSError:
        raise FldeployError(f"no backup at {path}", "pass a file written by `fldeploy backup --target swarm`",
                            ExitCode.USAGE, "restore.missing") from None
    if head != MAGIC:
        raise FldeployError(f"{path} is not a pg_dump archive (custom format): nothing was changed",
                            "pass a file written by `fldeploy backup --target swarm`", ExitCode.USAGE,
                            "restore.format")
    confirm(confirmed, interactive, ask, "restore", f"restore replaces Open WebUI's database in the swarm stack "
            f"{stack}", f"Replace Open WebUI's database with {path.name}? (the current one is saved first)",
            fix="add --yes to confirm (the current data is saved first)")
    safety = path.with_name(f"{path.stem}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}.dump")
    writable_target(safety, "restore")
    progress(f"saving the current database to {safety}")
    _dump(container, safety, "restore")
    service = model.service_name(stack, "open-webui")
    replicas = int(((doc.get("services") or {}).get("open-webui") or {}).get("deploy", {}).get("replicas", 1))
    progress("stopping Open WebUI (scaled to 0) for the restore")
    swarm.scale(service, 0)
    deadline = time.monotonic() + 120
    while swarm.containers(service) and time.monotonic() < deadline:
        time.sleep(1)
    progress(f"pg_restore from {path.name} (one transaction)")
    ok, error = swarm.exec_from_file(container, RESTORE, path, TIMEOUT)
    swarm.scale(service, replicas)
    if not ok:
        raise FldeployError(f"pg_restore failed, the database is unchanged: {error}",
                            f"the current data is also saved in {safety}", ExitCode.CHECK_FAILED, "restore.pg_restore")
    progress(f"Open WebUI back to {replicas} replica(s)")
    deadline = time.monotonic() + settings.wait_timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = swarm_status.service_rows(stack, swarm.stack_services(stack), doc)
        if swarm_status.converged(rows):
            break
        time.sleep(2)
    else:
        raise FldeployError(f"restored, but Open WebUI did not come back to {replicas} replica(s) in "
                            f"{settings.wait_timeout:.0f}s", "see `fldeploy logs --target swarm open-webui`",
                            ExitCode.TIMEOUT, "restore.restart")
    return Result("restore", {"file": str(path), "volume": f"{stack} PostgreSQL ({model.DB_NAME})",
                              "saved_previous": str(safety), "target": "swarm", "replicas": replicas})
