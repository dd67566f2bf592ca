"""Finding Foundry Local for real: settings, the foundry CLI of both generations (fake: documented output
only; slow, stopped, hung), the embedded process, psutil process scan, historical ports; several candidates;
the port-moved diagnosis."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from fldeploy.core import fix_texts
from fldeploy.core.foundry_rules import CLI_VERBS

from ..support import fake_foundry_cli
from ..support.fixtures import isolated_env
from ..support.servers import free_port, hung_server, status_server


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
    assert found["cli"] == fake_foundry_cli.generation(mode)


@pytest.mark.parametrize("mode", ["old-stopped", "hang", "garbage"])
def test_unhelpful_cli_does_not_hide_a_running_foundry(fl, foundry, tmp_path, mode):
    fake_foundry_cli.install(tmp_path / "bin", mode, url="http://127.0.0.1:1")
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"), timeout=30)
    found = run.json["data"]["foundry"]
    # another Foundry on this machine may win the process scan; ours must be among those that answer
    assert found["source"] == "process" and foundry.url in _answering(found)
    expected_note = {"old-stopped": "foundry service status: not running", "hang": "not waited for",
                     "garbage": "printed no service URL"}
    assert any(expected_note[mode] in n for n in found["notes"]), found["notes"]


def test_running_false_is_honoured_even_when_the_url_it_prints_answers(fl, foundry, tmp_path):
    """CLI 0.10 may print the last server's URL with `running: false`: not a Foundry found by the CLI."""
    fake_foundry_cli.install(tmp_path / "bin", "new-stopped", url=foundry.url)
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"))
    found = run.json["data"]["foundry"]
    assert all(c["source"] != "foundry-cli" for c in found["candidates"]), found["candidates"]
    assert found["source"] == "process" and found["cli"] == "server"
    assert f"foundry server status -o json: not running (it printed {foundry.url}: not used)" in found["notes"]


def test_localhost_from_the_cli_is_asked_as_127_0_0_1(fl, foundry, tmp_path):
    port = foundry.url.rsplit(":", 1)[1]
    fake_foundry_cli.install(tmp_path / "bin", "new", url=f"http://localhost:{port}")
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"))
    found = run.json["data"]["foundry"]
    assert (found["url"], found["source"]) == (f"http://127.0.0.1:{port}", "foundry-cli")


def test_a_slow_cli_does_not_slow_doctor_when_foundry_is_found_elsewhere(fl, foundry, tmp_path):
    fake_foundry_cli.install(tmp_path / "bin", "new", url=foundry.url, delay=8)
    start = time.monotonic()
    run = fl("doctor", "--json", PATH=_path_with(tmp_path / "bin"), timeout=60)
    took = time.monotonic() - start
    found = run.json["data"]["foundry"]
    assert found["source"] == "process" and foundry.url in _answering(found) and found["cli"] is None
    assert any("not waited for" in n for n in found["notes"]), found["notes"]
    assert run.json["data"]["took_ms"]["foundry"] < 4000 and took < 8, (took, run.json["data"]["took_ms"])


@pytest.fixture
def models_only_the_cli_knows(own_netns, tmp_path):
    """An OpenAI-style /v1/models on a port no other source looks at, inside a network namespace where no
    other Foundry is visible: only the foundry CLI can name it."""
    (tmp_path / "www/v1").mkdir(parents=True)
    (tmp_path / "www/v1/models").write_text(json.dumps({"object": "list", "data": [{"id": "slow-cli-model:1"}]}))
    port = free_port()
    server = subprocess.Popen(own_netns.argv([sys.executable, "-u", "-m", "http.server", str(port), "--bind",
                                              "127.0.0.1", "--directory", str(tmp_path / "www")]),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert "Serving HTTP" in server.stdout.readline()
    yield own_netns, port
    server.kill()
    server.wait()


def test_a_slow_cli_that_alone_knows_foundry_is_waited_for(models_only_the_cli_knows, tmp_path):
    netns, port = models_only_the_cli_knows
    fake_foundry_cli.install(tmp_path / "bin", "new", url=f"http://localhost:{port}", delay=3)
    env = isolated_env(tmp_path, PATH=_path_with(tmp_path / "bin"))
    run = netns.fl("doctor", "--json", env=env, timeout=60)
    found = run.json["data"]["foundry"]
    assert (found["url"], found["source"], found["cli"]) == (f"http://127.0.0.1:{port}", "foundry-cli", "server")
    assert found["models"] == ["slow-cli-model:1"]
    assert run.json["data"]["took_ms"]["foundry"] >= 3000


def test_a_cli_slower_than_its_budget_is_named(models_only_the_cli_knows, tmp_path):
    netns, port = models_only_the_cli_knows
    fake_foundry_cli.install(tmp_path / "bin", "new", url=f"http://127.0.0.1:{port}", delay=6)
    env = isolated_env(tmp_path, PATH=_path_with(tmp_path / "bin"), FLDEPLOY_CLI_TIMEOUT="1")
    run = netns.fl("doctor", "--json", env=env, timeout=60)
    endpoint = _checks(run)["foundry.endpoint"]
    assert run.code == 1 and endpoint["status"] == "fail"
    assert "the foundry CLI did not answer within 1.0s (cli_timeout)" in endpoint["cause"]
    assert run.json["data"]["took_ms"]["foundry"] < 5000


@pytest.mark.parametrize("mode", ["new", "old-running"])
def test_the_fixes_speak_the_cli_that_answered(tmp_path, mode):
    """Every `foundry …` command a fix names for a CLI generation is one that generation accepts."""
    cli = fake_foundry_cli.install(tmp_path / "bin", mode)
    generation = fake_foundry_cli.generation(mode)
    named = {command for platform in fix_texts.PLATFORMS for key in ("foundry.start", "foundry.restart",
                                                                   "foundry.logs", "foundry.load")
             for command in re.findall(r"`(foundry [^`]+)`", fix_texts.fix(key, platform, cli=generation))}
    assert named and all(fake_foundry_cli.answers(cli, command) for command in named), named
    other = fake_foundry_cli.generation("new" if generation == "service" else "old-running")
    assert not fake_foundry_cli.answers(cli, CLI_VERBS[other]["start"][0])


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
