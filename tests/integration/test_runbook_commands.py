"""Every `fldeploy …` command the runbooks and the READMEs show runs for real, in an isolated environment,
against a throwaway stack on the session's Foundry: placeholders become real values (a backup file, a port,
a service), optional parts are included, and the commands run in the order a user would run them. A command
that no longer parses, or that fails where the docs promise it works, fails here."""
from __future__ import annotations

import re
import secrets
import shlex

import pytest

from fldeploy.foundry import demo

from ..support.fixtures import ROOT, run_fldeploy
from ..support.servers import free_port
from ..support.stack import make_stack, remove_stack

DOCS = sorted((ROOT / "deploy/runbooks").glob("*.md")) + [ROOT / "README.md", ROOT / "deploy/chainlit/README.md"]
# the order a user runs them in: look, start, operate, stop
PHASES = (("config", "ports", "foundry status", "render", "doctor", "status"), ("up",), ("logs",),
          ("backup",), ("restore",), ("secrets",), ("foundry expose --address",), ("foundry expose",),
          ("foundry unexpose",), ("foundry stop",), ("foundry start --model phi-4-mini",),
          ("foundry start",), ("down",))
# documented exits other than success: doctor/status report a failed check with 1; a confirmation that a
# script did not give is a usage error (2) naming --yes; a model missing from the catalog is a config error
EXPECTED = {"secrets rotate": (2, "--yes"), "foundry start --model phi-4-mini": (3, "not in the catalog"),
            "foundry start": (2, "--model"),
            # a swarm is never made unasked (tests/e2e/test_swarm.py runs it with --init-swarm)
            "up --target swarm": (5, "--init-swarm")}


def documented_commands() -> list[str]:
    found = set()
    for doc in DOCS:
        for span in doc.read_text().split("`")[1::2]:  # the code spans
            for part in re.split(r"&&|\|\|?|;", span):
                part = " ".join(part.split())
                if part.startswith("fldeploy "):
                    found.add(part)
    return sorted(found)


def phase(command: str) -> int:
    verb = command.removeprefix("fldeploy ")
    return next(i for i, words in enumerate(PHASES) if verb.startswith(words))


COMMANDS = sorted(documented_commands(), key=lambda c: (phase(c), c))


def concrete(command: str, values: dict[str, str]) -> list[str]:
    """The command as a user would type it: placeholders filled, optional parts kept, -f (follow) left out."""
    text = command.replace("[", "").replace("]", "").replace(" -f", "")
    text = re.sub(r"<alias>", values["alias"], text)
    text = re.sub(r"\bSERVICE\b", "open-webui", text)
    text = re.sub(r"\bADDRESS\b", "127.0.0.2", text)
    text = re.sub(r"\bPORT(\.\.\.)?", values["port"], text)
    text = re.sub(r"\bDIR\b", values["dir"], text)
    text = re.sub(r"\bKEY_FILE\b", values["key_file"], text)
    text = re.sub(r"\bFILE\b", values["bundle" if "--bundle" in text else "archive"], text)
    return shlex.split(text)[1:]


def test_the_docs_show_commands():
    assert len(COMMANDS) > 30


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_images, foundry, catalog_url, tiny_model):
    root = tmp_path_factory.mktemp("runbooks")
    made = make_stack(root, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_CATALOG_URL=catalog_url,
                      FLDEPLOY_FOUNDRY_PORT=str(free_port()))
    demo.install_into_cache(tiny_model, made.env["FLDEPLOY_MODEL_CACHE_DIR"])
    values = {"alias": demo.ALIAS, "port": str(free_port()), "dir": str(root / "rendered"),
              "archive": str(root / "owui-backup.tar.gz"), "bundle": str(root / "support-bundle.tar.gz"),
              "key_file": str(root / "lab.key")}
    (root / "lab.key").write_text(secrets.token_urlsafe(32) + "\n")  # the key another Foundry machine made
    yield made, values, root
    run_fldeploy("foundry", "unexpose", env=made.env, timeout=120)
    run_fldeploy("foundry", "stop", env=made.env, timeout=60)
    remove_stack(made)


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_runs(stack, command):
    made, values, root = stack
    args = concrete(command, values)
    if "--bundle" in args:  # several documented bundle commands: each writes its own file
        (root / "support-bundle.tar.gz").unlink(missing_ok=True)
    run = run_fldeploy(*args, env=made.env, cwd=root, timeout=900)
    shown = f"`{command}` ran as `fldeploy {' '.join(args)}`: exit {run.code}\n{run.out[-800:]}\n{run.err[-800:]}"
    assert "Traceback" not in run.err, shown
    verb = " ".join(args[:3]) if args[:1] == ["foundry"] else " ".join(args[:2])
    expected = EXPECTED.get(" ".join(args)) or EXPECTED.get(verb) if "--yes" not in args else None
    if expected:
        code, says = expected
        assert run.code == code and says in run.out + run.err, shown
    elif (args[0] in ("doctor", "status") or args[:2] == ["foundry", "status"]) and "--fix" not in args:
        assert run.code in (0, 1), shown  # reports: exit 1 names a failed check; the command itself works
    else:
        assert run.code == 0, shown
