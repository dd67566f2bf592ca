"""The only place that prints: a Result as human text or as the JSON envelope, and progress on waits."""
from __future__ import annotations

import json
import sys

from ..result import Result


def __getattr__(name: str):
    if name == "Progress":  # only the verbs that report progress pay for its import
        from .progress import Progress

        return Progress
    raise AttributeError(name)


__all__ = ["Progress", "emit", "shown_checks"]


def shown_checks(result: Result) -> set[str]:
    """Ids of the checks a verb's human rendering lists (doctor's and up's), each with its own fix."""
    checks = result.data.get("checks") if isinstance(result.data, dict) else None
    return {str(c["id"]) for c in checks or [] if isinstance(c, dict) and "id" in c}


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
        if err.get("code") in shown_checks(result):
            continue  # the rendered check already shows this failure with its fix
        label = "warning" if result.status == "warn" else "error"  # e.g. a backup that left entries out
        sys.stderr.write(f"{label}: {err['message']}\n")
        if err.get("hint"):
            sys.stderr.write(f"  fix: {err['hint']}\n")

