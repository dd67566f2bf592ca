"""Foundry Local's OpenAI-compatible HTTP API: list models, a tiny chat completion."""
from __future__ import annotations

import time

from ..core.foundry_rules import Probe, api_url
from . import http
from .http import error_kind as _classify


def probe_models(base_url: str, timeout: float, api_key: str = "") -> Probe:
    """GET <base>/v1/models; outcome ok only for an OpenAI-style model list."""
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        resp = http.get(api_url(base_url) + "/models", timeout, headers=headers)
    except Exception as exc:  # any transport failure is a finding, not a crash
        return Probe(base_url, _classify(exc), detail=str(exc) or type(exc).__name__,
                     elapsed_ms=(time.monotonic() - start) * 1000)
    elapsed = (time.monotonic() - start) * 1000
    if resp.status_code != 200:
        return Probe(base_url, "http_error", detail=f"HTTP {resp.status_code}: {resp.text[:200]}",
                     elapsed_ms=elapsed)
    try:
        body = resp.json()
        models = [m["id"] for m in body["data"]]
    except (ValueError, KeyError, TypeError):
        return Probe(base_url, "not_openai", detail=f"not an OpenAI model list: {resp.text[:120]!r}",
                     elapsed_ms=elapsed)
    return Probe(base_url, "ok", models, elapsed_ms=elapsed)


def chat_once(base_url: str, model: str, timeout: float, api_key: str = "", max_tokens: int = 1,
              tools: list | None = None) -> dict:
    """One short chat completion: {'ok', 'status', 'text', 'error', 'elapsed_ms'}."""
    body: dict = {"model": model, "max_tokens": max_tokens, "temperature": 0,
                  "messages": [{"role": "user", "content": "Say hello."}]}
    if tools:
        body["tools"] = tools
    start = time.monotonic()
    try:
        resp = http.post(api_url(base_url) + "/chat/completions", timeout, json=body,
                         headers={"Authorization": f"Bearer {api_key or 'fldeploy'}"})
    except Exception as exc:
        return {"ok": False, "status": _classify(exc), "text": "", "error": str(exc) or type(exc).__name__,
                "elapsed_ms": (time.monotonic() - start) * 1000}
    elapsed = (time.monotonic() - start) * 1000
    try:
        payload = resp.json()
    except ValueError:
        payload = {}
    if resp.status_code != 200:
        error = payload.get("error") if isinstance(payload, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        return {"ok": False, "status": f"http_{resp.status_code}", "text": "",
                "error": message or resp.text[:200], "elapsed_ms": elapsed}
    try:
        text = payload["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError):
        return {"ok": False, "status": "bad_response", "text": "", "error": resp.text[:200],
                "elapsed_ms": elapsed}
    return {"ok": True, "status": "ok", "text": text, "error": "", "elapsed_ms": elapsed}


def loaded_models(base_url: str, timeout: float) -> list[str] | None:
    """Foundry's own GET /models/loaded (its /v1/models also lists cached, unloaded models); None if absent."""
    try:
        resp = http.get(base_url.rstrip("/") + "/models/loaded", timeout)
        body = resp.json() if resp.status_code == 200 else None
    except Exception:  # not Foundry, or an older build without the route
        return None
    return [m for m in body if isinstance(m, str)] if isinstance(body, list) else None


PROBE_TOOL = {"type": "function", "function": {"name": "fldeploy_probe", "description": "Does nothing.",
                                               "parameters": {"type": "object", "properties": {}}}}


def accepts_tools(base_url: str, model: str, timeout: float, api_key: str = "") -> tuple[bool | None, str]:
    """Does Foundry accept a chat request carrying tools for this model? (None: could not tell). api_key: for a
    Foundry behind `fldeploy foundry expose`."""
    answer = chat_once(base_url, model, timeout, api_key, tools=[PROBE_TOOL])
    if answer["ok"]:
        return True, "accepts tools"
    if "tool" in answer["error"].lower():
        return False, answer["error"][-160:]
    return None, f"{answer['status']}: {answer['error'][:160]}"
