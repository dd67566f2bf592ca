"""Every verb the CLI offers has a human renderer; a verb without one is a programming error, not a blank."""
from __future__ import annotations

import pytest
import typer

from fldeploy.cli import app
from fldeploy.output.human import RENDERERS, render
from fldeploy.result import Result


def _verbs(command, prefix: str = "") -> list[str]:
    if hasattr(command, "commands"):  # a group (typer vendors its own click)
        return [v for name, sub in command.commands.items() for v in _verbs(sub, f"{prefix}{name} ")]
    return [prefix.strip()]


def test_every_cli_verb_has_a_renderer():
    verbs = _verbs(typer.main.get_command(app))
    assert len(verbs) >= 14
    assert [v for v in verbs if v not in RENDERERS] == []


def test_a_verb_without_a_renderer_is_an_error():
    with pytest.raises(LookupError, match="no human renderer for 'frobnicate'"):
        render(Result("frobnicate", {"x": 1}))
