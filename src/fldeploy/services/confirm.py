"""One confirmation rule for destructive verbs (down --volumes, restore, secrets rotate)."""
from __future__ import annotations

from ..errors import ExitCode, FldeployError


def confirm(confirmed: bool, interactive: bool, ask, code: str, warning: str, question: str,
            fix: str = "add --yes to confirm", declined: str = "nothing was changed") -> None:
    """A destructive verb goes on with --yes, or after a yes at the terminal; never silently in a script."""
    if confirmed:
        return
    if not interactive:
        raise FldeployError(warning, fix, ExitCode.USAGE, f"{code}.confirm")
    if not ask(question):
        raise FldeployError(declined, "", ExitCode.INTERRUPTED, f"{code}.declined")
