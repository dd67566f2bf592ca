"""The chat logic of the Chainlit app, free of Chainlit so it can be tested on its own: configuration,
model resolution, bounded history, a cap on message length, hybrid routing (local Foundry first, an optional
cloud endpoint as fallback or by rule), token streaming that can be cancelled, errors a user can act on, and
endpoint URLs shown without their credentials."""
from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DOCTOR = "Run `fldeploy doctor` on the host to see what is wrong."
TAG = re.compile(r"^\s*#(local|cloud)\b\s*", re.IGNORECASE)
VARIANT = re.compile(r"^(instruct-)?(generic|cuda|openvino|qnn|trt-?rtx|vitis|webgpu|dml|npu|gpu|cpu)\b")
SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|sig|auth|credential|code", re.IGNORECASE)
MASK = "***"
T = TypeVar("T")


def mask_url(url: str) -> str:
    """The URL as a chat may show it: the password of user-info and secret-looking query values masked
    (http://user:secret@host/v1?key=abc -> http://user:***@host/v1?key=***); a lone user-info (often a token)
    is masked whole."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK  # not a URL we can take apart: show nothing of it
    netloc = parts.netloc
    if "@" in netloc:
        if ":" in host:
            host = f"[{host}]"
        where = host + (f":{port}" if port else "")
        netloc = f"{parts.username}:{MASK}@{where}" if parts.password is not None else f"{MASK}@{where}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@dataclass
class Backend:
    name: str  # "local" (Foundry) or "cloud"
    base_url: str
    api_key: str
    model: str  # as configured: an alias, an id, or empty
    timeout: float
    connect_timeout: float
    resolved: str | None = None
    _client: object = field(default=None, repr=False)

    @property
    def shown_url(self) -> str:
        """The base URL as messages show it (credentials masked)."""
        return mask_url(self.base_url)

    @property
    def client(self):
        if self._client is None:
            import httpx
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(base_url=self.base_url, api_key=self.api_key or "none", max_retries=0,
                                       timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))
        return self._client


@dataclass
class Config:
    local: Backend
    cloud: Backend | None
    system_prompt: str
    history_chars: int
    long_prompt_chars: int
    max_prompt_chars: int = 16000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        timeout = float(env.get("REQUEST_TIMEOUT", "120"))
        connect = float(env.get("CONNECT_TIMEOUT", "5"))
        local = Backend("local", env.get("BASE_URL", "http://host.docker.internal:5273/v1"),
                        env.get("API_KEY", ""), env.get("MODEL", ""), timeout, connect)
        cloud = None
        if env.get("CLOUD_BASE_URL"):
            cloud = Backend("cloud", env["CLOUD_BASE_URL"], env.get("CLOUD_API_KEY", ""), env.get("CLOUD_MODEL", ""),
                            timeout, connect)
        return cls(local, cloud, env.get("SYSTEM_PROMPT", "You are a helpful assistant."),
                   int(env.get("HISTORY_CHARS", "12000")), int(env.get("ROUTE_LONG_PROMPT_CHARS", "0")),
                   int(env.get("MAX_PROMPT_CHARS", "16000")))


def welcome(config: Config) -> str:
    """The first message of a chat: the model in use and where (URLs without their credentials)."""
    cloud = f" Cloud fallback: {config.cloud.shown_url}." if config.cloud else ""
    return f"Using **{config.local.resolved}** on Foundry Local ({config.local.shown_url}).{cloud}"


def too_long(text: str, limit: int) -> str | None:
    """What to answer instead of sending a message over the limit upstream (None: send it)."""
    if limit <= 0 or len(text) <= limit:
        return None
    return (f"Your message has {len(text):,} characters; this app sends at most {limit:,} (MAX_PROMPT_CHARS). "
            "It was not sent to the model: shorten it or split it into several messages.")


def pick_model(configured: str, available: list[str]) -> str | None:
    """The id to send: the configured id, the id an alias names (phi-4-mini -> Phi-4-mini-instruct-...:5),
    or the first available one when nothing is configured."""
    if not available:
        return None
    if not configured:
        return available[0]
    if configured in available:
        return configured
    base = configured.split(":")[0].lower()
    for model_id in available:
        name = model_id.split(":")[0].lower()
        if name == base or (name.startswith(base + "-") and VARIANT.match(name[len(base) + 1:])):
            return model_id
    return None


async def resolve(backend: Backend) -> str:
    """Ask the backend which models it has and settle on one id (kept until the next failure)."""
    listed = [m.id async for m in backend.client.models.list()]
    model = pick_model(backend.model, listed)
    if model is None:
        wanted = backend.model or "a model"
        raise UserFacingError(f"The {backend.name} endpoint has no model {wanted!r} loaded (it has: "
                              f"{', '.join(listed) or 'none'}). {DOCTOR}")
    backend.resolved = model
    return model


class UserFacingError(Exception):
    """A failure explained in one chat message."""


class StreamCut(Exception):
    """The stream ended without a finish reason."""


def explain(exc: BaseException, backend: Backend) -> str:
    import openai

    where = f"{backend.name} model endpoint {backend.shown_url}"
    text = str(getattr(exc, "message", "") or exc)
    if isinstance(exc, UserFacingError):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError):
        return f"The {where} did not answer in time. {DOCTOR}"
    if isinstance(exc, openai.APIConnectionError):
        return f"Cannot reach the {where}: is Foundry Local running? {DOCTOR}"
    if isinstance(exc, openai.NotFoundError):
        return f"The model {backend.resolved or backend.model!r} was not found at the {where}. {DOCTOR}"
    if isinstance(exc, openai.BadRequestError) and "not loaded" in text.lower():
        return f"The model {backend.resolved!r} is not loaded in Foundry. {DOCTOR}"
    if isinstance(exc, openai.APIStatusError):
        return f"The {where} answered HTTP {exc.status_code}: {text[:200]}. {DOCTOR}"
    return f"The answer from the {where} broke off: {text[:200]}. {DOCTOR}"


def keep_recent(items: list[T], budget: int, size: Callable[[T], int]) -> list[T]:
    """The newest items whose sizes add up to at most budget; the newest one is kept whatever its size."""
    kept: list[T] = []
    used = 0
    for item in reversed(items):
        used += size(item)
        if kept and used > budget:
            break
        kept.append(item)
    return kept[::-1]


def _content_size(turn: dict) -> int:
    return len(turn["content"])


class History:
    """The conversation of one chat session, trimmed to a character budget (oldest turns dropped first):
    in memory on every turn, and again with the system prompt counted when sent."""

    def __init__(self, budget_chars: int) -> None:
        self.budget = budget_chars
        self.turns: list[dict] = []

    def add(self, role: str, content: str) -> None:
        self.turns.append({"role": role, "content": content})
        self.turns = self._recent(self.budget)

    def forget_last(self) -> None:
        """Drop the last turn (a question that got no answer, so the next one does not follow it unanswered)."""
        if self.turns:
            self.turns.pop()

    @property
    def chars(self) -> int:
        return sum(_content_size(t) for t in self.turns)

    def _recent(self, budget: int) -> list[dict]:
        kept = keep_recent(self.turns, budget, _content_size)
        while kept and kept[0]["role"] != "user":  # start the kept history with a user turn
            kept.pop(0)
        return kept

    def messages(self, system_prompt: str) -> list[dict]:
        kept = self._recent(self.budget - len(system_prompt))
        return ([{"role": "system", "content": system_prompt}] if system_prompt else []) + kept


def route(text: str, config: Config) -> tuple[list[Backend], str, str]:
    """(backends to try in order, the prompt without its tag, why)."""
    match = TAG.match(text)
    prompt = text[match.end():] if match else text
    if config.cloud is None:
        return [config.local], prompt, "local"
    if match and match.group(1).lower() == "cloud":
        return [config.cloud], prompt, "tagged #cloud"
    if match:
        return [config.local], prompt, "tagged #local"
    if config.long_prompt_chars and len(prompt) > config.long_prompt_chars:
        return [config.cloud, config.local], prompt, f"prompt longer than {config.long_prompt_chars} characters"
    return [config.local, config.cloud], prompt, "local first, cloud as fallback"


@dataclass
class Reply:
    backend: Backend | None
    model: str | None
    text: str = ""
    error: str | None = None
    fell_back: list[str] = field(default_factory=list)


async def stream_reply(backends: list[Backend], messages: list[dict],
                       on_token: Callable[[str], Awaitable[None]]) -> Reply:
    """Stream from the first backend that works. A backend that fails before its first token hands over to
    the next; a stream cut after tokens arrived is reported, not retried (it would repeat the answer).
    Cancelling the calling task (the stop button) closes the upstream stream."""
    failures: list[str] = []
    for backend in backends:
        got_tokens = False
        text: list[str] = []
        stream = None
        model = backend.resolved
        try:
            model = model or await resolve(backend)
            stream = await backend.client.chat.completions.create(model=model, messages=messages, stream=True)
            finished = False
            async for chunk in stream:
                token = chunk.choices[0].delta.content if chunk.choices else None
                finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
                if token:
                    got_tokens = True
                    text.append(token)
                    await on_token(token)
            if not finished:  # the connection closed before the model said it was done
                raise StreamCut("the connection closed before the answer was complete")
            return Reply(backend, model, "".join(text), fell_back=failures)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure becomes a message; the next request starts clean
            message = explain(exc, backend)
            backend.resolved = None
            if got_tokens:
                return Reply(backend, model, "".join(text), message, failures)
            failures.append(message)
        finally:
            if stream is not None:
                await stream.close()  # on cancel too: Foundry stops generating
    return Reply(None, None, "", " ".join(failures) if failures else "No model endpoint is configured.")


async def health_check(backend: Backend) -> str | None:
    """The course's check: a 1-token completion. None when usable, else what to tell the user."""
    try:
        model = backend.resolved or await resolve(backend)
        await backend.client.chat.completions.create(model=model, max_tokens=1,
                                                     messages=[{"role": "user", "content": "hi"}])
        return None
    except Exception as exc:
        message = explain(exc, backend)
        backend.resolved = None
        return message
