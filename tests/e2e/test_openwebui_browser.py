"""What the course tells the user to check, in a real browser: sign in to Open WebUI as the admin fldeploy
created, find Foundry's model in the selector, send a message, see Foundry's answer. The UI path adds Open
WebUI's built-in tools (the API path does not), so this proves `up` made that path work too."""
from __future__ import annotations

import pathlib

import pytest

from fldeploy.stack.files import read_secrets

from ..support.stack import make_stack, remove_stack


@pytest.fixture
def running_stack(tmp_path, stack_images, foundry):
    stack = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_SERVICES="open-webui")
    up = stack.fl("up")
    assert up.code == 0, up.out + up.err
    yield stack
    remove_stack(stack)


def test_admin_signs_in_picks_the_model_and_gets_foundrys_answer(page, running_stack, foundry):
    base = f"http://127.0.0.1:{running_stack.openwebui_port}"
    password = read_secrets(pathlib.Path(running_stack.dir))["OPENWEBUI_ADMIN_PASSWORD"]
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)

    page.goto(f"{base}/auth")
    page.fill("input[type=email]", "admin@fldeploy.local")
    page.fill("input[type=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_selector("#chat-input")
    whats_new = page.get_by_role("button", name="Okay, Let's Go!")
    if whats_new.count():
        whats_new.click()

    page.get_by_text(foundry.model_id).first.wait_for()  # the model selector shows Foundry's model id
    page.locator("#chat-input").click()
    page.keyboard.type("Hello, who are you?")
    page.keyboard.press("Enter")
    page.get_by_text("Hello from tiny model").first.wait_for(timeout=60_000)
    assert page.get_by_text("structured tool calling requires").count() == 0
    assert not [u for u in outside if not u.startswith("ws://127.0.0.1")], f"requests left the host: {outside[:5]}"
