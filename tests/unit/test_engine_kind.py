"""Engine kinds told apart from the engine's own facts, and what each kind means for the stack: the name
containers use for the host, extra_hosts, the relay, init and healthchecks.

Each fact below has the shape the engine really answers with; where it was seen:
  native Docker, Podman 4.3.1: observed on this test bed (GET /version and /info on their sockets).
  Docker Desktop: `docker info` printed by testcontainers (OperatingSystem "Docker Desktop", Name
    "docker-desktop", kernel "*-linuxkit", label com.docker.desktop.address); the socket of its desktop-linux
    context, ~/.docker/run/docker.sock, in docker/docker-py#3146; on Windows npipe:////./pipe/dockerDesktopLinuxEngine
    (docker/desktop-feedback#248). /version Platform.Name "Docker Desktop 4.x.y (build)" as `docker version`
    prints "Server: Docker Desktop 4.x.y (build)".
  Colima: `docker info` with Context colima: OperatingSystem "Ubuntu 24.04.4 LTS", Name "colima"; socket
    ~/.colima/<profile>/docker.sock (abiosoft/colima#902, `colima status`).
  OrbStack: `docker info`: OperatingSystem "OrbStack", Name "orbstack", kernel "*-orbstack-*"; socket
    ~/.orbstack/run/docker.sock (docker/compose#11242).
  Rancher Desktop: `docker info`: OperatingSystem "Alpine Linux v3.20", Name "lima-rancher-desktop"; socket
    ~/.rd/docker.sock (docs.rancherdesktop.io, "Using Testcontainers with Rancher Desktop").
  podman machine: API forwarding on ~/.local/share/containers/podman/machine/<name>/podman.sock
    (containers/podman#14231)."""
from __future__ import annotations

import pytest

from fldeploy.core import engine_kind as ek
from fldeploy.core.compose_model import HOST_GATEWAY, compose_document
from fldeploy.core.stack_plan import FoundryFacts, container_route, stack_spec
from fldeploy.settings import resolve

pytestmark = pytest.mark.unit

NATIVE = ({"Platform": {"Name": ""}, "Version": "20.10.24+dfsg1",
           "Components": [{"Name": "Engine"}, {"Name": "containerd"}, {"Name": "runc"}, {"Name": "docker-init"}]},
          {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "Name": "vm", "Labels": [],
           "InitBinary": "docker-init", "KernelVersion": "6.18.44-fc-v669"},
          "unix:///var/run/docker.sock")
DESKTOP_MAC = ({"Platform": {"Name": "Docker Desktop 4.33.0 (160616)"}, "Components": [{"Name": "Engine"}]},
               {"OperatingSystem": "Docker Desktop", "Name": "docker-desktop", "KernelVersion": "6.10.0-linuxkit",
                "Labels": ["com.docker.desktop.address=unix:///Users/me/Library/Containers/com.docker.docker/"
                           "Data/docker-cli.sock"], "InitBinary": "docker-init"},
               "unix:///Users/me/.docker/run/docker.sock")
DESKTOP_WINDOWS = ({"Platform": {"Name": "Docker Desktop 4.63.0 (214000)"}, "Components": [{"Name": "Engine"}]},
                   {"OperatingSystem": "Docker Desktop", "Name": "docker-desktop",
                    "KernelVersion": "6.6.87.2-microsoft-standard-WSL2",
                    "Labels": ["com.docker.desktop.address=npipe://\\\\.\\pipe\\docker_cli"]},
                   "npipe:////./pipe/dockerDesktopLinuxEngine")
COLIMA = ({"Platform": {"Name": "Docker Engine - Community"}, "Components": [{"Name": "Engine"}]},
          {"OperatingSystem": "Ubuntu 24.04.4 LTS", "Name": "colima", "KernelVersion": "6.8.0-117-generic",
           "InitBinary": "docker-init"},
          "unix:///Users/me/.colima/default/docker.sock")
# a profile with a hostname of its own: the socket path alone tells it
COLIMA_PROFILE = (COLIMA[0], {**COLIMA[1], "Name": "devbox"}, "unix:///Users/me/.colima/work/docker.sock")
ORBSTACK = ({"Platform": {"Name": "Docker Engine - Community"}, "Components": [{"Name": "Engine"}]},
            {"OperatingSystem": "OrbStack", "Name": "orbstack", "KernelVersion": "6.17.8-orbstack-00308-g8f9c941121b1",
             "InitBinary": "docker-init"},
            "unix:///Users/me/.orbstack/run/docker.sock")
RANCHER = ({"Platform": {"Name": ""}, "Components": [{"Name": "Engine"}]},
           {"OperatingSystem": "Alpine Linux v3.20", "Name": "lima-rancher-desktop", "KernelVersion": "6.6.51-0-virt",
            "InitBinary": "docker-init"},
           "unix:///Users/me/.rd/docker.sock")
PODMAN = ({"Platform": {"Name": "linux/amd64/debian-12"}, "Version": "4.3.1",
           "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}, {"Name": "Conmon"},
                          {"Name": "OCI Runtime (runc)"}]},
          {"OperatingSystem": "debian", "Name": "vm", "Labels": None, "InitBinary": ""},
          "unix:///run/podman/podman.sock")
PODMAN_MACHINE = (PODMAN[0], {**PODMAN[1], "OperatingSystem": "fedora"},
                  "unix:///Users/me/.local/share/containers/podman/machine/podman-machine-default/podman.sock")


@pytest.mark.parametrize("facts, on_linux, kind", [
    (NATIVE, True, ek.DOCKER),
    (DESKTOP_MAC, False, ek.DOCKER_DESKTOP),
    (DESKTOP_WINDOWS, False, ek.DOCKER_DESKTOP),
    (DESKTOP_MAC, True, ek.DOCKER_DESKTOP),  # Docker Desktop for Linux runs a VM too
    (COLIMA, False, ek.COLIMA),
    (COLIMA_PROFILE, False, ek.COLIMA),
    (ORBSTACK, False, ek.ORBSTACK),
    (RANCHER, False, ek.RANCHER_DESKTOP),
    (PODMAN, True, ek.PODMAN),
    (PODMAN_MACHINE, False, ek.PODMAN_MACHINE),
    (PODMAN_MACHINE, True, ek.PODMAN_MACHINE),
])
def test_kind_from_facts(facts, on_linux, kind):
    assert ek.classify(*facts, on_linux=on_linux) == (kind, True)


def test_an_unrecognised_engine_off_linux_is_assumed_to_run_in_a_vm():
    assert ek.classify(*NATIVE, on_linux=False) == (ek.DOCKER_DESKTOP, False)


@pytest.mark.parametrize("facts, on_linux", [(None, True), ({"reachable": False, "error": "refused"}, True)])
def test_no_answer_on_linux_assumes_the_native_engine(facts, on_linux):
    engine = ek.engine_of(facts, on_linux)
    assert (engine.kind, engine.known, engine.relays_loopback) == (ek.DOCKER, False, True)


def test_no_answer_elsewhere_assumes_a_vm_engine_that_reaches_the_host_loopback():
    engine = ek.engine_of(None, on_linux=False)
    assert (engine.kind, engine.known, engine.in_vm, engine.relays_loopback) == (ek.DOCKER_DESKTOP, False, True, False)


def test_older_shaped_facts_still_tell_desktop_and_podman():
    assert ek.engine_of({"reachable": True, "desktop": True}).kind == ek.DOCKER_DESKTOP
    assert ek.engine_of({"reachable": True, "podman": True}).kind == ek.PODMAN


# --- what each kind means for the stack ------------------------------------------------------------

def _plan(kind: str, addresses=("127.0.0.1",), **facts):
    engine = ek.engine_of({"reachable": True, "kind": kind, **facts})
    found = FoundryFacts("http://127.0.0.1:5273", "tiny-llama-generic-cpu:1", addresses, True, "172.17.0.1", engine)
    settings = resolve({}, {}, {}, None)
    route = container_route(found, 5299)
    return route, compose_document(stack_spec(settings, found, route, {}, None))


def test_native_docker_relays_a_loopback_foundry_and_names_the_host_through_host_gateway():
    route, doc = _plan(ek.DOCKER)
    assert route.relay and route.url == "http://host.docker.internal:5299/v1"
    assert doc["services"]["open-webui"]["extra_hosts"] == [HOST_GATEWAY]
    assert "foundry-relay" in doc["services"] and doc["services"]["open-webui"]["init"] is True


@pytest.mark.parametrize("kind, name", [(ek.DOCKER_DESKTOP, "Docker Desktop"), (ek.COLIMA, "Colima"),
                                        (ek.ORBSTACK, "OrbStack"), (ek.RANCHER_DESKTOP, "Rancher Desktop")])
def test_vm_engines_use_the_host_name_they_provide_without_relay_or_override(kind, name):
    route, doc = _plan(kind)
    assert not route.relay and route.url == "http://host.docker.internal:5273/v1"
    assert route.reason == f"{name} forwards host.docker.internal to the host's loopback"
    assert "foundry-relay" not in doc["services"]
    # host-gateway would resolve to the VM's own bridge, not the host (colima#277, #902, #949)
    assert all("extra_hosts" not in s for s in doc["services"].values())


def test_podman_uses_host_containers_internal_and_no_host_gateway():
    route, doc = _plan(ek.PODMAN, ("0.0.0.0",), init=True)
    assert not route.relay and route.url == "http://host.containers.internal:5273/v1"
    assert all("extra_hosts" not in s for s in doc["services"].values())
    assert "Podman's containers reach it as host.containers.internal" in route.reason


def test_podman_with_a_loopback_foundry_says_where_it_must_listen_instead_of_relaying():
    route, doc = _plan(ek.PODMAN, ("127.0.0.1", "172.17.0.1"))
    assert not route.relay and "foundry-relay" not in doc["services"]
    assert route.reason == ("Podman's containers reach the host as host.containers.internal, their network's "
                            "gateway: Foundry must listen there or on all interfaces (it listens on 127.0.0.1, "
                            "172.17.0.1); see `fldeploy doctor` (foundry.bind)")


def test_podman_without_catatonit_gets_no_init_and_a_note():
    _, doc = _plan(ek.PODMAN, ("0.0.0.0",), init=False)
    assert all("init" not in s for s in doc["services"].values())
    engine = ek.engine_of({"reachable": True, "kind": ek.PODMAN, "init": False})
    assert any("catatonit" in note for note in ek.engine_notes(engine))


def test_every_healthcheck_is_cmd_shell_on_every_engine():
    for kind in ek.KINDS:
        _, doc = _plan(kind, ("0.0.0.0",))
        for service in doc["services"].values():
            if "healthcheck" in service:
                assert service["healthcheck"]["test"][0] == "CMD-SHELL", (kind, service["healthcheck"])


def test_podman_without_systemd_explains_why_healthchecks_never_run():
    engine = ek.engine_of({"reachable": True, "kind": ek.PODMAN, "runs_healthchecks": False})
    situation = ek.healthcheck_situation(engine)
    assert "no systemd" in situation and "podman healthcheck run" in situation
    assert situation in ek.engine_notes(engine)
    assert "runs the healthchecks itself" in ek.healthcheck_situation(ek.KINDS[ek.DOCKER])


# --- foundry.bind judged for the engine that answers ------------------------------------------------

def _bind(addresses, engine_facts, on_linux=True):
    from fldeploy.core import verdicts as v
    from fldeploy.core.foundry_rules import Candidate, Discovery, Probe

    url = "http://127.0.0.1:5273"
    candidate = Candidate(url, "fldeploy-embedded", "state file")
    probe = Probe(url, "ok", ["tiny-llama-generic-cpu:1"], elapsed_ms=3.0)
    local = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "172.17.0.1", "10.89.0.1"}
    return v.foundry_bind(Discovery(candidate, probe, [candidate], {url: probe}), addresses, engine_facts,
                          "172.17.0.1", local, on_linux)


PODMAN_FACTS = {"reachable": True, "kind": ek.PODMAN, "gateways": ["10.88.0.1", "10.89.0.1"]}


def test_bind_on_podman_is_judged_against_its_gateways_not_docker0():
    out = _bind(["127.0.0.1", "172.17.0.1"], PODMAN_FACTS)
    assert out.status == "fail"
    assert out.cause == ("Foundry listens on 127.0.0.1, 172.17.0.1:5273, but Podman's containers reach the host as "
                         "host.containers.internal, their network's gateway (10.88.0.1, 10.89.0.1; each Compose "
                         "project gets its own), where nothing listens on 5273: they get 'connection refused'")
    assert "`fldeploy foundry start --bind all --model <alias>`" in out.fix and "firewall port 5273" in out.fix


@pytest.mark.parametrize("addresses", [["0.0.0.0"], ["127.0.0.1", "10.89.0.1"]])
def test_bind_on_podman_passes_where_its_network_reaches_foundry(addresses):
    out = _bind(addresses, PODMAN_FACTS)
    assert out.status == "ok" and "host.containers.internal" in out.cause


@pytest.mark.parametrize("kind, name", [(ek.COLIMA, "Colima"), (ek.ORBSTACK, "OrbStack"),
                                        (ek.RANCHER_DESKTOP, "Rancher Desktop"), (ek.PODMAN_MACHINE, "Podman machine")])
def test_bind_loopback_is_fine_on_every_vm_engine(kind, name):
    out = _bind(["127.0.0.1"], {"reachable": True, "kind": kind}, on_linux=False)
    assert out.status == "ok"
    assert f"{name} forwards {ek.KINDS[kind].host_name} to the host's loopback" in out.cause
