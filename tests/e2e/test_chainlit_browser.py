"""The Chainlit app deployed by `fldeploy up`, in headless Chromium: it streams Foundry's answer; it remembers
the previous turn; with its model endpoint gone it says so in the chat, and recovers when it is back."""
from __future__ import annotations

import pytest

from fldeploy.adapters.net import interface_ipv4

from ..support.openai_standin import openai_standin
from ..support.servers import free_port
from ..support.stack import make_stack, remove_stack

ANSWERS = '[data-step-type="assistant_message"] .message-content'


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


@pytest.fixture
def chainlit_on(tmp_path, stack_images):
    stacks = []

    def up(foundry_url: str):
        stack = make_stack(tmp_path / f"s{len(stacks)}", FLDEPLOY_FOUNDRY_URL=foundry_url, FLDEPLOY_SERVICES="chainlit")
        stacks.append(stack)
        run = stack.fl("up")
        assert run.code == 0, run.out + run.err
        return f"http://127.0.0.1:{stack.chainlit_port}"

    yield up
    for stack in stacks:
        remove_stack(stack)


def test_streams_the_answer_of_foundrys_model(page, chainlit_on, foundry):
    url = chainlit_on(foundry.url)
    page.goto(url)
    greeting = wait_for_answer(page, 0, "Using")
    assert "tiny-llama-generic-cpu:1" in greeting, "the app says which model it uses (the id, not the alias)"
    ask(page, "Hello there")
    assert "Hello from tiny model" in wait_for_answer(page, 1, "Hello from tiny model")


def test_remembers_the_previous_turn_and_recovers_when_the_endpoint_returns(page, chainlit_on):
    gateway = interface_ipv4("docker0")
    port = free_port(gateway)
    with openai_standin(host=gateway, port=port) as standin:
        url = chainlit_on(f"http://{gateway}:{port}")
        page.goto(url)
        wait_for_answer(page, 0, "standin-model:1")
        ask(page, "first question")
        wait_for_answer(page, 1, "(messages: 2)")  # system + user
        ask(page, "second question")
        wait_for_answer(page, 2, "(messages: 4)")  # system + user + assistant + user: the history reached it
        assert [m["content"] for m in standin.requests[-1]["messages"]][1] == "first question"

    ask(page, "are you there?")
    down = wait_for_answer(page, 3, "fldeploy doctor")
    assert "Cannot reach the local model endpoint" in down and "Traceback" not in down

    with openai_standin(host=gateway, port=port):
        ask(page, "and now?")
        # the unanswered question was dropped: system + 2 exchanges + this question
        wait_for_answer(page, 4, "(messages: 6)")
