"""Foundry's port moves and Open WebUI still lists its models after `up`; a Foundry that listens on loopback
only is reached through the relay `up` adds by itself, which runs unprivileged with a connection limit."""
from __future__ import annotations

import json
import re
import socket
import subprocess

import pytest

from ..support.fixtures import BASE_IMAGE, run_fldeploy
from ..support.servers import free_port
from ..support.stack import make_stack, remove_stack

from fldeploy.adapters import net
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


def _status(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _tree(pid: int) -> list[int]:
    """pid and its descendants (docker-init, then socat)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with open(f"/proc/{p}/task/{p}/children") as f:
            todo += [int(c) for c in f.read().split()]
    return out


def test_relay_runs_unprivileged_with_a_connection_limit(tmp_path, stack_images, tiny_model, catalog_url):
    stack = make_stack(tmp_path, FLDEPLOY_SERVICES="open-webui")
    demo.install_into_cache(tiny_model, stack.env["FLDEPLOY_MODEL_CACHE_DIR"])
    held: list[socket.socket] = []
    try:
        _start(stack, catalog_url, free_port(), bind="loopback")
        up = stack.fl("up", "--json")
        assert up.code == 0, up.out + up.err
        assert up.json["data"]["foundry"]["relay"] is True
        assert _checks(up)["stack.openwebui"]["status"] == "ok"

        cid = stack.compose("ps", "-q", "foundry-relay").stdout.strip()
        info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True,
                                         check=True).stdout)[0]
        assert info["Config"]["User"] == "65534:65534"
        assert [c.upper() for c in info["HostConfig"]["CapDrop"]] == ["ALL"]
        assert "no-new-privileges:true" in info["HostConfig"]["SecurityOpt"]
        processes = _tree(info["State"]["Pid"])
        assert len(processes) >= 2, "docker-init and socat"
        for pid in processes:
            status = _status(pid)
            assert status["Uid"].split() == ["65534"] * 4 and status["Gid"].split() == ["65534"] * 4, status
            assert int(status["CapEff"], 16) == int(status["CapPrm"], 16) == 0, status
            assert status["NoNewPrivs"].strip() == "1", status

        # more connections than max-children: the one past the limit waits, and is served once one closes
        limit = int(re.search(r"max-children=(\d+)", " ".join(info["Config"]["Cmd"])).group(1))
        where = (net.interface_ipv4("docker0"), int(stack.env["FLDEPLOY_RELAY_PORT"]))
        held = [socket.create_connection(where, timeout=5) for _ in range(limit)]
        extra = socket.create_connection(where, timeout=5)
        held.append(extra)
        extra.sendall(b"GET /v1/models HTTP/1.0\r\nHost: relay\r\n\r\n")
        extra.settimeout(3)
        with pytest.raises(socket.timeout):
            extra.recv(1)
        for s in held[:-1]:
            s.close()
        extra.settimeout(30)
        assert extra.recv(16).startswith(b"HTTP/1."), "served once connections below the limit closed"
        assert stack.fl("status").code == 0
    finally:
        for s in held:
            s.close()
        remove_stack(stack)
        run_fldeploy("foundry", "stop", env=stack.env, timeout=60)
