"""Chainlit chat front end on Foundry Local's OpenAI-compatible API.

Closed by default: a login (CHAINLIT_ADMIN_USER, default admin; CHAINLIT_ADMIN_PASSWORD; CHAINLIT_AUTH_SECRET
signs the cookie) and only the pages of ALLOW_ORIGINS may open the socket; no file uploads
(.chainlit/config.toml). Async streaming (one slow answer never blocks other users), per-session history
within a budget (in memory too), messages longer than MAX_PROMPT_CHARS refused, a stop button that cancels the
upstream stream, errors explained in the chat, and optional hybrid routing to a second OpenAI-compatible
endpoint (CLOUD_BASE_URL). Other settings come from the environment: BASE_URL, MODEL, API_KEY, SYSTEM_PROMPT,
REQUEST_TIMEOUT, CONNECT_TIMEOUT, HISTORY_CHARS, CLOUD_API_KEY, CLOUD_MODEL, ROUTE_LONG_PROMPT_CHARS. Start a
message with #cloud or #local to pick a backend.
"""
import os
import sys

import chainlit as cl
from chainlit.chat_context import chat_contexts
from chainlit.config import config as chainlit_config
from chainlit.context import context
from chainlit.server import sio

from access import Access
from chat_core import Config, History, health_check, keep_recent, route, stream_reply, too_long, welcome

ACCESS = Access.from_env(os.environ, chainlit_config.run.port)
_problem = ACCESS.problem()
if _problem:
    print(f"chainlit app: refusing to start: {_problem}", file=sys.stderr, flush=True)
    raise SystemExit(3)

# Chainlit 2.12 turns python-engineio's Origin check off (cors_allowed_origins=[]); engineio reads this
# attribute on every request, the handshake and each later poll or upgrade alike.
sio.eio.cors_allowed_origins = ACCESS.origin_allowed
# The HTTP CORS middleware was handed this very list when chainlit.server was imported, and is built on the
# first request: replacing its items (not the attribute) is what reaches it.
chainlit_config.project.allow_origins[:] = list(ACCESS.origins)

CONFIG = Config.from_env()

if ACCESS.login:
    @cl.password_auth_callback
    async def sign_in(username: str, password: str) -> cl.User | None:
        if ACCESS.check(username, password):
            return cl.User(identifier=ACCESS.user, metadata={"role": "admin", "provider": "credentials"})
        return None


def _trim_chainlit_context() -> None:
    """Chainlit keeps every message of a session in memory (chat_context), for as long as the process runs:
    keep only the budget's worth."""
    session_id = context.session.id if context.session else None
    if session_id in chat_contexts:
        chat_contexts[session_id] = keep_recent(chat_contexts[session_id], CONFIG.history_chars,
                                                lambda m: len(m.content or ""))


@cl.on_chat_start
async def start() -> None:
    cl.user_session.set("history", History(CONFIG.history_chars))
    problem = await health_check(CONFIG.local)
    if problem:
        await cl.Message(content=f"⚠️ {problem}").send()
        return
    await cl.Message(content=welcome(CONFIG)).send()


@cl.on_message
async def on_message(message: cl.Message) -> None:
    if message is None:  # an edit of a message no longer kept in memory
        return
    refusal = too_long(message.content or "", CONFIG.max_prompt_chars)
    if refusal:
        await cl.Message(content=f"⚠️ {refusal}").send()
        _trim_chainlit_context()
        return
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
    _trim_chainlit_context()


@cl.on_chat_end
async def end() -> None:
    if context.session:
        chat_contexts.pop(context.session.id, None)

# Stop: Chainlit cancels the message task; stream_reply closes the upstream stream as the cancel lands.
