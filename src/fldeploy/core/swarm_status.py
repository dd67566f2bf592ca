"""A Swarm stack as Swarm reports it, judged: replicas running/desired per service, convergence, and whether
Open WebUI must migrate with one replica first. Pure."""
from __future__ import annotations

import re

from .swarm_model import service_name

_REPLICAS = re.compile(r"(\d+)/(\d+)")


def replicas_of(text: str) -> tuple[int, int]:
    """'2/2' or '1/2 (max 1 per node)' -> (running, desired); unknown -> (0, 0)."""
    found = _REPLICAS.match(text.strip())
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def service_rows(stack: str, listed: list[dict], document: dict) -> list[dict]:
    """One row per service of the stack file: replicas running/desired as Swarm counts them (a task with a
    healthcheck counts once healthy), the URL where published, the image."""
    by_name = {row.get("Name"): row for row in listed}
    gateway_ports = ((document.get("x-fldeploy") or {}).get("published") or {})
    published = {name: port for name, port in gateway_ports.items()}
    rows = []
    for name, svc in (document.get("services") or {}).items():
        row = by_name.get(service_name(stack, name))
        running, desired = replicas_of(row.get("Replicas", "")) if row else (0, 0)
        port = published.get(name)
        mode = (svc.get("deploy") or {}).get("mode", "replicated")
        rows.append({"service": name, "running": running, "desired": desired, "mode": mode,
                     "state": "absent" if row is None else ("running" if desired and running >= desired
                                                            else "converging"),
                     "url": f"http://127.0.0.1:{port}" if port else None,
                     "image": (row or {}).get("Image") or svc.get("image")})
    return rows


def converged(rows: list[dict]) -> bool:
    return bool(rows) and all(r["state"] == "running" for r in rows)


def needs_migration_phase(current: dict | None, wanted_image: str, image_id_now: str | None,
                          image_id_running: str | None) -> bool:
    """One replica migrates first unless Open WebUI already runs scaled on this very image: a first deploy, another
    image (an upgrade brings migrations), a rebuilt local image, or a stack left in its first phase."""
    if current is None:
        return True
    if (current.get("env") or {}).get("ENABLE_DB_MIGRATIONS") != "false":
        return True
    if current.get("image") != wanted_image:
        return True
    return bool(image_id_now and image_id_running and image_id_now != image_id_running)
