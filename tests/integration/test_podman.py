"""fldeploy on Podman for real: Debian's Podman 4.3 through its Docker-compatible API, on a private socket and a
private store (its own containers.conf and storage.conf: nothing of the host's Podman changes), with the
images moved from Docker (`docker save | podman load`, once for the module).

Two limits of this sandbox, not of Podman, shape the set-up (see /work/shared/testbed/podman.md):
- no CAP_SYS_RESOURCE: every container fails with 'error setting rlimit type 7' unless Podman sets no default
  ulimits, so the private containers.conf says `default_ulimits = []`;
- no systemd: Podman runs healthchecks from systemd timers, so here they never run by themselves. The tests
  that need a healthy stack stand in for the timer with a loop of `podman healthcheck run` (SystemdTimerStandIn);
  the test without it shows what `up` then says."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import yaml

from fldeploy.adapters import engine
from fldeploy.core.stack_plan import LOCAL_IMAGES

from ..support.fixtures import BASE_IMAGE, isolated_env, run_fldeploy, start_foundry, stop_foundry

pytestmark = pytest.mark.timeout(900)
OPENWEBUI_IMAGE = LOCAL_IMAGES["open-webui"]
CONTAINERS_CONF = """\
[containers]
# a sandbox limit, not a Podman one: without CAP_SYS_RESOURCE the default ulimits cannot be set
default_ulimits = []

[network]
network_config_dir = "{root}/networks"

[engine]
tmp_dir = "{root}/tmp"
volume_path = "{root}/volumes"
"""
STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{root}/storage"
runroot = "{root}/run"
"""


@dataclass
class Podman:
    host: str  # DOCKER_HOST for fldeploy, the docker CLI and Compose
    env: dict  # the podman CLI on the same private store
    load_seconds: float

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout)


def _move_image(image: str, env: dict) -> float:
    """`docker save IMAGE | podman load`: two processes and a pipe, no shell."""
    start = time.monotonic()
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = subprocess.Popen(["podman", "load"], stdin=save.stdout, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert save.stdout is not None
    save.stdout.close()  # podman load holds the read end: docker save learns if it stops reading
    out, _ = load.communicate(timeout=600)
    assert save.wait(timeout=60) == 0 and load.returncode == 0, f"moving {image} to Podman failed: {out[-500:]}"
    return time.monotonic() - start


def _wait_for_api(host: str, service: subprocess.Popen, log: str) -> None:
    endpoint = engine.Endpoint(host, "test")
    for _ in range(100):
        try:
            engine.get("/version", 2.0, endpoint)
            return
        except engine.EngineError:
            assert service.poll() is None, f"podman system service exited: {open(log).read()[-800:]}"
            time.sleep(0.1)
    raise AssertionError(f"podman system service did not answer on {host}")


def _mounts_under(root: str) -> list[str]:
    with open("/proc/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(root)]


def _unmount_under(root: str) -> None:
    """Podman's store mounts under root. The conmon of each `podman healthcheck run` (an exec session) lingers
    with --exit-delay 300 and then runs `podman container cleanup`, which mounts the store again: the
    processes of this private store are ended first (SIGKILL: no exit command runs), then it is unmounted."""
    import psutil

    ours = [p for p in psutil.process_iter(["cmdline"]) if root in " ".join(p.info["cmdline"] or [])]
    for process in ours:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(ours, timeout=10)
    deadline = time.monotonic() + 10
    while _mounts_under(root) and time.monotonic() < deadline:
        for target in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)
        time.sleep(0.2)


@pytest.fixture(scope="module")
def podman(tmp_path_factory, docker_engine, request):
    """Podman's API service on a private socket and store; Open WebUI's image loaded into it once."""
    assert shutil.which("podman"), "podman is missing: run scripts/setup.sh --test (apt-get install podman catatonit)"
    assert shutil.which("catatonit") or os.path.exists("/usr/libexec/podman/catatonit"), \
        "catatonit (Podman's init for `init: true`) is missing: run scripts/setup.sh --test"
    if subprocess.run(["docker", "image", "inspect", OPENWEBUI_IMAGE], capture_output=True).returncode != 0:
        request.getfixturevalue("stack_images")
    root = tmp_path_factory.mktemp("podman")
    (root / "containers.conf").write_text(CONTAINERS_CONF.format(root=root))
    (root / "storage.conf").write_text(STORAGE_CONF.format(root=root))
    env = {**os.environ, "CONTAINERS_CONF": str(root / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(root / "storage.conf")}
    env.pop("DOCKER_HOST", None)
    host, log = f"unix://{root}/podman.sock", str(root / "service.log")
    with open(log, "wb") as log_file:
        service = subprocess.Popen(["podman", "system", "service", "--time=0", host], env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_for_api(host, service, log)
        yield Podman(host, env, _move_image(OPENWEBUI_IMAGE, env))
    finally:
        for args in (["rm", "--all", "--force", "--time", "2"], ["volume", "rm", "--all", "--force"]):
            subprocess.run(["podman", *args], env=env, capture_output=True, timeout=120)
        networks = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}"], env=env,
                                  capture_output=True, text=True).stdout.split()
        for network in networks:
            if network != "podman":
                subprocess.run(["podman", "network", "rm", "--force", network], env=env, capture_output=True)
        service.terminate()
        service.wait(timeout=30)
        _unmount_under(str(root))
        shutil.rmtree(root / "storage", ignore_errors=True)


class SystemdTimerStandIn:
    """What systemd's timer does for Podman's healthchecks, done by the test on a host without systemd: run each
    running container's healthcheck of the project every 2 s (`podman healthcheck run`)."""

    def __init__(self, podman: Podman, project: str) -> None:
        self.podman, self.project = podman, project
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            names = self.podman.cli("ps", "--format", "{{.Names}}", "--filter",
                                    f"label=com.docker.compose.project={self.project}").stdout.split()
            for name in names:
                self.podman.cli("healthcheck", "run", name)
            self.stop.wait(2)


@contextmanager
def healthchecks_run(podman: Podman, project: str):
    stand_in = SystemdTimerStandIn(podman, project)
    stand_in.thread.start()
    try:
        yield
    finally:
        stand_in.stop.set()
        stand_in.thread.join(timeout=30)


@pytest.fixture(scope="module")
def foundry_on_all_interfaces(tmp_path_factory, tiny_model, catalog_url):
    """A Foundry where Podman's networks reach the host: rootful Podman 4.3 gives each Compose project a network of
    its own (10.89.x.1), which only a listener on all interfaces can cover before the network exists."""
    started = start_foundry(tmp_path_factory.mktemp("foundry-all"), tiny_model, catalog_url, "--bind", "all")
    yield started
    stop_foundry(started)


@pytest.fixture
def stack_env(podman, foundry_on_all_interfaces, tmp_path):
    """An isolated stack (own project, volume, ports, folder) on Podman, taken down with its volume after."""
    f = foundry_on_all_interfaces
    env = isolated_env(tmp_path, DOCKER_HOST=podman.host, FLDEPLOY_BUILD_LOCAL="1", FLDEPLOY_BASE_IMAGE=BASE_IMAGE,
                       FLDEPLOY_STACK_DIR=str(tmp_path / "stack"), FLDEPLOY_FOUNDRY_URL=f.url,
                       FLDEPLOY_MODEL=f.model_id)
    yield env
    run_fldeploy("down", "--volumes", "--yes", env=env, timeout=120)


def _checks(run) -> dict:
    return {c["id"]: c for c in run.json["data"]["checks"]}


def test_doctor_names_podman_and_says_where_foundry_must_listen(podman, foundry, tmp_path):
    # the session Foundry listens on 127.0.0.1 and docker0 only: where Docker's containers reach it, not Podman's
    env = isolated_env(tmp_path, DOCKER_HOST=podman.host)
    run = run_fldeploy("doctor", "--json", "--foundry-url", foundry.url, env=env)
    checks = _checks(run)
    engine_check = checks["docker.engine"]
    # no systemd here, so Podman never runs healthchecks: doctor names the engine and warns, with what to do
    assert engine_check["status"] == "warn" and "healthchecks never run" in engine_check["cause"], engine_check
    assert "podman healthcheck run" in engine_check["fix"]
    assert engine_check["cause"].startswith("Podman 4.3") and f"{podman.host} (DOCKER_HOST)" in engine_check["cause"]
    assert engine_check["data"]["kind"] == "podman" and "10.88.0.1" in engine_check["data"]["gateways"]
    bind = checks["foundry.bind"]
    assert bind["status"] == "fail" and run.code == 1
    assert "Podman's containers reach the host as host.containers.internal, their network's gateway (10.88.0.1" \
        in bind["cause"]
    assert "connection refused" in bind["cause"] and "`fldeploy foundry start --bind all --model <alias>`" in bind["fix"]


def test_up_without_systemd_stops_at_wait_timeout_and_says_why(podman, stack_env):
    run = run_fldeploy("up", "--services", "open-webui", "--json", env={**stack_env, "FLDEPLOY_WAIT_TIMEOUT": "15"},
                       timeout=300)
    assert run.code == 6, run.out + run.err
    error = run.json["errors"][0]
    assert error["code"] == "stack.wait" and "application not healthy after 15s" in error["message"]
    assert "no systemd, so they never run" in error["hint"] and "podman healthcheck run CONTAINER" in error["hint"]


def test_up_brings_open_webui_up_on_podman_and_its_chat_reaches_foundry(podman, stack_env, record_property):
    project = stack_env["FLDEPLOY_PROJECT"]
    with healthchecks_run(podman, project):
        start = time.monotonic()
        first = run_fldeploy("up", "--services", "open-webui", "--json", env=stack_env, timeout=900)
        up_seconds = time.monotonic() - start
        assert first.code == 0, first.out[-3000:] + first.err[-2000:]
        start = time.monotonic()
        second = run_fldeploy("up", "--services", "open-webui", "--json", env=stack_env, timeout=900)
        second_seconds = time.monotonic() - start
        # the stack's ports are held by conmon, and still the stack's own: no exit 4
        assert second.code == 0, second.out[-3000:] + second.err[-2000:]
        ports = run_fldeploy("ports", "--json", env=stack_env)
        doctor = run_fldeploy("doctor", "--json", env=stack_env, timeout=180)
    figures = {"podman_load_openwebui_s": round(podman.load_seconds, 1), "up_s": round(up_seconds, 1),
               "second_up_s": round(second_seconds, 1)}
    for name, value in figures.items():
        record_property(name, value)
    print(f"\nPodman figures: {figures}")
    data = first.json["data"]
    assert data["foundry"]["container_url"].startswith("http://host.containers.internal:")
    openwebui = _checks(first)["stack.openwebui"]
    assert openwebui["status"] == "ok" and openwebui["data"]["ui_answer"] == "Hello from tiny model", openwebui
    assert any("no systemd" in note for note in data["notes"])
    own = next(p for p in ports.json["data"]["ports"] if p["role"] == "open-webui")
    assert ports.code == 0 and own["state"] == "ours", own
    assert own["holders"][0]["process"]["name"] == "conmon"

    checks = _checks(doctor)
    assert checks["foundry.bind"]["status"] == "ok" and "host.containers.internal" in checks["foundry.bind"]["cause"]
    from_container = checks["foundry.from_container"]
    assert from_container["status"] == "ok" and "host.containers.internal" in from_container["cause"], from_container

    service = yaml.safe_load(open(os.path.join(stack_env["FLDEPLOY_STACK_DIR"], "compose.yaml")))["services"]["open-webui"]
    assert "extra_hosts" not in service  # Podman 4.3 writes host-gateway literally into /etc/hosts
    assert service["healthcheck"]["test"][0] == "CMD-SHELL" and service["init"] is True
    pid1 = podman.cli("exec", f"{project}-open-webui-1", "cat", "/proc/1/cmdline").stdout
    assert pid1.startswith("/run/podman-init"), pid1  # catatonit, Podman's init
