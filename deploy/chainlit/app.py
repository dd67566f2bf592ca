"""Chainlit chat front end on Foundry Local's OpenAI-compatible API (minimal wiring; streaming)."""
import os

import chainlit as cl
from openai import AsyncOpenAI

BASE_URL = os.environ.get("BASE_URL", "http://host.docker.internal:5273/v1")
MODEL = os.environ.get("MODEL", "")
client = AsyncOpenAI(base_url=BASE_URL, api_key=os.environ.get("API_KEY") or "foundry-local")


@cl.on_message
async def on_message(message: cl.Message) -> None:
    reply = cl.Message(content="")
    stream = await client.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": message.content}])
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            await reply.stream_token(chunk.choices[0].delta.content)
    await reply.send()
