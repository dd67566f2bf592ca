"""The expose proxy as Docker Desktop, Colima and OrbStack run it (no host network there): nginx on a bridge
network, its port published on the address given, Foundry reached as host.docker.internal. Run here on the
native engine, where host.docker.internal is the bridge gateway (extra_hosts host-gateway) and the session's
Foundry listens there too: the same compose document and nginx configuration, for real."""
from __future__ import annotations

import subprocess
import time
import uuid

import httpx
import pytest

from fldeploy.core import expose_model as m
from fldeploy.core.compose_model import dotenv_text
from fldeploy.core.foundry_rules import url_port
from fldeploy.services.expose import _dump

from ..support.fixtures import BASE_IMAGE, ROOT
from ..support.servers import free_port

KEY = "k" * 20 + "-_" + "K0" * 10


@pytest.fixture
def published(tmp_path, foundry, docker_engine):
    port = free_port()
    spec = m.ExposeSpec("127.0.0.1", port, "host.docker.internal", url_port(foundry.url), False, m.LOCAL_IMAGE,
                        str(ROOT / "deploy" / "nginx"), BASE_IMAGE, ("host.docker.internal:host-gateway",))
    project = f"flt{uuid.uuid4().hex[:8]}-expose"
    (tmp_path / "compose.yaml").write_text(_dump(m.compose_document(spec, project)))
    (tmp_path / ".env").write_text(dotenv_text({m.KEY_VAR: KEY}, "test"))
    compose = ["docker", "compose", "--project-directory", str(tmp_path), "-p", project]
    try:
        done = subprocess.run([*compose, "up", "--detach"], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        yield f"http://127.0.0.1:{port}", compose
    finally:
        subprocess.run([*compose, "down", "-t", "2"], capture_output=True, timeout=120)


def test_published_proxy_reaches_foundry_by_host_name_and_wants_the_key(published):
    url, compose = published
    good = {"Authorization": f"Bearer {KEY}"}
    for _ in range(50):
        try:
            answer = httpx.get(url + "/v1/models", headers=good, timeout=3)
            break
        except httpx.TransportError:  # nginx still starting
            time.sleep(0.2)
    assert answer.status_code == 200 and answer.json()["data"][0]["id"] == "tiny-llama-generic-cpu:1"
    assert httpx.get(url + "/v1/models").status_code == 401
    assert httpx.post(url + "/shutdown", headers=good).status_code == 404
    ps = subprocess.run([*compose, "ps", "--format", "{{.Ports}}"], capture_output=True, text=True).stdout
    assert f"127.0.0.1:{url.rsplit(':', 1)[1]}->8080/tcp" in ps
