"""Chainlit chat front end on Foundry Local's OpenAI-compatible API.

Async streaming (one slow answer never blocks other users), per-session history within a budget, a stop
button that cancels the upstream stream, errors explained in the chat, and optional hybrid routing to a
second OpenAI-compatible endpoint (CLOUD_BASE_URL). Settings come from the environment: BASE_URL, MODEL,
API_KEY, SYSTEM_PROMPT, REQUEST_TIMEOUT, CONNECT_TIMEOUT, HISTORY_CHARS, CLOUD_BASE_URL, CLOUD_API_KEY,
CLOUD_MODEL, ROUTE_LONG_PROMPT_CHARS. Start a message with #cloud or #local to pick a backend.
"""
import chainlit as cl

from chat_core import Config, History, health_check, route, stream_reply

CONFIG = Config.from_env()


@cl.on_chat_start
async def start() -> None:
    cl.user_session.set("history", History(CONFIG.history_chars))
    problem = await health_check(CONFIG.local)
    if problem:
        await cl.Message(content=f"⚠️ {problem}").send()
        return
    cloud = f" Cloud fallback: {CONFIG.cloud.base_url}." if CONFIG.cloud else ""
    await cl.Message(content=f"Using **{CONFIG.local.resolved}** on Foundry Local ({CONFIG.local.base_url}).{cloud}").send()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    history: History = cl.user_session.get("history") or History(CONFIG.history_chars)
    cl.user_session.set("history", history)
    backends, prompt, why = route(message.content, CONFIG)
    history.add("user", prompt)
    reply_msg = cl.Message(content="")
    try:
        reply = await stream_reply(backends, history.messages(CONFIG.system_prompt), reply_msg.stream_token)
    except BaseException:
        await reply_msg.update()  # stop button: keep what streamed so far
        raise
    if reply.text:
        history.add("assistant", reply.text)
    else:
        history.forget_last()
    if reply.error:
        await reply_msg.stream_token(("\n\n" if reply.text else "") + f"⚠️ {reply.error}")
    elif reply.backend:
        served = f"\n\n_— {reply.backend.name} · {reply.model}_"
        if reply.fell_back or reply.backend.name != "local" or CONFIG.cloud:
            served = f"\n\n_— served by {reply.backend.name} ({reply.model}; {why})_"
        await reply_msg.stream_token(served)
    await reply_msg.send()

# Stop: Chainlit cancels the message task; stream_reply closes the upstream stream as the cancel lands.

