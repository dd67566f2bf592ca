"""Progress on stderr while a verb waits: a line of status, and for Compose a board of its services with
each one's state and elapsed time (redrawn in place on a terminal, one line per change elsewhere)."""
from __future__ import annotations

import sys
import threading
import time

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.compose_events import ServiceEvent

SETTLED = ("healthy", "started", "running", "built", "pulled", "error", "exited", "unhealthy", "removed",
           "stopped")


class Progress:
    def __init__(self, stream=None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._status = ""
        self._drawn_lines = 0
        self._services: dict[str, list] = {}  # service -> [state, started, settled_at]
        # Compose's lines arrive on its reader thread while the verb writes its own: one board, drawn by one
        self._lock = threading.Lock()

    def __call__(self, message: str | ServiceEvent) -> None:
        if self.quiet:
            return
        with self._lock:
            self._show(message)

    def _show(self, message: str | ServiceEvent) -> None:
        if not isinstance(message, str):  # a ServiceEvent
            self._service(message)
        elif self.tty:
            self._status = message[:200]
            self._redraw()
        elif time.monotonic() - self._last >= 1.0:
            self.stream.write(message + "\n")
            self._last = time.monotonic()
        self.stream.flush()

    def _service(self, event: ServiceEvent) -> None:
        now = time.monotonic()
        row = self._services.get(event.service)
        changed = row is None or row[0] != event.state
        if row is None:
            row = self._services[event.service] = [event.state, now, None]
        row[0], row[2] = event.state, (now if event.state in SETTLED else None)
        if self.tty:
            self._redraw()
        elif changed:
            self.stream.write(f"{event.service}: {event.state} ({now - row[1]:.1f}s)\n")

    def _lines(self) -> list[str]:
        now = time.monotonic()
        width = max((len(name) for name in self._services), default=0)
        lines = [f" {name:<{width}}  {state:<10} {(settled or now) - started:6.1f}s"
                 for name, (state, started, settled) in self._services.items()]
        return lines + ([self._status] if self._status else [])

    def _redraw(self) -> None:
        up = f"\r\x1b[{self._drawn_lines}A" if self._drawn_lines else "\r"  # VT100 cursor up: every terminal has it
        lines = self._lines()
        # rewrite the board from its first line, then clear what an older, longer board left below
        self.stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines[:-1]) + f"\x1b[2K{lines[-1]}\x1b[J"
                          if lines else up + "\x1b[2K")
        self._drawn_lines = max(len(lines) - 1, 0)

    def done(self) -> None:
        """Leave the board on screen (it is the story of the wait); clear the status line under it."""
        with self._lock:
            self._done()

    def _done(self) -> None:
        if self.tty and (self._services or self._status):
            self._status = ""
            lines = self._lines()
            if lines:
                self._redraw()
                self.stream.write("\n")
            else:
                self.stream.write("\r\x1b[2K")
            self.stream.flush()
        self._services.clear()
        self._drawn_lines = 0
