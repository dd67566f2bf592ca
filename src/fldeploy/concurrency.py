"""Run independent effects at once, each bounded: a hung one is reported, never waited for."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class TimedOut:
    seconds: float


@dataclass(frozen=True)
class Failed:
    error: BaseException


def gather(tasks: dict[str, Callable[[], Any]], timeout: float,
           timeouts: dict[str, float] | None = None) -> dict[str, Any]:
    """{name: value | TimedOut | Failed}; timeouts overrides timeout per task. Threads are daemons, so a
    stuck task cannot hold the exit."""
    started = {name: Started(fn, f"gather-{name}") for name, fn in tasks.items()}
    limits = {name: (timeouts or {}).get(name, timeout) for name in tasks}
    start = time.monotonic()
    for name in sorted(started, key=lambda n: limits[n]):
        started[name].result(max(0.0, start + limits[name] - time.monotonic()))
    results = {name: task.result(0) for name, task in started.items()}
    return {name: TimedOut(limits[name]) if isinstance(value, TimedOut) else value for name, value in results.items()}


def timed(fn: Callable[[], Any], took: dict[str, float], name: str) -> Callable[[], Any]:
    """fn, recording into took[name] how many milliseconds it ran (finished or not)."""
    def run() -> Any:
        start = time.monotonic()
        try:
            return fn()
        finally:
            took[name] = (time.monotonic() - start) * 1000
    return run


class Started:
    """fn running on a daemon thread from now on (it cannot hold the exit, as an executor's worker would);
    result(timeout) is its value, Failed, or TimedOut when it has not finished by then."""

    def __init__(self, fn: Callable[[], Any], name: str = "started") -> None:
        self._out: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True, name=name)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._out["value"] = fn()
        except Exception as exc:  # the caller decides what a failure means
            self._out["value"] = Failed(exc)

    def result(self, timeout: float) -> Any:
        self._thread.join(timeout)
        return self._out.get("value", TimedOut(timeout))
