"""Result objects every verb returns, and the versioned JSON envelope built from them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ExitCode, FldeployError

RESULT_VERSION = 1


@dataclass
class Result:
    command: str
    data: Any = None
    status: str = "ok"
    exit_code: ExitCode = ExitCode.OK
    errors: list[dict] = field(default_factory=list)

    @classmethod
    def from_error(cls, command: str, error: FldeployError, data: Any = None) -> "Result":
        return cls(command, data, "error", error.exit_code, [error.as_dict()])

    def envelope(self) -> dict:
        return {
            "fldeploy_result_version": RESULT_VERSION,
            "command": self.command,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "data": self.data,
            "errors": self.errors,
        }
