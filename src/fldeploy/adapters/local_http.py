"""HTTP to this host and its containers over the standard library's http.client.

Local requests never use a proxy, never follow redirects and need no connection pool, so httpx (~170 ms of
imports on a 2-core machine: a third of `doctor` on a healthy stack, and of `up` with nothing to change) is
not needed for them. This session gives the few things fldeploy uses: base URL + path, query params, JSON or
form bodies, headers, a cookie jar (the Chainlit login), credentials in the URL, and httpx's failure kinds.
"""
from __future__ import annotations

import json as jsonlib
import socket
import time
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit, unquote


class Failure(Exception):
    """A transport failure; kind is timeout, refused (no connection made) or error."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class Response:
    def __init__(self, status_code: int, headers: Any, content: bytes, url: str) -> None:
        self.status_code, self.headers, self.content, self.url = status_code, headers, content, url

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)  # JSONDecodeError is a ValueError, as with httpx


class Cookies(dict):
    """name -> value, sent back on every request of the session (local services only)."""

    def take(self, headers: Any) -> None:
        for header in headers.get_all("Set-Cookie") or []:
            pair = header.split(";", 1)[0]
            if "=" in pair:
                name, value = pair.split("=", 1)
                self[name.strip()] = value.strip()

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.items())


def _ssl_context(cafile: str | None, capath: str | None):
    import ssl

    return ssl.create_default_context(cafile=cafile or None, capath=capath or None)


MAX_ANSWER_BYTES = 32 * 1024 * 1024  # fldeploy's local answers are JSON and pages of a few KB


def _read_all(conn: Any, answer: Any, deadline: float, what: str) -> bytes:
    """The whole body within one deadline (a server trickling bytes cannot stretch the timeout per read) and
    under MAX_ANSWER_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"{what}: the answer did not arrive in time")
        if conn.sock is not None:
            conn.sock.settimeout(left)
        chunk = answer.read1(65536) if hasattr(answer, "read1") else answer.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise Failure(f"{what}: the answer is over {MAX_ANSWER_BYTES // 2**20} MiB", "error")
        chunks.append(chunk)


class Verbs:
    """get/post/head/delete over a class's request(method, url, **kw)."""

    request: Callable[..., Any]

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)

    def head(self, url: str, **kw: Any) -> Any:
        return self.request("HEAD", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.request("DELETE", url, **kw)


class Session(Verbs):
    def __init__(self, base_url: str, timeout: float, cafile: str | None = None, capath: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = Cookies()
        self._ca = (cafile, capath)

    def request(self, method: str, url: str, *, headers: dict | None = None, json: Any = None,
                data: dict | None = None, params: dict | None = None, timeout: float | None = None) -> Response:
        import http.client

        full = url if urlsplit(url).scheme in ("http", "https") else self.base_url + url
        parts = urlsplit(full)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params)
        sent = {"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "*/*", "Accept-Encoding": "identity",
                "Connection": "close", **(headers or {})}
        if parts.username is not None and "Authorization" not in sent:
            import base64

            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if self.cookies and parts.netloc == urlsplit(self.base_url).netloc:  # the session's own service only
            sent["Cookie"] = self.cookies.header()
        body: bytes | None = None
        if json is not None:
            body, sent["Content-Type"] = jsonlib.dumps(json).encode(), "application/json"
        elif data is not None:
            body, sent["Content-Type"] = urlencode(data).encode(), "application/x-www-form-urlencoded"
        wait = self.timeout if timeout is None else timeout
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError as exc:
            raise Failure(f"invalid URL {full!r}: {exc}", "error") from None
        if parts.scheme == "https":
            conn: Any = http.client.HTTPSConnection(host, port, timeout=wait, context=_ssl_context(*self._ca))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=wait)
        try:
            try:
                conn.connect()
            except (TimeoutError, socket.timeout) as exc:
                raise Failure(f"connect to {host}:{port} timed out", "timeout") from exc
            except OSError as exc:
                raise Failure(f"cannot connect to {host}:{port}: {exc.strerror or exc}", "refused") from exc
            try:
                conn.request(method, target, body=body, headers=sent)
                answer = conn.getresponse()
                content = _read_all(conn, answer, time.monotonic() + wait, f"{method} {full}")
            except (TimeoutError, socket.timeout) as exc:
                raise Failure(f"{method} {full} timed out after {wait:g} s", "timeout") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise Failure(f"{method} {full} failed: {exc or type(exc).__name__}", "error") from exc
        finally:
            conn.close()
        self.cookies.take(answer.headers)
        return Response(answer.status, answer.headers, content, full)

    def close(self) -> None:
        self.cookies.clear()
