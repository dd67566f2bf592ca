"""The Chainlit app's image on its own (`docker run`, no Foundry needed): it refuses to start without a usable
login, takes socket connections only from the pages of its own origins, signs in with the configured password
only, takes no uploads, and shows its endpoints without their credentials. The browser tests repeat the
essentials through a page."""
from __future__ import annotations

import subprocess
import time
import uuid
from contextlib import contextmanager

import httpx
import pytest

from fldeploy.adapters.net import interface_ipv4
from fldeploy.stack.end_to_end import _chainlit_login

from ..support.chainlit_client import join_socket, polling_handshake, sign_in, upload
from ..support.openai_standin import openai_standin
from ..support.servers import free_port
from ..support.stack import CHAINLIT_IMAGE

PASSWORD = "pw-" + uuid.uuid4().hex
SECRET = uuid.uuid4().hex * 2
LOGIN = {"CHAINLIT_ADMIN_PASSWORD": PASSWORD, "CHAINLIT_AUTH_SECRET": SECRET}


def env_args(env: dict) -> list[str]:
    return [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]


@contextmanager
def running_app(**env: str):
    """The image as fldeploy runs it: published on a loopback port, ALLOW_ORIGINS naming that port."""
    port, name = free_port(), f"flt-chainlit-{uuid.uuid4().hex[:8]}"
    env = {"ALLOW_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}", "BASE_URL": "http://127.0.0.1:9/v1",
           **env}
    started = subprocess.run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080",
                              *env_args(env), CHAINLIT_IMAGE], capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
                pytest.fail(f"the app did not start: {logs[-2000:]}")
            time.sleep(0.3)
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            yield url, port, client
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def image(stack_images):
    return stack_images["chainlit"]


@pytest.mark.parametrize("env,says", [
    ({}, "no login password: set CHAINLIT_ADMIN_PASSWORD"),
    ({"CHAINLIT_ADMIN_PASSWORD": "change-me", "CHAINLIT_AUTH_SECRET": SECRET}, "example placeholder"),
    ({"CHAINLIT_ADMIN_PASSWORD": PASSWORD}, "no CHAINLIT_AUTH_SECRET"),
    ({"CHAINLIT_ADMIN_PASSWORD": PASSWORD, "CHAINLIT_AUTH_SECRET": "change-me"}, "placeholder or short"),
    ({"CHAINLIT_LOGIN": "off", "PUBLIC": "true"}, "CHAINLIT_LOGIN=off on an app published on all interfaces"),
    ({**LOGIN, "ALLOW_ORIGINS": "*"}, "ALLOW_ORIGINS: '*' is not an origin"),
])
def test_refuses_to_start_without_a_usable_login(image, env, says):
    name = f"flt-chainlit-{uuid.uuid4().hex[:8]}"
    try:
        done = subprocess.run(["docker", "run", "--rm", "--name", name, *env_args(env), image], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the app started (it ran for 60 s) instead of refusing to")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "chainlit app: refusing to start: " in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_only_its_own_origins_may_open_the_socket_or_read_its_answers(image):
    with running_app(**LOGIN) as (url, port, client):
        for origin in (None, f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            assert polling_handshake(client, url, origin).status_code == 200, origin
        for origin in (f"http://127.0.0.1:{free_port()}", "http://evil.example", "null", f"https://127.0.0.1:{port}"):
            refused = polling_handshake(client, url, origin)
            assert refused.status_code == 400 and "not an accepted origin" in refused.text, origin
        own = client.get("/auth/config", headers={"Origin": f"http://localhost:{port}"})
        assert own.headers.get("access-control-allow-origin") == f"http://localhost:{port}"
        foreign = client.get("/auth/config", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers, "other pages cannot read its answers"


def test_only_the_configured_password_signs_in_and_uploads_are_off(image):
    with running_app(**LOGIN) as (url, _, client):
        config = client.get("/auth/config").json()
        assert config["requireLogin"] and config["passwordAuth"]
        assert join_socket(client, url, "s-anonymous").startswith("44"), "no login, no socket"
        assert upload(client, url, "s-anonymous").status_code == 401
        assert client.post("/login", data={"username": "admin", "password": PASSWORD + "x"}).status_code == 401
        assert client.post("/login", data={"username": "root", "password": PASSWORD}).status_code == 401

        assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 200
        assert client.get("/user").json()["identifier"] == "admin"
        assert join_socket(client, url, "s-admin").startswith("40")
        refused = upload(client, url, "s-admin")
        assert refused.status_code == 400 and "File upload is not enabled" in refused.text
        assert client.get("/project/settings", params={"language": "en-US"}).json()["features"][
            "spontaneous_file_upload"]["enabled"] is False

        # fldeploy's check (up, doctor) signs in the same way
        assert _chainlit_login(url, "admin", PASSWORD, public=False) == (
            "ok", "admin signs in, a wrong password is refused", "")
        status, cause, _ = _chainlit_login(url, "admin", "not-" + PASSWORD, public=False)
        assert status == "fail" and "cannot sign in" in cause and "CHAINLIT_ADMIN_PASSWORD" in cause


def test_published_publicly_it_accepts_pages_of_its_own_address_too(image):
    with running_app(**LOGIN, PUBLIC="true") as (url, port, client):
        lan = {"Host": f"chat.lan:{port}"}
        handshake = client.get("/ws/socket.io/", params={"EIO": "4", "transport": "polling"},
                               headers={**lan, "Origin": f"http://chat.lan:{port}"})
        assert handshake.status_code == 200
        foreign = client.get("/ws/socket.io/", params={"EIO": "4", "transport": "polling"},
                             headers={**lan, "Origin": "http://evil.example"})
        assert foreign.status_code == 400


def test_login_off_is_an_explicit_choice_for_loopback(image):
    with running_app(CHAINLIT_LOGIN="off") as (url, port, client):
        assert not client.get("/auth/config").json()["requireLogin"]  # Chainlit answers null
        assert join_socket(client, url, "s-open").startswith("40")
        assert polling_handshake(client, url, "http://evil.example").status_code == 400, "origins still checked"
        assert _chainlit_login(url, "admin", "", public=False)[0] == "warn"
        status, cause, fix = _chainlit_login(url, "admin", "", public=True)
        assert status == "fail" and "published on all interfaces" in cause and "CHAINLIT_LOGIN" in fix


def test_the_first_message_shows_endpoints_without_their_credentials(image, page):
    gateway = interface_ipv4("docker0")
    with openai_standin(host=gateway, port=free_port(gateway)) as standin:
        local = f"http://fluser:fl-local-secret@{gateway}:{standin.port}/v1"
        cloud = "https://cloud.invalid/v1?key=sk-cloud-secret&api-version=2024-06-01"
        with running_app(**LOGIN, BASE_URL=local, CLOUD_BASE_URL=cloud) as (url, _, client):
            sign_in(page, url, "admin", PASSWORD)
            first = page.locator('[data-step-type="assistant_message"] .message-content').first
            first.wait_for()
            page.wait_for_function("() => document.body.innerText.includes('standin-model:1')")
            text = first.inner_text()
    assert f"http://fluser:***@{gateway}:{standin.port}/v1" in text, text
    assert "key=***" in text and "api-version=2024-06-01" in text, text
    assert "fl-local-secret" not in text and "sk-cloud-secret" not in text
