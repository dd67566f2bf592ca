"""The Chainlit app deployed by `fldeploy up`, in headless Chromium: the login comes first (the password
generated into the stack's .env); then it streams Foundry's answer, remembers the previous turn, refuses an
over-long message without sending it, says so in the chat when its model endpoint is gone and recovers. A page
of another origin cannot use its socket, even with the login cookie in the browser; without the login neither
the socket nor the upload route answers; uploads are off."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fldeploy.adapters.net import interface_ipv4
from fldeploy.stack.files import read_secrets

from ..support.browser import ARTIFACTS
from ..support import chainlit_client
from ..support.chainlit_client import PAGE_PROBE, join_socket, page_server, upload
from ..support.fixtures import run_fldeploy
from ..support.openai_standin import openai_standin
from ..support.servers import free_port
from ..support.stack import Stack, make_stack, remove_stack

ANSWERS = '[data-step-type="assistant_message"] .message-content'


@dataclass
class App:
    url: str
    user: str
    password: str
    stack: Stack
    up_output: str


def ask(page, text: str) -> None:
    page.locator("#chat-input").fill(text)
    page.keyboard.press("Enter")


def wait_for_answer(page, index: int, contains: str) -> str:
    answer = page.locator(ANSWERS).nth(index)
    answer.wait_for()
    page.wait_for_function("([sel, i, text]) => { const n = document.querySelectorAll(sel)[i];"
                           " return n && n.innerText.includes(text); }", arg=[ANSWERS, index, contains],
                           timeout=60_000)
    return answer.inner_text()


def sign_in(page, app: App, password: str | None = None) -> None:
    chainlit_client.sign_in(page, app.url, app.user, app.password if password is None else password,
                            expect_chat=password is None)


def start_app(root: Path, foundry_url: str) -> App:
    stack = make_stack(root, FLDEPLOY_FOUNDRY_URL=foundry_url, FLDEPLOY_SERVICES="chainlit")
    run = stack.fl("up")
    assert run.code == 0, run.out + run.err
    password = read_secrets(Path(stack.dir))["CHAINLIT_ADMIN_PASSWORD"]
    return App(f"http://127.0.0.1:{stack.chainlit_port}", "admin", password, stack, run.out + run.err)


@pytest.fixture(scope="module")
def foundry_app(tmp_path_factory, stack_images, foundry):
    """One stack on the real Foundry runtime for the tests that do not stop their model endpoint."""
    app = start_app(tmp_path_factory.mktemp("chainlit"), foundry.url)
    yield app
    remove_stack(app.stack)


@pytest.fixture
def chainlit_on(tmp_path, stack_images):
    apps = []

    def up(foundry_url: str) -> App:
        apps.append(start_app(tmp_path / f"s{len(apps)}", foundry_url))
        return apps[-1]

    yield up
    for app in apps:
        remove_stack(app.stack)


def test_up_checks_the_login_and_says_where_the_password_is_kept(foundry_app):
    assert foundry_app.password not in foundry_app.up_output, "the Chainlit password is never printed"
    assert "Chainlit:   sign in as admin (password in " in foundry_app.up_output
    assert ".env (CHAINLIT_ADMIN_PASSWORD)" in foundry_app.up_output
    assert "admin signs in, a wrong password is refused" in foundry_app.up_output


def test_signs_in_then_streams_the_answer_of_foundrys_model(page, foundry_app):
    page.goto(foundry_app.url)
    page.locator("#password").wait_for()
    assert page.url.endswith("/login"), "the app opens on its login page"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chainlit-login.png"))
    sign_in(page, foundry_app, password="not-the-password")
    page.get_by_text("Unable to sign in").wait_for()
    assert page.locator("#chat-input").count() == 0

    sign_in(page, foundry_app)
    greeting = wait_for_answer(page, 0, "Using")
    assert "tiny-llama-generic-cpu:1" in greeting, "the app says which model it uses (the id, not the alias)"
    page.screenshot(path=str(ARTIFACTS / "chainlit-greeting.png"))
    assert page.locator("#upload-button").count() == 0, "no upload button: uploads are off"
    ask(page, "Hello there")
    assert "Hello from tiny model" in wait_for_answer(page, 1, "Hello from tiny model")
    page.screenshot(path=str(ARTIFACTS / "chainlit-signed-in.png"))


def test_a_page_of_another_origin_cannot_use_the_socket_the_apps_own_page_can(page, foundry_app):
    sign_in(page, foundry_app)  # the login cookie is in the browser: the other page's requests carry it
    with page_server("<!doctype html><title>another site</title><p>another site</p>") as other:
        page.goto(other)
        foreign = page.evaluate(PAGE_PROBE, [foundry_app.url, str(uuid.uuid4()), False])
    assert foreign["socket"].startswith("closed before joining"), foreign
    assert foreign["polling"].startswith("unreadable"), foreign

    page.goto(foundry_app.url)
    own = page.evaluate(PAGE_PROBE, [foundry_app.url, str(uuid.uuid4()), True])
    assert own["socket"] == "joined" and own["polling"] == "HTTP 200", own
    assert own["upload"].startswith("HTTP 400") and "File upload is not enabled" in own["upload"], own


def test_without_login_neither_the_socket_nor_uploads_answer(page, foundry_app):
    page.goto(foundry_app.url)
    page.locator("#password").wait_for()
    anonymous = page.evaluate(PAGE_PROBE, [foundry_app.url, str(uuid.uuid4()), True])
    assert anonymous["socket"].startswith("refused"), anonymous
    assert anonymous["upload"].startswith("HTTP 401"), anonymous

    with httpx.Client(trust_env=False, timeout=10) as client:  # no browser: the same answers
        assert join_socket(client, foundry_app.url, "s-anonymous").startswith("44")
        assert upload(client, foundry_app.url, "s-anonymous").status_code == 401
        assert client.post(f"{foundry_app.url}/login",
                           data={"username": "admin", "password": "wrong"}).status_code == 401


def test_doctor_fails_when_the_password_in_env_no_longer_signs_in(foundry_app):
    env_file = Path(foundry_app.stack.dir) / ".env"
    kept = env_file.read_text()
    try:
        env_file.write_text(kept.replace(foundry_app.password, "not-the-running-password"))
        run = run_fldeploy("doctor", "--json", env=foundry_app.stack.env, timeout=180)
        found = next(c for c in run.json["data"]["checks"] if c["id"] == "stack.chainlit")
    finally:
        env_file.write_text(kept)
    assert found["status"] == "fail", found
    assert "cannot sign in" in found["cause"] and "CHAINLIT_ADMIN_PASSWORD" in found["cause"], found
    assert "not-the-running-password" not in json.dumps(run.json)


def test_remembers_the_previous_turn_refuses_long_messages_and_recovers(page, chainlit_on):
    gateway = interface_ipv4("docker0")
    port = free_port(gateway)
    with openai_standin(host=gateway, port=port) as standin:
        app = chainlit_on(f"http://{gateway}:{port}")
        sign_in(page, app)
        wait_for_answer(page, 0, "standin-model:1")
        ask(page, "first question")
        wait_for_answer(page, 1, "(messages: 2)")  # system + user
        ask(page, "second question")
        wait_for_answer(page, 2, "(messages: 4)")  # system + user + assistant + user: the history reached it
        assert [m["content"] for m in standin.requests[-1]["messages"]][1] == "first question"

        sent = len(standin.requests)
        ask(page, "x" * 16_001)
        refused = wait_for_answer(page, 3, "MAX_PROMPT_CHARS")
        page.screenshot(path=str(ARTIFACTS / "chainlit-long-message-refused.png"))
        assert "16,001 characters" in refused and "not sent" in refused
        assert len(standin.requests) == sent, "the over-long message never reached the model"

    ask(page, "are you there?")
    down = wait_for_answer(page, 4, "fldeploy doctor")
    assert "Cannot reach the local model endpoint" in down and "Traceback" not in down

    with openai_standin(host=gateway, port=port):
        ask(page, "and now?")
        # the unanswered and the refused questions were dropped: system + 2 exchanges + this question
        wait_for_answer(page, 5, "(messages: 6)")
