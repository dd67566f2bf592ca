"""Several Foundry hosts through the real CLI, without a running stack: two real Foundry runtimes on their own
loopback addresses; render writes one Open WebUI connection and one relay per host (or the balancer), from
flags, FLDEPLOY_FOUNDRY_URLS or a YAML list; hostile names are a config error; doctor judges each host and names
the one that is down."""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from ..support.foundry_hosts import hosts_on_loopback

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, tiny_model, catalog_url):
    started = hosts_on_loopback(tmp_path_factory.mktemp("hosts"), "127.0.0.2", "127.0.0.3")
    for host in started:
        host.start(tiny_model, catalog_url)
    yield started
    for host in started:
        host.stop()


def _doc(path) -> dict:
    return yaml.safe_load((path / "compose.yaml").read_text())


def test_render_one_connection_and_relay_per_host(fl, tmp_path, hosts):
    a, b = hosts
    run = fl("render", "--out", str(tmp_path / "s"), "--foundry-url", f"a={a.url}", "--foundry-url", b.url, "--json")
    assert run.code == 0, run.out + run.err
    doc = _doc(tmp_path / "s")
    env = doc["services"]["open-webui"]["environment"]
    assert "OPENAI_API_BASE_URL" not in env
    configs = json.loads(env["OPENAI_API_CONFIGS"])
    assert [configs[i]["prefix_id"] for i in ("0", "1")] == ["a", "127-0-0-3"]
    assert doc["services"]["foundry-relay-a"]["command"][-1] == f"TCP:127.0.0.2:{a.port}"
    assert doc["services"]["foundry-relay-127-0-0-3"]["command"][-1] == f"TCP:127.0.0.3:{b.port}"
    assert len(env["OPENAI_API_BASE_URLS"].split(";")) == 2
    assert any("Chainlit app takes one Foundry" in n for n in run.json["data"]["notes"])


def test_env_and_yaml_list_name_the_same_hosts(fl, tmp_path, hosts):
    a, b = hosts
    by_env = fl("render", "--out", str(tmp_path / "e"), "--json", FLDEPLOY_FOUNDRY_URLS=f"a={a.url},b={b.url}")
    assert by_env.code == 0, by_env.out
    (tmp_path / "fldeploy.yaml").write_text(f"foundry_urls:\n  - a={a.url}\n  - b={b.url}\n")
    by_file = fl("render", "--out", str(tmp_path / "y"), "--json", cwd=tmp_path)
    assert by_file.code == 0, by_file.out
    envs = [_doc(tmp_path / d)["services"]["open-webui"]["environment"]["OPENAI_API_CONFIGS"] for d in ("e", "y")]
    assert envs[0] == envs[1] and '"prefix_id":"b"' in envs[0]


@pytest.mark.parametrize("item", ["Lab=http://10.0.0.5:5273", "a b=http://10.0.0.5:5273",
                                  "x=http://10.0.0.5:5273/v1;rm", "x=javascript:alert(1)"])
def test_hostile_hosts_are_a_config_error(fl, tmp_path, item):
    run = fl("render", "--out", str(tmp_path / "h"), "--foundry-url", item, "--foundry-url", "http://10.0.0.6:1",
             "--json")
    assert run.code == 3, run.out + run.err
    assert run.json["errors"][0]["code"] == "config.invalid" and "--foundry-urls" in run.json["errors"][0]["message"]
    assert not (tmp_path / "h").exists()


def test_balance_renders_a_valid_compose_file(fl, tmp_path, hosts, docker_engine):
    a, b = hosts
    out = tmp_path / "b"
    run = fl("render", "--out", str(out), "--foundry-url", f"a={a.url}", "--foundry-url", f"b={b.url}",
             "--balance", "--build-local", "--json")
    assert run.code == 0, run.out + run.err
    doc = _doc(out)
    assert doc["services"]["open-webui"]["environment"]["OPENAI_API_BASE_URLS"] == "http://foundry-balancer:8080/v1"
    assert doc["services"]["foundry-balancer"]["build"]["context"].endswith("nginx")
    done = subprocess.run(["docker", "compose", "config", "-q"], cwd=out, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_doctor_names_the_host_that_is_down(fl, hosts):
    a, b = hosts
    run = fl("doctor", "--foundry-url", f"a={a.url}", "--foundry-url", "b=http://127.0.0.3:9", "--json")
    checks = run.json["data"]["checks"]
    foundry = [c for c in checks if c["id"] in ("foundry.endpoint", "foundry.api", "foundry.models")]
    assert {c["data"]["host"] for c in foundry} == {"a", "b"}
    assert all(c["status"] == "ok" for c in foundry if c["data"]["host"] == "a")
    failed = [c for c in foundry if c["status"] == "fail"]
    assert failed and all(c["data"]["host"] == "b" and c["cause"].startswith("host b (") for c in failed)
    named = {e.get("host") for e in run.json["errors"] if e["code"] in ("foundry.endpoint", "foundry.api")}
    assert run.code == 1 and named == {"b"}
    bind = next(c for c in checks if c["id"] == "foundry.bind" and c["data"]["host"] == "a")
    assert f"TCP:127.0.0.2:{a.port}" in bind["fix"]  # no stack yet: a's loopback-only bind, its own address


def test_doctor_on_a_balanced_stack_holds_compose_to_inline_configs(fl, tmp_path, hosts):
    a, b = hosts
    stack = str(tmp_path / "stack")
    for extra in ([], ["--balance"]):
        done = fl("render", "--foundry-url", f"a={a.url}", "--foundry-url", f"b={b.url}", *extra,
                  FLDEPLOY_STACK_DIR=stack)
        assert done.code == 0, done.out + done.err
        # a plain doctor checks the stack it finds: its hosts, and whether its chats go through the balancer
        run = fl("doctor", "--json", FLDEPLOY_STACK_DIR=stack)
        compose = next(c for c in run.json["data"]["checks"] if c["id"] == "docker.compose")
        if not extra:
            assert compose["status"] == "ok" and "needs" not in compose["data"], compose
        else:  # the real Compose here is newer than 2.23.1: the check passes, and says what it was held to
            assert compose["status"] == "ok" and compose["data"]["needs"] == "2.23.1", compose
