#!/usr/bin/env python3
"""Time to first token for 20 concurrent chats against a local OpenAI-compatible server that paces its
tokens: the Chainlit app's async streaming (deploy/chainlit/chat_core.py, on one event loop as Chainlit runs
its handlers) next to the course's pattern (the synchronous OpenAI client called inside the async handler).

Prints p50/p95 time-to-first-token and total time for each, and the target: ours p95 <= 2x a single chat.
Traffic goes only to 127.0.0.1; the server stops with the script.  Usage: python bench/chat_concurrency.py
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "chainlit")]

from chat_core import Backend, stream_reply  # noqa: E402
from tests.support.openai_standin import openai_standin  # noqa: E402

CHATS, TOKENS, PACE = 20, 20, 0.02  # each answer: 21 chunks, ~0.4 s


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def ours(url: str, model: str, n: int) -> list[float]:
    backend = Backend("local", url, "x", model, 60, 5)
    starts, firsts = {}, {}

    async def one(i: int) -> None:
        async def on_token(_t: str) -> None:
            firsts.setdefault(i, time.perf_counter())
        starts[i] = time.perf_counter()
        await stream_reply([backend], [{"role": "user", "content": f"chat {i}"}], on_token)

    await asyncio.gather(*(one(i) for i in range(n)))
    return [firsts[i] - starts[i] for i in range(n)]


async def course(url: str, model: str, n: int) -> list[float]:
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key="x")
    start = time.perf_counter()  # all chats arrive together; the blocking call makes them queue
    firsts: dict[int, float] = {}

    async def one(i: int) -> None:
        for chunk in client.chat.completions.create(model=model, stream=True,
                                                    messages=[{"role": "user", "content": f"chat {i}"}]):
            if chunk.choices and chunk.choices[0].delta.content:
                firsts.setdefault(i, time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(n)))
    return [firsts[i] - start for i in range(n)]


def main() -> None:
    with openai_standin(tokens=TOKENS, pace=PACE) as server:
        asyncio.run(ours(server.url, server.model, 1))  # warm-up: client, connection pool
        single = statistics.median(asyncio.run(ours(server.url, server.model, 1))[0] for _ in range(5))
        rows = []
        for name, fn in (("ours (AsyncOpenAI, streamed)", ours), ("course (sync client in async handler)", course)):
            t0 = time.perf_counter()
            ttft = asyncio.run(fn(server.url, server.model, CHATS))
            rows.append((name, pct(ttft, 0.5), pct(ttft, 0.95), time.perf_counter() - t0))
    print(f"{CHATS} concurrent chats, {TOKENS + 1} chunks each, {PACE * 1000:.0f} ms between chunks")
    print(f"single chat time-to-first-token: {single * 1000:.1f} ms")
    print(f"{'pattern':<40} {'p50 TTFT ms':>12} {'p95 TTFT ms':>12} {'all done s':>11}")
    for name, p50, p95, total in rows:
        print(f"{name:<40} {p50 * 1000:>12.1f} {p95 * 1000:>12.1f} {total:>11.2f}")
    ours_p95 = rows[0][2]
    verdict = "met" if ours_p95 <= 2 * single else "NOT MET"
    print(f"target ours p95 <= 2x single: {ours_p95 * 1000:.1f} ms vs {2 * single * 1000:.1f} ms -> {verdict}")


if __name__ == "__main__":
    main()
