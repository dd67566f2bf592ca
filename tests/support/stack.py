"""Fixtures for whole-stack tests: the images built once per run from the Debian base, and an isolated
stack (own Compose project, volume, ports, stack folder) torn down with its volume afterwards."""
from __future__ import annotations

import os
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import yaml

from fldeploy.core.stack_plan import LOCAL_IMAGES
from fldeploy.settings import SPEC_BY_NAME

from .fixtures import BASE_IMAGE, ROOT, isolated_env, run_fldeploy
from .servers import free_port

CHAINLIT_IMAGE = SPEC_BY_NAME["chainlit_image"].default
IMAGES = {"open-webui": (LOCAL_IMAGES["open-webui"], "open-webui"),
          "chainlit": (CHAINLIT_IMAGE, "chainlit"),
          "foundry-relay": (LOCAL_IMAGES["foundry-relay"], "relay"),
          "webgpu-demo": (SPEC_BY_NAME["webgpu_demo_image"].default, "webgpu-demo")}


@pytest.fixture(scope="session")
def stack_images(docker_engine, tmp_path_factory):
    """Build Open WebUI (from PyPI), the Chainlit app, the relay and the in-browser demo on the local Debian
    base, once per run.
    Always through `docker compose build`: BuildKit's cache makes it quick when deploy/ did not change, and
    an image left by an earlier run is never used stale."""
    from fldeploy.stack.assets import vendor_webgpu_runtime

    vendor_webgpu_runtime()
    folder = tmp_path_factory.mktemp("images")
    doc = {"services": {name: {"image": image, "build": {
        "context": str(ROOT / "deploy" / sub), "args": {"BASE_IMAGE": BASE_IMAGE}, "secrets": ["host_ca"]}}
        for name, (image, sub) in IMAGES.items()},
        "secrets": {"host_ca": {"file": "/etc/ssl/certs/ca-certificates.crt"}}}
    (folder / "compose.yaml").write_text(yaml.safe_dump(doc))
    done = subprocess.run(["docker", "compose", "-p", "fldeploy-images", "build"], cwd=folder,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"image build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return {name: spec[0] for name, spec in IMAGES.items()}


@dataclass
class Stack:
    env: dict
    project: str
    dir: str
    openwebui_port: int
    chainlit_port: int

    def fl(self, *args: str, timeout: float = 900, **extra: str):
        return run_fldeploy(*args, env={**self.env, **extra}, timeout=timeout)

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "compose", "-p", self.project, *args], cwd=self.dir,
                              capture_output=True, text=True, timeout=timeout)


def make_stack(root, **extra: str) -> Stack:
    project = f"flt{uuid.uuid4().hex[:8]}"
    ports = free_port(), free_port()
    env = isolated_env(root, FLDEPLOY_BUILD_LOCAL="1", FLDEPLOY_BASE_IMAGE=BASE_IMAGE,
                       FLDEPLOY_PROJECT=project, FLDEPLOY_VOLUME=f"{project}-data",
                       FLDEPLOY_OPENWEBUI_PORT=str(ports[0]), FLDEPLOY_CHAINLIT_PORT=str(ports[1]),
                       FLDEPLOY_STACK_DIR=str(root / "stack"), FLDEPLOY_RELAY_PORT=str(free_port()),
                       FLDEPLOY_WEBGPU_DEMO_PORT=str(free_port()), **extra)
    return Stack(env, project, str(root / "stack"), *ports)


def remove_stack(stack: Stack) -> None:
    subprocess.run(["docker", "compose", "-p", stack.project, "down", "--volumes", "--remove-orphans", "-t", "2"],
                   cwd=stack.dir if os.path.isdir(stack.dir) else None, capture_output=True, timeout=120)


@contextmanager
def stack_up(root, foundry_url: str, **extra: str):
    """A stack of the test's own, up (asserted), removed with its volume afterwards."""
    made = make_stack(root, FLDEPLOY_FOUNDRY_URL=foundry_url, **extra)
    try:
        up = made.fl("up", "--json")
        assert up.code == 0, up.out + up.err
        yield made
    finally:
        remove_stack(made)
