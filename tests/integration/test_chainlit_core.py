"""The Chainlit app's chat logic (deploy/chainlit/chat_core.py) against the real Foundry runtime and local
OpenAI-compatible stand-ins: streaming, history (bounded in memory), concurrency, stop, errors users can act on
(without the endpoint's credentials), hybrid routing."""
from __future__ import annotations

import asyncio
import sys
import time

import pytest

from ..support.fixtures import ROOT
from ..support.openai_standin import openai_standin
from ..support.servers import free_port, hung_server

sys.path.insert(0, str(ROOT / "deploy" / "chainlit"))
import chat_core  # noqa: E402
from chat_core import Backend, Config, History, route, stream_reply  # noqa: E402


def run(coro):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop in this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def backend(url: str, model: str = "", name: str = "local", timeout: float = 10, connect: float = 2) -> Backend:
    return Backend(name, url, "key", model, timeout, connect)


def collect(backends, messages):
    tokens: list[str] = []

    async def on_token(t: str) -> None:
        tokens.append(t)

    reply = run(stream_reply(backends, messages, on_token))
    return reply, tokens


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_foundrys_answer_streams_in_several_chunks_and_the_alias_resolves(foundry):
    local = backend(foundry.url + "/v1", "tiny-llama")
    reply, tokens = collect([local], user("hi"))
    assert reply.error is None and reply.model == "tiny-llama-generic-cpu:1"
    assert len(tokens) >= 4 and "".join(tokens) == "Hello from tiny model"


def test_history_reaches_the_model():
    with openai_standin() as cloud:
        local = backend(cloud.url)
        history = History(10_000)
        for turn in ("first question", "second question"):
            history.add("user", turn)
            reply, _ = collect([local], history.messages("Be brief."))
            history.add("assistant", reply.text)
        assert reply.text.endswith("(messages: 4)"), "system + user + assistant + user"
        assert [m["content"] for m in cloud.requests[-1]["messages"]][:2] == ["Be brief.", "first question"]


def test_a_long_chat_keeps_memory_bounded_and_the_latest_turns_reach_the_model():
    with openai_standin() as standin:
        local = backend(standin.url)
        history = History(2_000)
        for i in range(100):
            history.add("user", f"question {i} " + "q" * 100)
            reply, _ = collect([local], history.messages("Be brief."))
            history.add("assistant", reply.text)
            assert history.chars <= 2_000, f"turn {i}: {history.chars} characters kept in memory"
        sent = standin.requests[-1]["messages"]
    assert len(standin.requests) == 100 and sent[0]["content"] == "Be brief."
    assert sent[-1]["content"].startswith("question 99 ") and sent[-3]["content"].startswith("question 98 ")
    assert sum(len(m["content"]) for m in sent) <= 2_000


def test_errors_name_the_endpoint_without_its_credentials():
    port = free_port()
    local = backend(f"http://fluser:fl-secret@127.0.0.1:{port}/v1")
    reply, _ = collect([local], user("hi"))
    assert f"http://fluser:***@127.0.0.1:{port}/v1" in reply.error and "fl-secret" not in reply.error


def test_two_sessions_stream_interleaved_not_one_after_the_other():
    with openai_standin(tokens=6, pace=0.05) as paced:
        shared = backend(paced.url)  # the app has one client for every session
        order: list[str] = []

        async def session(tag: str):
            async def on_token(t: str) -> None:
                order.append(tag)
            return await stream_reply([shared], user(tag), on_token)

        async def both():
            return await asyncio.gather(session("A"), session("B"))

        replies = run(both())
    assert all(r.error is None for r in replies)
    assert order.index("B") < len(order) - 1 - order[::-1].index("A"), f"B waited for A: {order}"
    assert order.index("A") < len(order) - 1 - order[::-1].index("B"), f"A waited for B: {order}"


def test_the_courses_blocking_pattern_fails_the_same_check():
    """A sync client inside the async handler (as in the course) serialises sessions: the check above sees it."""
    from openai import OpenAI

    with openai_standin(tokens=4, pace=0.03) as paced:
        client = OpenAI(base_url=paced.url, api_key="x")
        order: list[str] = []

        async def blocking_session(tag: str):
            for chunk in client.chat.completions.create(model=paced.model, messages=user(tag), stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    order.append(tag)

        async def both():
            await asyncio.gather(blocking_session("A"), blocking_session("B"))

        run(both())
    assert order == ["A"] * 5 + ["B"] * 5


def test_stop_cancels_the_upstream_stream():
    with openai_standin(tokens=200, pace=0.02) as paced:
        local = backend(paced.url)
        seen: list[str] = []

        async def run_and_stop():
            async def on_token(t: str) -> None:
                seen.append(t)
            task = asyncio.create_task(stream_reply([local], user("long"), on_token))
            while len(seen) < 3:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        run(run_and_stop())
        deadline = time.monotonic() + 5
        while paced.disconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert paced.disconnects == 1, "the server saw the client go away"
        assert paced.sent_tokens < 200


def test_unreachable_foundry_is_explained_and_the_next_message_works_once_it_is_back():
    port = free_port()
    local = backend(f"http://127.0.0.1:{port}/v1")
    reply, _ = collect([local], user("hi"))
    assert "Cannot reach the local model endpoint" in reply.error and "fldeploy doctor" in reply.error
    with openai_standin(port=port):
        reply, tokens = collect([local], user("hi again"))
    assert reply.error is None and tokens


def test_hung_endpoint_times_out_with_a_message():
    with hung_server() as url:
        reply, _ = collect([backend(url + "/v1", timeout=1, connect=1)], user("hi"))
    assert "did not answer in time" in reply.error and "fldeploy doctor" in reply.error


def test_missing_model_is_named(foundry):
    reply, _ = collect([backend(foundry.url + "/v1", "phi-4-mini")], user("hi"))
    assert "no model 'phi-4-mini' loaded" in reply.error and "tiny-llama-generic-cpu:1" in reply.error


def test_model_gone_after_resolution_is_a_404_message(foundry):
    local = backend(foundry.url + "/v1")
    local.resolved = "bad-model:1"
    reply, _ = collect([local], user("hi"))
    assert "was not found" in reply.error


def test_stream_cut_midway_keeps_the_text_and_says_so():
    with openai_standin(tokens=10, cut_after=3) as cutting:
        reply, tokens = collect([backend(cutting.url)], user("hi"))
    assert len(tokens) == 3 and reply.text == "tok-0 tok-1 tok-2 "
    assert "broke off" in reply.error


def test_local_failure_falls_back_to_the_cloud_and_says_which_served():
    with openai_standin(name="cloud") as cloud:
        config = Config(backend(f"http://127.0.0.1:{free_port()}/v1"), backend(cloud.url, name="cloud"), "", 10_000, 0)
        backends, prompt, why = route("hello", config)
        reply, _ = collect(backends, user(prompt))
    assert reply.backend.name == "cloud" and reply.text.startswith("cloud-0")
    assert "Cannot reach the local" in reply.fell_back[0] and why == "local first, cloud as fallback"


def test_routing_rules_tag_and_prompt_length():
    config = Config(backend("http://l/v1"), backend("http://c/v1", name="cloud"), "", 10_000, 50)
    assert [b.name for b in route("#cloud summarise this", config)[0]] == ["cloud"]
    assert route("#cloud summarise this", config)[1] == "summarise this"
    assert [b.name for b in route("#local hi", config)[0]] == ["local"]
    assert [b.name for b in route("x" * 51, config)[0]] == ["cloud", "local"]
    assert [b.name for b in route("short", config)[0]] == ["local", "cloud"]
    no_cloud = Config(backend("http://l/v1"), None, "", 10_000, 50)
    assert [b.name for b in route("#cloud hi", no_cloud)[0]] == ["local"]


def test_health_check_is_the_courses_one_token_check(foundry):
    assert run(chat_core.health_check(backend(foundry.url + "/v1"))) is None
    problem = run(chat_core.health_check(backend(f"http://127.0.0.1:{free_port()}/v1")))
    assert "Cannot reach" in problem
