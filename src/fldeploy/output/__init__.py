"""The only place that prints: a Result as human text or as the JSON envelope, and progress on waits."""
from __future__ import annotations

import json
import sys
import time

from ..result import Result


def emit(result: Result, as_json: bool, view: str | None = None) -> None:
    """view: an alternative human rendering of the same result (e.g. 'status env')."""
    if as_json:
        sys.stdout.write(json.dumps(result.envelope(), indent=2, default=str) + "\n")
        return
    from .human import render

    text = render(result, view)
    if text:
        sys.stdout.write(text.rstrip("\n") + "\n")
    for err in result.errors:
        if result.command == "doctor":
            break  # doctor already shows every failure with its fix
        sys.stderr.write(f"error: {err['message']}\n")
        if err.get("hint"):
            sys.stderr.write(f"  fix: {err['hint']}\n")


class Progress:
    """Progress lines on stderr: redrawn in place on a terminal, throttled to one line a second elsewhere."""

    def __init__(self, stream=None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._drawn = False

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\x1b[2K" + message[:200])
            self._drawn = True
        elif now - self._last >= 1.0:
            self.stream.write(message + "\n")
            self._last = now
        self.stream.flush()

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False
