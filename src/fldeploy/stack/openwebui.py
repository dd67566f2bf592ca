"""Open WebUI's API as fldeploy's admin uses it: sign in, the stored Foundry connection, models, chats.

Routes and bodies as in Open WebUI 0.12 (open_webui/routers/auths.py, routers/openai.py, routers/models.py,
main.py). Connection settings given by environment are stored in its database on first start and win from
then on, so fldeploy reads and updates the stored connection instead of relying on the environment.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from ..adapters import http
from ..errors import ExitCode, FldeployError


class OpenWebUI:
    def __init__(self, base_url: str, timeout: float = 120.0) -> None:  # a chat on a CPU model takes a while
        self.base_url = base_url.rstrip("/")
        self.http = http.client(self.base_url, timeout)  # the stack's own URL: never through a proxy
        self.token: str | None = None

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "OpenWebUI":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw):
        try:
            resp = self.http.request(method, path, headers=self._auth(), **kw)
            if resp.status_code < 400:
                return resp.json()
        except (http.HTTPError, ValueError) as exc:
            raise FldeployError(f"Open WebUI {method} {path} failed: {exc or type(exc).__name__}",
                                "see `fldeploy logs open-webui`", ExitCode.CHECK_FAILED, "stack.openwebui") from None
        raise FldeployError(f"Open WebUI {method} {path} answered HTTP {resp.status_code}: {resp.text[:200]}",
                            "see `fldeploy logs open-webui`", ExitCode.CHECK_FAILED, "stack.openwebui")

    def healthy(self) -> bool:
        try:
            return self.http.get("/health", timeout=5).json().get("status") is True
        except Exception:
            return False

    def sign_in(self, email: str, password: str) -> None:
        try:
            resp = self.http.post("/api/v1/auths/signin", json={"email": email, "password": password})
            body = resp.json() if resp.status_code == 200 else {}
        except (http.HTTPError, ValueError) as exc:
            raise FldeployError(f"cannot reach Open WebUI to sign in: {exc}", "see `fldeploy logs open-webui`",
                                ExitCode.CHECK_FAILED, "stack.openwebui.signin") from None
        if resp.status_code == 429:
            raise FldeployError(f"Open WebUI refuses sign-ins as {email} for now: more than 15 in 3 minutes (its "
                                "limit against password guessing)", "wait 3 minutes, then run the command again",
                                ExitCode.CHECK_FAILED, "stack.openwebui.signin")
        if "token" not in body:
            raise FldeployError(
                f"cannot sign in to Open WebUI as {email} (HTTP {resp.status_code})",
                "the data volume holds another admin (Open WebUI creates the env admin only on an empty "
                "volume): sign in with that account, or start fresh with `fldeploy down --volumes`",
                ExitCode.CHECK_FAILED, "stack.openwebui.signin")
        self.token = body["token"]

    def resume_or_sign_in(self, email: str, password: str, session_file: Path) -> None:
        """Reuse the admin session the last check kept (0600 next to .env) while Open WebUI accepts it and the
        password in .env is still the one it was made with; sign in otherwise. A sign-in costs Open WebUI a
        password hash (~0.3 s here) and counts against its limit of 15 sign-ins per account in 3 minutes
        (routers/auths.py signin_rate_limiter)."""
        import hashlib
        import json

        from .files import atomic_write, read_small_private

        made_with = hashlib.sha256(f"{email.lower()}\n{password}".encode()).hexdigest()
        try:
            kept = json.loads(read_small_private(session_file) or "{}")
        except ValueError:
            kept = {}
        self.token = kept.get("token") if isinstance(kept, dict) and kept.get("made_with") == made_with else None
        if isinstance(self.token, str) and self.token:
            try:
                resp = self.http.get("/api/v1/auths/", headers=self._auth())
                who = resp.json() if resp.status_code == 200 else {}
            except (http.HTTPError, ValueError):
                who = {}
            if isinstance(who, dict) and str(who.get("email", "")).lower() == email.lower():
                return
        self.token = None
        self.sign_in(email, password)
        atomic_write(session_file, json.dumps({"token": self.token, "made_with": made_with}), 0o600)

    def signs_in(self, email: str, password: str) -> bool | None:
        """Does this password sign in? True/False as Open WebUI answered; None when it did not answer."""
        try:
            resp = self.http.post("/api/v1/auths/signin", json={"email": email, "password": password})
            body = resp.json() if resp.status_code == 200 else {}
        except (http.HTTPError, ValueError):
            return None
        if resp.status_code >= 500 or resp.status_code == 429:  # not an answer about the password
            return None
        return isinstance(body, dict) and "token" in body

    def change_password(self, old: str, new: str) -> None:
        self._call("POST", "/api/v1/auths/update/password", json={"password": old, "new_password": new})

    def connection(self) -> dict:
        return self._call("GET", "/openai/config")

    def set_connection(self, url: str, key: str, current: dict) -> None:
        """Point the first OpenAI connection at url, keeping the rest of the stored configuration."""
        urls = list(current.get("OPENAI_API_BASE_URLS") or []) or [url]
        keys = list(current.get("OPENAI_API_KEYS") or [])
        urls[0] = url
        keys = (keys + [""] * len(urls))[: len(urls)]
        keys[0] = key
        self._call("POST", "/openai/config/update", json={
            "ENABLE_OPENAI_API": True, "OPENAI_API_BASE_URLS": urls, "OPENAI_API_KEYS": keys,
            "OPENAI_API_CONFIGS": current.get("OPENAI_API_CONFIGS") or {}})

    def set_connections(self, urls: list[str], key: str, configs: dict) -> None:
        """Replace the OpenAI connections (several Foundry hosts): one per URL, the same key, these configs."""
        self._call("POST", "/openai/config/update", json={
            "ENABLE_OPENAI_API": True, "OPENAI_API_BASE_URLS": urls, "OPENAI_API_KEYS": [key] * len(urls),
            "OPENAI_API_CONFIGS": configs})

    def model_ids(self) -> list[str]:
        return [m["id"] for m in self._call("GET", "/api/models").get("data", [])]

    def model_entry(self, model_id: str) -> dict | None:
        try:
            resp = self.http.get("/api/v1/models/model", params={"id": model_id}, headers=self._auth())
            return resp.json() or None if resp.status_code == 200 else None
        except (http.HTTPError, ValueError):
            return None

    def disable_builtin_tools(self, model_id: str) -> bool:
        """Turn Open WebUI's built-in tools off for one model (what its UI injects into every chat)."""
        entry = self.model_entry(model_id)
        meta = dict((entry or {}).get("meta") or {})
        capabilities = dict(meta.get("capabilities") or {})
        if capabilities.get("builtin_tools") is False:
            return False
        capabilities["builtin_tools"] = False
        meta["capabilities"] = capabilities
        form = {"id": model_id, "base_model_id": None, "name": (entry or {}).get("name") or model_id,
                "meta": meta, "params": (entry or {}).get("params") or {}, "is_active": True}
        if entry:
            self._call("POST", "/api/v1/models/model/update", json=form)
        else:
            form["access_grants"] = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
            self._call("POST", "/api/v1/models/create", json=form)
        self.model_ids()  # chat completion reads capabilities from the model list this call rebuilds
        return True

    def chat_api(self, model_id: str, prompt: str) -> str:
        body = {"model": model_id, "stream": False, "messages": [{"role": "user", "content": prompt}]}
        answer = self._call("POST", "/api/chat/completions", json=body)
        return answer["choices"][0]["message"]["content"]

    def chat_like_the_ui(self, model_id: str, prompt: str, timeout: float = 60.0) -> dict:
        """Send a chat the way the browser does (session, message ids, streamed as a background task), which
        is the path where Open WebUI adds its built-in tools; wait for the stored answer."""
        user_id, reply_id = str(uuid.uuid4()), str(uuid.uuid4())
        body = {"model": model_id, "stream": True, "session_id": f"fldeploy-{uuid.uuid4().hex[:8]}",
                "parent_id": None, "id": reply_id, "features": {}, "params": {},
                "messages": [{"role": "user", "content": prompt}],
                "user_message": {"id": user_id, "role": "user", "content": prompt, "parentId": None,
                                 "childrenIds": [], "timestamp": int(time.time())}}
        started = self._call("POST", "/api/chat/completions", json=body)
        chat_id = started.get("chat_id")
        deadline = time.monotonic() + timeout
        pause = 0.05  # a tiny model answers in ~0.1 s: a fixed 0.3 s poll was a fifth of doctor's time
        while time.monotonic() < deadline:
            chat = self._call("GET", f"/api/v1/chats/{chat_id}")
            message = chat["chat"].get("history", {}).get("messages", {}).get(reply_id, {})
            if message.get("done"):
                error = message.get("error")
                if isinstance(error, dict):
                    error = error.get("content") or error.get("message") or str(error)
                return {"chat_id": chat_id, "text": message.get("content") or "", "error": error}
            time.sleep(pause)
            pause = min(pause * 1.5, 0.3)
        return {"chat_id": chat_id, "text": "", "error": f"no answer within {timeout:.0f}s"}

    def chats(self) -> list[dict]:
        return self._call("GET", "/api/v1/chats/")

    def new_chat(self, title: str) -> str:
        chat = {"title": title, "history": {"messages": {}, "currentId": None}, "messages": []}
        return self._call("POST", "/api/v1/chats/new", json={"chat": chat, "folder_id": None})["id"]

    def delete_chat(self, chat_id: str) -> None:
        try:  # tidy-up of fldeploy's own check chat: best effort
            self.http.delete(f"/api/v1/chats/{chat_id}", headers=self._auth())
        except http.HTTPError:
            pass
