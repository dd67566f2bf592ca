"""The one error type for expected failures, and the documented exit codes."""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    CONFIG = 3
    PORT_CONFLICT = 4
    UNREACHABLE = 5
    TIMEOUT = 6
    INTERRUPTED = 130


class FldeployError(Exception):
    """An expected failure: shown to the user as message + fix, never as a traceback."""

    def __init__(self, message: str, fix: str = "", exit_code: ExitCode = ExitCode.CHECK_FAILED,
                 code: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.exit_code = ExitCode(exit_code)
        self.code = code

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "hint": self.fix}


class ConfigError(FldeployError):
    def __init__(self, message: str, fix: str = "", code: str = "config") -> None:
        super().__init__(message, fix, ExitCode.CONFIG, code)
