"""The stack's own ports are told by the engine's published ports, not by the name of the process holding them:
each engine forwards published ports through a process of its own.

Holders as `ports` sees them (process names as psutil gives them):
  native Docker: docker-proxy; Podman: conmon (observed on this test bed: `ss -ltnp` shows
  users:(("conmon",…)) for a port Podman 4.3 publishes), rootlessport when rootless;
  Docker Desktop: com.docker.backend (macOS), com.docker.backend.exe / wslrelay.exe (Windows, WSL 2);
  Colima: ssh (Lima's ssh port forwarding) or limactl (its host agent); OrbStack: `lsof -i :3306` shows
  COMMAND OrbStack (orbstack/orbstack#2547)."""
from __future__ import annotations

import pytest

from fldeploy.core.engine_kind import is_forwarder
from fldeploy.core.ports import Need, asked_of_engine, attach_containers, classify

pytestmark = pytest.mark.unit

PROJECT = "fldeploy"
ENGINE_HOLDERS = {
    "native": ("docker-proxy", "root"),
    "podman": ("conmon", "root"),
    "podman-rootless": ("rootlessport", "me"),
    "desktop-mac": ("com.docker.backend", "me"),
    "desktop-windows": ("com.docker.backend.exe", "me"),
    "desktop-wsl": ("wslrelay.exe", "me"),
    "colima-ssh": ("ssh", "me"),
    "colima-limactl": ("limactl", "me"),
    "orbstack": ("OrbStack", "me"),
}


def _holders(port: int, name: str | None, user: str = "me", pid: int | None = 4100) -> dict:
    process = {"pid": pid, "name": name, "cmdline": name or "", "user": user} if pid else None
    return {port: {pid: {"pid": pid, "addresses": ["127.0.0.1"], "process": process}}}


def _published(port: int, project: str) -> dict:
    return {port: [{"name": f"{project}-open-webui-1", "id": "3f2a9c1d7b21", "project": project,
                    "service": "open-webui", "host_ip": "127.0.0.1", "image": "ghcr.io/open-webui/open-webui:main"}]}


@pytest.mark.parametrize("engine", sorted(ENGINE_HOLDERS))
def test_a_port_the_stack_publishes_is_its_own_whatever_forwards_it(engine):
    name, user = ENGINE_HOLDERS[engine]
    holders = _holders(3000, name, user)
    assert asked_of_engine(holders) == {3000}
    attach_containers(holders, _published(3000, PROJECT))
    status = classify(Need(3000, "open-webui"), list(holders[3000].values()), PROJECT, {3000})
    assert status.state == "ours", (engine, status.cause)
    assert status.cause == f"held by fldeploy's own stack (container {PROJECT}-open-webui-1, compose project {PROJECT})"


@pytest.mark.parametrize("engine", sorted(ENGINE_HOLDERS))
def test_another_projects_container_is_a_conflict_named_by_its_project(engine):
    name, user = ENGINE_HOLDERS[engine]
    holders = _holders(3000, name, user)
    attach_containers(holders, _published(3000, "monitoring"))
    status = classify(Need(3000, "open-webui"), list(holders[3000].values()), PROJECT, {3000})
    assert status.state == "conflict" and "compose project monitoring" in status.cause
    assert "--openwebui-port 3001" in status.fix


def test_a_forwarder_port_no_container_publishes_stays_a_conflict_named_by_its_process():
    holders = _holders(3000, "ssh")  # an ssh tunnel of the user's, not Colima's
    attach_containers(holders, {})
    status = classify(Need(3000, "open-webui"), list(holders[3000].values()), PROJECT, {3000})
    assert status.state == "conflict" and "ssh (pid 4100, user me)" in status.cause


@pytest.mark.parametrize("pid", [None, 4100])
def test_a_holder_fldeploy_cannot_see_or_name_is_asked_of_the_engine_too(pid):
    assert asked_of_engine(_holders(8080, None, pid=pid)) == {8080}


@pytest.mark.parametrize("name", ["python3", "nginx", "node", "java", "sshd"])
def test_ordinary_processes_are_not_asked_of_the_engine(name):
    assert asked_of_engine(_holders(3000, name)) == set()


def test_forwarder_names_compare_without_case_or_exe():
    assert is_forwarder("WSLRelay.EXE") and is_forwarder("OrbStack") and not is_forwarder("sshd")
