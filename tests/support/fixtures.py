"""Session fixtures of the test bed: the real fldeploy CLI, the real Foundry Local runtime serving the tiny
offline model through a local catalog stand-in, real dockerd, real port holders."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import pytest

from fldeploy.foundry import demo

from .servers import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("FLDEPLOY_CACHE", ROOT / ".cache"))
BASE_IMAGE = "fldeploy-local/debian:bookworm"
FLDEPLOY = [sys.executable, "-m", "fldeploy"]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)


def isolated_env(root: pathlib.Path, **extra: str) -> dict:
    """An environment where fldeploy reads no user config and keeps its state under root."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLDEPLOY_") and k not in ("BASE_URL", "MODEL", "API_KEY")}
    env.update(FLDEPLOY_STATE_DIR=str(root / "state"), FLDEPLOY_MODEL_CACHE_DIR=str(root / "models"),
               XDG_CONFIG_HOME=str(root / "config"), PYTHONUNBUFFERED="1")
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
