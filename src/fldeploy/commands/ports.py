"""`fldeploy ports`: who holds each port the stack needs, conflicts and free alternatives."""
from __future__ import annotations

from ..errors import ExitCode
from ..result import Result
from ..services.ports_scan import scan


def run(settings, extra: list[int]) -> Result:
    statuses, notes = scan(settings, extra)
    conflict = any(s.state == "conflict" for s in statuses)
    data = {"ports": [s.as_dict() for s in statuses], "notes": notes}
    if conflict:
        errors = [{"code": "ports.conflict", "message": s.cause, "hint": s.fix}
                  for s in statuses if s.state == "conflict"]
        return Result("ports", data, "fail", ExitCode.PORT_CONFLICT, errors)
    return Result("ports", data)
