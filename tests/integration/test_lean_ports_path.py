"""The lean `ports`, `up` and `doctor` paths (no typer start-up) must say exactly what the typer path says."""
from __future__ import annotations

import pytest

from fldeploy.entry import parse_ports_args

from ..support.servers import free_port


@pytest.mark.parametrize("as_json", [True, False])
def test_lean_and_typer_paths_agree(fl, hold_port, as_json):
    pid, port = hold_port("127.0.0.1", 0)
    args = ["ports", str(free_port()), "--openwebui-port", str(port), "--chainlit-port", str(free_port())]
    args += ["--json"] if as_json else []
    lean = fl(*args)
    typer = fl(*args, FLDEPLOY_NO_LEAN_PATH="1")
    assert (lean.code, lean.out, lean.err) == (typer.code, typer.out, typer.err)
    assert lean.code == 4 and str(pid) in lean.out


def test_anything_unusual_falls_back_to_typer():
    assert parse_ports_args(["--help"]) is None
    assert parse_ports_args(["--openwebui-port"]) is None
    assert parse_ports_args(["abc"]) is None
    assert parse_ports_args(["5000", "--json", "--foundry-url", "http://x:1"]) == (
        {"foundry_url": "http://x:1"}, [5000], True)


def test_usage_error_on_the_ports_verb_is_typers(fl):
    run = fl("ports", "abc")
    assert run.code == 2 and "Invalid value" in run.err


@pytest.mark.parametrize("as_json", [True, False])
def test_lean_and_typer_up_agree(fl, as_json):
    """`up` as users type it most: the same answer either way (here: no Foundry at the URL given, so up stops at
    its preflight)."""
    args = ["up"] + (["--json"] if as_json else [])
    url = f"http://127.0.0.1:{free_port()}"
    lean = fl(*args, FLDEPLOY_FOUNDRY_URL=url)
    typer = fl(*args, FLDEPLOY_FOUNDRY_URL=url, FLDEPLOY_NO_LEAN_PATH="1")
    assert (lean.code, lean.out, lean.err) == (typer.code, typer.out, typer.err)
    assert lean.code == 5 and "Foundry Local was not found" in lean.out + lean.err


def test_lean_and_typer_doctor_agree(fl):
    """`doctor --json` either way: the same checks with the same verdicts (durations differ run to run)."""
    url = f"http://127.0.0.1:{free_port()}"
    lean = fl("doctor", "--json", FLDEPLOY_FOUNDRY_URL=url)
    typer = fl("doctor", "--json", FLDEPLOY_FOUNDRY_URL=url, FLDEPLOY_NO_LEAN_PATH="1")
    verdicts = [[(c["id"], c["status"]) for c in run.json["data"]["checks"]] for run in (lean, typer)]
    assert lean.code == typer.code == 1 and verdicts[0] == verdicts[1]
    assert ("foundry.endpoint", "fail") in verdicts[0]


def test_up_with_a_flag_is_typers(fl):
    run = fl("up", "--openwebui-port", "notanumber")
    assert run.code == 2 and "Invalid value" in run.err
