"""Foundry's port moves and Open WebUI still lists its models after `up`; a Foundry that listens on loopback
only is reached through the relay `up` adds by itself."""
from __future__ import annotations

import subprocess

from ..support.fixtures import BASE_IMAGE, run_fldeploy
from ..support.servers import free_port
from ..support.stack import make_stack, remove_stack

from fldeploy.foundry import demo


def _start(stack, catalog_url, port: int, bind: str = "docker"):
    run = run_fldeploy("foundry", "start", "--model", "tiny-llama", "--catalog-url", catalog_url,
                       "--port", str(port), "--bind", bind, "--json", env=stack.env)
    assert run.code == 0, run.err
    return run.json["data"]


def _checks(run) -> dict:
    return {c["id"]: c for c in run.json["data"]["checks"]}


def test_port_move_then_up_lists_the_models_again(tmp_path, stack_images, tiny_model, catalog_url):
    stack = make_stack(tmp_path)
    demo.install_into_cache(tiny_model, stack.env["FLDEPLOY_MODEL_CACHE_DIR"])
    try:
        first = _start(stack, catalog_url, free_port())
        up = stack.fl("up", "--json")
        assert up.code == 0, up.out + up.err
        assert up.json["data"]["foundry"]["url"] == first["url"]

        assert run_fldeploy("foundry", "stop", env=stack.env, timeout=60).code == 0
        moved = _start(stack, catalog_url, free_port())
        assert moved["url"] != first["url"]
        drift = stack.fl("status", "--json")
        assert drift.code == 1 and "Foundry is now at" in drift.json["data"]["drift"]
        doctor = {c["id"]: c for c in stack.fl("doctor", "--json").json["data"]["checks"]}
        assert doctor["foundry.from_container"]["status"] == "fail"
        assert "connection refused" in doctor["foundry.from_container"]["cause"]
        assert doctor["stack.openwebui"]["status"] == "fail" and "stored Foundry URL" in doctor["stack.openwebui"]["cause"]

        again = stack.fl("up", "--json")
        assert again.code == 0, again.out + again.err
        openwebui = _checks(again)["stack.openwebui"]["data"]
        new_port = moved["url"].rsplit(":", 1)[1]
        assert openwebui["connection_fixed"]["now"] == f"http://host.docker.internal:{new_port}/v1"
        assert openwebui["models"] == ["tiny-llama-generic-cpu:1"] and openwebui["ui_answer"] == "Hello from tiny model"
        assert stack.fl("status").code == 0
    finally:
        remove_stack(stack)
        run_fldeploy("foundry", "stop", env=stack.env, timeout=60)


def test_loopback_only_foundry_is_reached_through_the_relay(tmp_path, stack_images, tiny_model, catalog_url):
    stack = make_stack(tmp_path)
    demo.install_into_cache(tiny_model, stack.env["FLDEPLOY_MODEL_CACHE_DIR"])
    try:
        foundry = _start(stack, catalog_url, free_port(), bind="loopback")
        assert foundry["bind_addresses"] == ["127.0.0.1"]
        port = foundry["url"].rsplit(":", 1)[1]
        # without the relay a container is refused, as users see it
        direct = subprocess.run(["docker", "run", "--rm", "--add-host", "host.docker.internal:host-gateway",
                                 BASE_IMAGE, "python3", "-c",
                                 f"import urllib.request; urllib.request.urlopen('http://host.docker.internal:{port}/v1/models', timeout=5)"],
                                capture_output=True, text=True, timeout=60)
        assert direct.returncode != 0 and "Connection refused" in direct.stderr

        up = stack.fl("up", "--json")
        assert up.code == 0, up.out + up.err
        data = up.json["data"]
        assert data["foundry"]["relay"] is True
        assert any("applied the loopback relay" in n for n in data["notes"])
        relay_port = stack.env["FLDEPLOY_RELAY_PORT"]
        assert data["foundry"]["container_url"] == f"http://host.docker.internal:{relay_port}/v1"
        assert _checks(up)["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model"
        assert _checks(up)["stack.chainlit"]["status"] == "ok"

        bind = next(c for c in stack.fl("doctor", "--json").json["data"]["checks"] if c["id"] == "foundry.bind")
        assert bind["status"] == "ok" and "relay" in bind["cause"]
    finally:
        remove_stack(stack)
        run_fldeploy("foundry", "stop", env=stack.env, timeout=60)
