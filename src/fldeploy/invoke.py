"""Running one verb: settings loaded (flags win), the verb run, its Result printed; the exit code returned.
Shared by the typer CLI and the lean paths of src/fldeploy/entry.py, which skip typer's start-up."""
from __future__ import annotations

from typing import Any, Callable

from .errors import ExitCode, FldeployError
from .result import Result


def invoke(command: str, as_json: bool, flags: dict[str, Any], action: Callable[..., Result],
           wants_progress: bool = False, view: str | None = None) -> int:
    from . import output, settings

    progress = output.Progress() if wants_progress else None
    try:
        try:
            loaded = settings.load(flags)
            result = action(loaded, progress) if progress is not None else action(loaded)
        finally:
            if progress is not None:
                progress.done()
    except FldeployError as err:
        result = Result.from_error(command, err)
    except KeyboardInterrupt:
        result = Result.from_error(command, FldeployError("interrupted", "", ExitCode.INTERRUPTED, "interrupted"))
    output.emit(result, as_json, view)
    return int(result.exit_code)
