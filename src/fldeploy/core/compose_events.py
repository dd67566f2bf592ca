"""Compose's plain progress lines, read as per-service events (pure): what `up` shows on a terminal."""
from __future__ import annotations

import re
from dataclasses import dataclass

# what Compose prints for a container, in the order a service goes through them
CONTAINER_STATES = ("Recreate", "Recreated", "Creating", "Created", "Starting", "Started", "Running", "Waiting",
                    "Healthy", "Stopping", "Stopped", "Removing", "Removed", "Error", "Exited", "Unhealthy")
_CONTAINER = re.compile(r"^\s*Container (\S+)\s+(" + "|".join(CONTAINER_STATES) + r")\b")
_BUILD_STEP = re.compile(r"^#\d+ \[([a-z0-9][a-z0-9_.-]*)[ \]]")
_SERVICE_STATE = re.compile(r"^\s*(?:Image |Service )?(\S+)\s+(Built|Building|Pulling|Pulled|Skipped)\b")


@dataclass(frozen=True)
class ServiceEvent:
    service: str
    state: str  # lower case: building, built, pulling, creating, started, waiting, healthy, error, …


def service_of(container: str, project: str) -> str:
    """<project>-<service>-<n> (Compose v2's container name) -> service."""
    name = container.removeprefix(f"{project}-")
    head, _, number = name.rpartition("-")
    return head if number.isdigit() and head else name


def parse(line: str, project: str) -> ServiceEvent | None:
    """One Compose progress line -> the event it tells of, or None (build output, networks, warnings)."""
    found = _CONTAINER.match(line)
    if found:
        return ServiceEvent(service_of(found.group(1), project), found.group(2).lower())
    found = _BUILD_STEP.match(line)
    if found and found.group(1) != "internal":
        return ServiceEvent(found.group(1), "building")
    found = _SERVICE_STATE.match(line)
    if found and not line.lstrip().startswith(("Network ", "Volume ")):
        return ServiceEvent(found.group(1), found.group(2).lower())
    return None

