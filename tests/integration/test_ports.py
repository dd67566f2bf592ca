"""`fldeploy ports` on real sockets (IPv4, IPv6-only, loopback, wildcard) and real containers."""
from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from fldeploy.adapters.net import interface_ipv4

from ..support.fixtures import BASE_IMAGE
from ..support.servers import free_port


def _port(run, port: int) -> dict:
    return next(p for p in run.json["data"]["ports"] if p["port"] == port)


def test_free_ports_exit_0(fl):
    a, b = free_port(), free_port()
    run = fl("ports", "--json", "--openwebui-port", str(a), "--chainlit-port", str(b))
    assert run.code == 0 and run.json["status"] == "ok"
    assert _port(run, a)["state"] == "free" and _port(run, b)["state"] == "free"


@pytest.mark.parametrize("host,v6only,scope", [
    ("127.0.0.1", False, "127.0.0.1"),
    ("0.0.0.0", False, "0.0.0.0"),
    ("::1", True, "::1"),
    ("::", True, "::"),
])
def test_conflict_names_pid_address_and_a_free_alternative(fl, hold_port, host, v6only, scope):
    pid, port = hold_port(host, 0, v6only)
    run = fl("ports", "--json", "--openwebui-port", str(port))
    assert run.code == 4 and run.json["status"] == "fail"
    entry = _port(run, port)
    assert entry["state"] == "conflict"
    holder = entry["holders"][0]
    assert holder["pid"] == pid and holder["addresses"] == [scope]
    assert holder["process"]["name"].startswith("python") and "hold_port" in holder["process"]["cmdline"]
    alt = entry["suggestions"][0]
    assert abs(alt - port) <= 3 and f"--openwebui-port {alt}" in entry["fix"]
    assert f"FLDEPLOY_OPENWEBUI_PORT={alt}" in entry["fix"]
    assert run.json["errors"][0]["code"] == "ports.conflict"
    human = fl("ports", "--openwebui-port", str(port))
    assert human.code == 4 and f"pid {pid}" in human.out and "CONFLICT" in human.out and scope in human.out


def test_ipv4_and_ipv6_listeners_of_one_port_are_all_listed(fl, hold_port):
    pid4, port = hold_port("127.0.0.1", 0)
    pid6, _ = hold_port("::1", port, v6only=True)
    run = fl("ports", "--json", "--chainlit-port", str(port))
    holders = {h["pid"]: h["addresses"] for h in _port(run, port)["holders"]}
    assert holders == {pid4: ["127.0.0.1"], pid6: ["::1"]}


def test_extra_ports_are_reported_but_not_conflicts(fl, hold_port):
    pid, port = hold_port("127.0.0.1", 0)
    run = fl("ports", str(port), "--json")
    entry = _port(run, port)
    assert run.code == 0 and entry["state"] == "held" and entry["role"] == "requested"
    assert entry["holders"][0]["pid"] == pid


def test_foundry_port_is_expected_not_a_conflict(fl, foundry):
    run = fl("ports", "--json", "--foundry-url", foundry.url)
    entry = _port(run, foundry.port)
    assert run.code == 0 and entry["state"] == "foundry" and entry["role"] == "foundry"
    assert entry["holders"][0]["addresses"] == sorted(["127.0.0.1", interface_ipv4("docker0")])
    assert entry["holders"][0]["pid"] == foundry.pid


@pytest.fixture
def compose_project(tmp_path, docker_engine):
    """A real Compose project publishing a port on 127.0.0.1 from a locally built base image."""
    started = []

    def up(project: str) -> int:
        port = free_port()
        (tmp_path / project).mkdir()
        (tmp_path / project / "compose.yaml").write_text(textwrap.dedent(f"""\
            services:
              web:
                image: {BASE_IMAGE}
                command: ["python3", "-m", "http.server", "8000"]
                init: true
                ports: ["127.0.0.1:{port}:8000"]
            """))
        subprocess.run(["docker", "compose", "-p", project, "up", "-d", "--wait"], cwd=tmp_path / project,
                       check=True, capture_output=True)
        started.append(project)
        return port

    yield up
    for project in started:
        subprocess.run(["docker", "compose", "-p", project, "down", "-t", "1"], cwd=tmp_path / project,
                       capture_output=True)


def test_container_holding_a_port_is_named_with_its_project(fl, compose_project):
    project = f"flports{os.getpid()}"
    port = compose_project(project)
    run = fl("ports", "--json", "--openwebui-port", str(port))
    entry = _port(run, port)
    assert run.code == 4 and entry["state"] == "conflict"
    container = entry["holders"][0]["container"]
    assert container["project"] == project and container["service"] == "web"
    assert container["name"] == f"{project}-web-1"
    assert f"compose project {project}" in entry["cause"]


def test_own_stack_holding_its_port_is_not_a_conflict(fl, compose_project):
    project = f"flown{os.getpid()}"
    port = compose_project(project)
    run = fl("ports", "--json", "--openwebui-port", str(port), FLDEPLOY_PROJECT=project)
    entry = _port(run, port)
    assert run.code == 0 and entry["state"] == "ours"


def test_the_demo_port_is_known_when_the_demo_is_enabled(fl, hold_port):
    pid, port = hold_port("127.0.0.1", 0)
    run = fl("ports", "--json", FLDEPLOY_SERVICES="open-webui,webgpu-demo", FLDEPLOY_WEBGPU_DEMO_PORT=str(port))
    entry = _port(run, port)
    assert run.code == 4 and entry["role"] == "webgpu-demo" and "--webgpu-demo-port" in entry["fix"]
    assert port not in [p["port"] for p in fl("ports", "--json", FLDEPLOY_WEBGPU_DEMO_PORT=str(port)).json["data"]["ports"]]


def test_a_front_end_that_is_not_deployed_needs_no_port(fl, hold_port):
    _, port = hold_port("127.0.0.1", 0)
    run = fl("ports", "--json", FLDEPLOY_SERVICES="open-webui", FLDEPLOY_CHAINLIT_PORT=str(port))
    assert run.code == 0 and port not in [p["port"] for p in run.json["data"]["ports"]]
