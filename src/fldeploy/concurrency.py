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


def gather(tasks: dict[str, Callable[[], Any]], timeout: float) -> dict[str, Any]:
    """{name: value | TimedOut | Failed}. Threads are daemons, so a stuck task cannot hold the exit."""
    results: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> None:
        try:
            results[name] = fn()
        except Exception as exc:  # reported as a finding by the caller
            results[name] = Failed(exc)

    threads = {name: threading.Thread(target=run, args=(name, fn), daemon=True, name=f"gather-{name}")
               for name, fn in tasks.items()}
    for t in threads.values():
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads.values():
        t.join(max(0.0, deadline - time.monotonic()))
    return {name: results[name] if name in results else TimedOut(timeout) for name in tasks}
