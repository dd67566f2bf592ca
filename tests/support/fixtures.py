"""Session fixtures of the test bed: the real fldeploy CLI, the real Foundry Local runtime serving the tiny
offline model through a local catalog stand-in, real dockerd, real port holders."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

from fldeploy.foundry import demo

from .servers import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLDEPLOY_CACHE", ROOT / ".cache"))
BASE_IMAGE = "fldeploy-local/debian:bookworm"
FLDEPLOY = [sys.executable, "-m", "fldeploy"]
# set by the guard before any test runs: the Docker CLI config of the user who runs the tests
REAL_DOCKER_CONFIG = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)


def isolated_env(root: pathlib.Path, **extra: str) -> dict:
    """An environment where fldeploy reads no user config, keeps every file under root, and names its own stack:
    its own HOME and XDG folders, Compose project, volume and ports, so a user's stack on this host is never
    seen nor changed. The Docker CLI keeps the real config folder (its Compose plugin and contexts live there)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLDEPLOY_") and k not in ("BASE_URL", "MODEL", "API_KEY")}
    project = f"flt{uuid.uuid4().hex[:10]}"
    home = root / "home"
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_CACHE_HOME=str(home / ".cache"),
               DOCKER_CONFIG=REAL_DOCKER_CONFIG, PYTHONUNBUFFERED="1",
               FLDEPLOY_STATE_DIR=str(root / "state"), FLDEPLOY_MODEL_CACHE_DIR=str(root / "models"),
               FLDEPLOY_PROJECT=project, FLDEPLOY_VOLUME=f"{project}-data",
               FLDEPLOY_OPENWEBUI_PORT=str(free_port()), FLDEPLOY_CHAINLIT_PORT=str(free_port()),
               FLDEPLOY_WEBGPU_DEMO_PORT=str(free_port()), FLDEPLOY_RELAY_PORT=str(free_port()))
    env.update(extra)
    return env


def run_fldeploy(*args: str, env: dict, cwd: str | os.PathLike | None = None, timeout: float = 120) -> Run:
    done = subprocess.run(FLDEPLOY + list(args), env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path)


@pytest.fixture
def fl(env, tmp_path):
    """Run the real CLI in an isolated environment: fl('doctor', '--json', FLDEPLOY_X='...')."""
    def call(*args: str, cwd=None, timeout: float = 120, **extra: str) -> Run:
        return run_fldeploy(*args, env={**env, **extra}, cwd=cwd or tmp_path, timeout=timeout)
    return call


@pytest.fixture(scope="session")
def tiny_model() -> str:
    """The offline-built tiny chat model (built once, < 1 s, kept in .cache)."""
    target = CACHE / "tiny-model"
    if not (target / "genai_config.json").exists():
        demo.build_model(str(target))
    return str(target)


@pytest.fixture(scope="session")
def catalog_url():
    """A local stand-in of Foundry's remote catalog service, listing the tiny model."""
    server, url = demo.start_catalog()
    yield url
    server.shutdown()


@dataclass
class Foundry:
    url: str
    model_id: str
    alias: str
    pid: int
    env: dict
    port: int


def start_foundry(root: pathlib.Path, tiny_model: str, catalog_url: str, *extra: str) -> Foundry:
    """`fldeploy foundry start` for real: the SDK runtime in a background process, model from the catalog."""
    env = isolated_env(root)
    demo.install_into_cache(tiny_model, env["FLDEPLOY_MODEL_CACHE_DIR"])
    port = free_port()
    run = run_fldeploy("foundry", "start", "--model", demo.ALIAS, "--catalog-url", catalog_url,
                       "--port", str(port), "--json", *extra, env=env)
    assert run.code == 0, f"foundry start failed: {run.out}\n{run.err}"
    data = run.json["data"]
    return Foundry(data["url"], data["model_id"], data["alias"], data["pid"], env, port)


def stop_foundry(foundry: Foundry) -> None:
    run_fldeploy("foundry", "stop", env=foundry.env, timeout=60)


@pytest.fixture(scope="session")
def foundry(tmp_path_factory, tiny_model, catalog_url):
    """One real Foundry Local for the session, listening on loopback and the Docker bridge gateway."""
    started = start_foundry(tmp_path_factory.mktemp("foundry"), tiny_model, catalog_url)
    yield started
    stop_foundry(started)


@pytest.fixture(scope="session")
def docker_engine():
    """The real dockerd; the test bed (scripts/setup.sh --test) starts it. No silent skip."""
    done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    assert done.returncode == 0, f"dockerd is not reachable: run scripts/setup.sh --test ({done.stderr.strip()})"
    image = subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True)
    assert image.returncode == 0, f"{BASE_IMAGE} is missing: run scripts/setup.sh --test"
    return done.stdout.strip()


@pytest.fixture
def hold_port():
    """Start a separate process holding a listening socket: hold_port('::1', v6only=True) -> (pid, port)."""
    procs: list[subprocess.Popen] = []

    def start(host: str = "127.0.0.1", port: int = 0, v6only: bool = False) -> tuple[int, int]:
        argv = [sys.executable, "-m", "tests.support.hold_port", host, str(port)] + (["--v6only"] if v6only else [])
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline().split()
        assert line and line[0] == "ready", "port holder did not start"
        return proc.pid, int(line[1])

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@dataclass
class Netns:
    """A network namespace of the test's own: loopback, and a bridge docker0 (as Docker makes) with the bridge gateway's address,
    so Foundry binds as on a Docker host. A Foundry outside it (a user's, another test's) is invisible inside:
    its sockets are not in this namespace's tables, and its ports are not on this loopback."""
    name: str
    gateway: str = "172.17.0.1"

    def argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def fl(self, *args: str, env: dict, timeout: float = 120) -> Run:
        done = subprocess.run(self.argv(FLDEPLOY + list(args)), env=env, capture_output=True, text=True,
                              timeout=timeout)
        return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def own_netns():
    name = f"flt{uuid.uuid4().hex[:8]}"
    ns = Netns(name)
    steps = [["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"],
             ["ip", "-n", name, "link", "add", "docker0", "type", "bridge"],
             ["ip", "-n", name, "addr", "add", f"{ns.gateway}/16", "dev", "docker0"],
             ["ip", "-n", name, "link", "set", "docker0", "up"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(step)}: {done.stderr} (network namespaces need root)"
    yield ns
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:  # anything the test left running in it
        subprocess.run(["kill", "-KILL", pid], capture_output=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
