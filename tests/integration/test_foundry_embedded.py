"""`fldeploy foundry start|stop|status` against the real Foundry Local runtime (foundry-local-sdk 2.x)."""
from __future__ import annotations

import httpx

from fldeploy.adapters.net import interface_ipv4

from ..support.fixtures import run_fldeploy, start_foundry, stop_foundry


def test_start_serves_the_model_by_its_full_id(foundry):
    models = httpx.get(f"{foundry.url}/v1/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == ["tiny-llama-generic-cpu:1"]
    assert foundry.alias == "tiny-llama" and foundry.model_id == "tiny-llama-generic-cpu:1"
    answer = httpx.post(f"{foundry.url}/v1/chat/completions", timeout=10, json={
        "model": foundry.model_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})
    assert answer.json()["choices"][0]["message"]["content"] == "Hello from tiny model"


def test_status_shows_url_bind_addresses_models_and_pid(foundry):
    run = run_fldeploy("foundry", "status", "--json", env=foundry.env)
    assert run.code == 0, run.err
    data = run.json["data"]
    assert data["url"] == foundry.url and data["pid"] == foundry.pid
    assert data["loaded_models"] == [foundry.model_id]
    gateway = interface_ipv4("docker0")
    assert data["bind_addresses"] == sorted(["127.0.0.1", gateway]), "loopback + bridge gateway, not 0.0.0.0"
    human = run_fldeploy("foundry", "status", env=foundry.env).out
    assert f"pid {foundry.pid}" in human and foundry.url in human and "tiny-llama-generic-cpu:1" in human


def test_start_again_is_a_no_op(foundry):
    run = run_fldeploy("foundry", "start", "--model", "tiny-llama", "--json", env=foundry.env)
    assert run.code == 0, run.out
    assert run.json["data"]["pid"] == foundry.pid and run.json["data"]["changed"] is False


def test_start_with_another_model_while_running_says_stop_first(foundry):
    run = run_fldeploy("foundry", "start", "--model", "phi-4-mini", env=foundry.env)
    assert run.code == 1
    assert "already runs with tiny-llama-generic-cpu:1" in run.err and "fldeploy foundry stop" in run.err


def test_unknown_model_lists_what_the_catalog_has(tmp_path, tiny_model, catalog_url):
    from ..support.fixtures import isolated_env

    env = isolated_env(tmp_path)
    run = run_fldeploy("foundry", "start", "--model", "no-such-model", "--catalog-url", catalog_url,
                       "--port", "0", env=env)
    assert run.code == 3, run.out + run.err
    assert "no-such-model" in run.err and "tiny-llama" in run.err
    assert run_fldeploy("foundry", "status", env=env).code == 1, "a failed start leaves nothing running"


def test_stop_stops_only_what_fldeploy_started_and_is_idempotent(tmp_path, tiny_model, catalog_url):
    started = start_foundry(tmp_path, tiny_model, catalog_url, "--bind", "loopback")
    run = run_fldeploy("foundry", "stop", "--json", env=started.env, timeout=60)
    assert run.code == 0 and run.json["data"]["changed"] is True and run.json["data"]["pid"] == started.pid
    try:
        httpx.get(f"{started.url}/v1/models", timeout=2)
        raise AssertionError("Foundry still answers after stop")
    except httpx.ConnectError:
        pass
    again = run_fldeploy("foundry", "stop", "--json", env=started.env)
    assert again.code == 0 and again.json["data"]["changed"] is False
    status = run_fldeploy("foundry", "status", env=started.env)
    assert status.code == 1 and "not running" in status.out
    stop_foundry(started)


def test_taken_port_is_a_port_conflict(tmp_path, foundry):
    from ..support.fixtures import isolated_env

    run = run_fldeploy("foundry", "start", "--demo", "--port", str(foundry.port), env=isolated_env(tmp_path))
    assert run.code == 4
    assert f"port {foundry.port} is taken" in run.err and "--port" in run.err
