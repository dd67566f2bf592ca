"""Finding Foundry Local for real: settings, the foundry CLI (fake: documented output only), the embedded
process, psutil process scan, historical ports; several candidates; the port-moved diagnosis."""
from __future__ import annotations

import os

import pytest

from ..support import fake_foundry_cli
from ..support.servers import hung_server, status_server


def _checks(run) -> dict:
    return {c["id"]: c for c in run.json["data"]["checks"]}


def _answering(found: dict) -> set[str]:
    return {c["url"] for c in found["candidates"] if c["answer"] == "ok"}


def _path_with(bin_dir) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def test_explicit_url_wins_and_is_normalised(fl, foundry):
    run = fl("doctor", "--json", "--foundry-url", foundry.url + "//v1/")
    found = run.json["data"]["foundry"]
    assert found["url"] == foundry.url and found["source"] == "setting"
    assert _checks(run)["foundry.endpoint"]["status"] == "ok"


def test_seed_base_url_env_is_honoured(fl, foundry):
    run = fl("doctor", "--json", BASE_URL=foundry.url + "/v1")
    found = run.json["data"]["foundry"]
    assert found["url"] == foundry.url and found["source"] == "setting"
    assert "env:BASE_URL" in _checks(run)["foundry.endpoint"]["cause"]


@pytest.mark.parametrize("mode", ["old-running", "new"])
def test_foundry_cli_output_names_the_endpoint(fl, foundry, tmp_path, mode):
    fake_foundry_cli.install(tmp_path / "bin", mode, url=foundry.url)
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"))
    found = run.json["data"]["foundry"]
    assert found["url"] == foundry.url and found["source"] == "foundry-cli"


@pytest.mark.parametrize("mode", ["old-stopped", "hang", "garbage"])
def test_unhelpful_cli_does_not_hide_a_running_foundry(fl, foundry, tmp_path, mode):
    fake_foundry_cli.install(tmp_path / "bin", mode, url="http://127.0.0.1:1")
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"), timeout=30)
    found = run.json["data"]["foundry"]
    # another Foundry on this machine may win the process scan; ours must be among those that answer
    assert found["source"] == "process" and foundry.url in _answering(found)
    expected_note = {"old-stopped": "not running", "hang": "did not answer", "garbage": "printed no service URL"}
    assert any(expected_note[mode] in n for n in found["notes"]), found["notes"]


def test_embedded_state_is_a_source(foundry):
    from ..support.fixtures import run_fldeploy

    run = run_fldeploy("doctor", "--json", env=foundry.env)
    assert run.json["data"]["foundry"]["source"] == "fldeploy-embedded"


def test_several_candidates_pick_the_one_that_answers(fl, foundry, tmp_path):
    with hung_server() as hung:
        fake_foundry_cli.install(tmp_path / "bin", "new", url=hung)
        run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"), timeout=30)
    found = run.json["data"]["foundry"]
    answers = {c["url"]: c["answer"] for c in found["candidates"]}
    assert answers[hung] == "timeout" and answers[foundry.url] == "ok"
    assert found["url"] in _answering(found) and found["source"] == "process"


def test_port_moved_is_named_with_the_new_url(fl, foundry):
    stale = "http://127.0.0.1:1"
    run = fl("doctor", "--json", FLDEPLOY_FOUNDRY_URL=stale)
    assert run.code == 1
    endpoint = _checks(run)["foundry.endpoint"]
    assert endpoint["status"] == "fail"
    found = run.json["data"]["foundry"]
    assert found["url"] is None, "a stale setting is never silently replaced"
    assert foundry.url in found["alternatives"]
    new_url = found["alternatives"][0]
    assert "its port moved" in endpoint["cause"] and new_url in endpoint["cause"]
    assert f"--foundry-url {new_url}" in endpoint["fix"]


def test_refused_url_fails_with_the_start_command(fl):
    run = fl("doctor", "--json", "--foundry-url", "http://127.0.0.1:1")
    checks = _checks(run)
    assert run.code == 1
    assert checks["foundry.api"]["status"] == "fail" and "refuses connections" in checks["foundry.api"]["cause"]
    assert "fldeploy foundry start" in checks["foundry.api"]["fix"]
    assert checks["foundry.models"]["status"] == "skip" and checks["foundry.bind"]["status"] == "skip"


def test_http_500_is_reported_as_such(fl):
    with status_server(500) as url:
        run = fl("doctor", "--json", "--foundry-url", url)
    api = _checks(run)["foundry.api"]
    assert api["status"] == "fail" and "HTTP 500" in api["cause"]
    assert api["runbook"] == "deploy/runbooks/foundry.md#foundry.api"


def test_hung_foundry_is_reported_as_hung(fl):
    with hung_server() as url:
        run = fl("doctor", "--json", "--foundry-url", url, timeout=30)
    api = _checks(run)["foundry.api"]
    assert run.code == 1 and api["status"] == "fail"
    assert "did not answer in time (hung)" in api["cause"] and "restart" in api["fix"]
