"""`fldeploy config`: the effective settings and where each came from (secrets masked)."""
from __future__ import annotations

from ..result import Result


def run(settings) -> Result:
    return Result("config", {"config_file": settings.config_file, "settings": settings.describe()})
