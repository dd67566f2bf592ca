"""`fldeploy config`: the effective settings and where each came from (secrets masked, and the credentials a
URL may carry: user-info and token-like query values)."""
from __future__ import annotations

from ..core.redact import mask_data
from ..result import Result


def run(settings) -> Result:
    rows = [{**row, "value": mask_data(row["value"])} for row in settings.describe()]
    return Result("config", {"config_file": settings.config_file, "settings": rows})
