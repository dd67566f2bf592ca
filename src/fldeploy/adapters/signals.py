"""Ctrl-C and SIGTERM while fldeploy changes data: SIGTERM ends a run the way Ctrl-C does (so its clean-up
runs), and a step that must not be cut in half holds both signals until it ends."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def held_interrupts() -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM are only recorded (in the list it yields)."""
    received: list[int] = []
    if not _in_main_thread():
        yield received
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
