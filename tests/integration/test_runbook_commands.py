"""Every `fldeploy …` command the runbooks and the README show still parses: run with --help, it exits 0
(an unknown verb or flag exits 2), so the documentation cannot drift from the CLI."""
from __future__ import annotations

import re
import shlex

import pytest

from ..support.fixtures import ROOT

DOCS = sorted((ROOT / "deploy/runbooks").glob("*.md")) + [ROOT / "README.md", ROOT / "deploy/chainlit/README.md"]


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for span in doc.read_text().split("`")[1::2]:  # the code spans
            for part in re.split(r"&&|\|\|?|;", span):
                part = part.strip()
                if part.startswith("fldeploy "):
                    found.append((doc.name, part))
    return sorted(set(found))


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("doc,command", COMMANDS, ids=[f"{d}: {c}" for d, c in COMMANDS])
def test_documented_command_parses(fl, doc, command):
    # placeholders (<alias>, FILE, PORT...) become a plain word; [optional] brackets are dropped
    text = re.sub(r"<[^>]*>|\b[A-Z]+\b(\.\.\.)?", "x", command).replace("[", "").replace("]", "")
    args = shlex.split(text)[1:]
    run = fl(*args, "--help")
    assert run.code == 0, f"{doc}: `{command}` no longer parses: {run.err.strip()[-300:]}"
