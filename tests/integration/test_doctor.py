"""doctor's host-side checks against real parts: Foundry bound to loopback vs the bridge, models cached but
not loaded, Docker unreachable, Compose present, the 1-token chat."""
from __future__ import annotations

import httpx
import pytest

from ..support.fixtures import run_fldeploy, start_foundry, stop_foundry


def _checks(run) -> dict:
    return {c["id"]: c for c in run.json["data"]["checks"]}


@pytest.fixture(scope="module")
def loopback_foundry(tmp_path_factory, tiny_model, catalog_url):
    started = start_foundry(tmp_path_factory.mktemp("loopback"), tiny_model, catalog_url, "--bind", "loopback")
    yield started
    stop_foundry(started)


def test_loopback_only_foundry_fails_bind_with_a_fix(fl, loopback_foundry, docker_engine):
    run = fl("doctor", "--json", "--foundry-url", loopback_foundry.url)
    bind = _checks(run)["foundry.bind"]
    assert run.code == 1 and bind["status"] == "fail"
    assert "listens only on 127.0.0.1" in bind["cause"] and "connection refused" in bind["cause"]
    assert "fldeploy foundry start" in bind["fix"] and f"socat TCP-LISTEN:{loopback_foundry.port}" in bind["fix"]
    assert "`fldeploy up` relays it automatically" in bind["fix"]
    assert bind["runbook"] == "deploy/runbooks/foundry.md#foundry.bind"
    human = fl("doctor", "--foundry-url", loopback_foundry.url).out
    assert "FAIL  foundry.bind" in human and "fix: `fldeploy up` relays it automatically" in human


def test_bridge_bound_foundry_passes_bind(fl, foundry, docker_engine):
    run = fl("doctor", "--json", "--foundry-url", foundry.url)
    bind = _checks(run)["foundry.bind"]
    assert bind["status"] == "ok" and "bridge gateway" in bind["cause"]


def test_deep_chat_names_the_model_id(fl, foundry):
    run = fl("doctor", "--deep", "--json", "--foundry-url", foundry.url, "--model", "tiny-llama")
    checks = _checks(run)
    assert checks["foundry.chat"]["status"] == "ok"
    assert checks["foundry.chat"]["data"]["model_id"] == "tiny-llama-generic-cpu:1"
    assert "alias tiny-llama -> id tiny-llama-generic-cpu:1" in checks["foundry.models"]["cause"]


def test_configured_model_that_is_not_loaded_warns(fl, foundry):
    run = fl("doctor", "--json", "--foundry-url", foundry.url, "--model", "phi-4-mini")
    models = _checks(run)["foundry.models"]
    assert models["status"] == "warn" and "phi-4-mini is not loaded" in models["cause"]
    assert "tiny-llama-generic-cpu:1" in models["fix"]


def test_cached_but_unloaded_model_warns_with_the_load_command(loopback_foundry):
    url = loopback_foundry.url
    assert httpx.get(f"{url}/models/unload/tiny-llama", timeout=10).json()["status"] == "unloaded"
    try:
        run = run_fldeploy("doctor", "--json", env=loopback_foundry.env)
        models = _checks(run)["foundry.models"]
        assert models["status"] == "warn" and "none loaded" in models["cause"]
        assert "/models/load/" in models["fix"] and "fldeploy foundry start" in models["fix"]
    finally:
        httpx.get(f"{url}/models/load/tiny-llama", timeout=10)


def test_docker_down_fails_engine_but_not_foundry(fl, foundry, tmp_path):
    dead = f"unix://{tmp_path}/no-docker.sock"
    run = fl("doctor", "--json", "--foundry-url", foundry.url, DOCKER_HOST=dead)
    checks = _checks(run)
    assert run.code == 1
    assert checks["docker.engine"]["status"] == "fail" and dead in checks["docker.engine"]["cause"]
    assert "start it" in checks["docker.engine"]["fix"]
    assert checks["foundry.api"]["status"] == "ok"
    # with no engine to ask, a loopback-safe verdict still holds on Linux: bridge-bound Foundry passes
    assert checks["foundry.bind"]["status"] == "ok"


def test_real_engine_and_compose_are_reported_with_versions(fl, docker_engine):
    run = fl("doctor", "--json", "--foundry-url", "http://127.0.0.1:1")
    checks = _checks(run)
    assert checks["docker.engine"]["status"] == "ok" and docker_engine in checks["docker.engine"]["cause"]
    assert checks["docker.engine"]["data"]["desktop"] is False
    assert checks["docker.compose"]["status"] == "ok" and checks["docker.compose"]["cause"].startswith("Docker Compose 2.")


def test_missing_compose_plugin_fails_with_the_install_fix(fl, tmp_path, foundry):
    # a docker config dir with no cli-plugins: the docker CLI then has no `compose` command
    run = fl("doctor", "--json", "--foundry-url", foundry.url, DOCKER_CONFIG=str(tmp_path / "empty-docker-config"))
    compose = _checks(run)["docker.compose"]
    assert compose["status"] == "fail" and "Compose v2 is missing" in compose["cause"]
    assert "docker-compose-plugin" in compose["fix"]
