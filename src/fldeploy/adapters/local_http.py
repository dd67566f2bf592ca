"""HTTP to this host and its containers over the standard library's http.client.

Local requests never use a proxy, never follow redirects and need no connection pool, so httpx (~170 ms of
imports on a 2-core machine: a third of `doctor` on a healthy stack, and of `up` with nothing to change) is
not needed for them. This session gives the few things fldeploy uses: base URL + path, query params, JSON or
form bodies, headers, a cookie jar (the Chainlit login), credentials in the URL, and httpx's failure kinds.
"""
from __future__ import annotations

import json as jsonlib
import socket
from typing import Any
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


class Session:
    def __init__(self, base_url: str, timeout: float, cafile: str | None = None, capath: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = Cookies()
        self._ca = (cafile, capath)

    def request(self, method: str, url: str, *, headers: dict | None = None, json: Any = None,
                data: dict | None = None, params: dict | None = None, timeout: float | None = None) -> Response:
        import http.client

        full = url if "://" in url else self.base_url + url
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
        if self.cookies:
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
                content = answer.read()
            except (TimeoutError, socket.timeout) as exc:
                raise Failure(f"{method} {full} timed out after {wait:g} s", "timeout") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise Failure(f"{method} {full} failed: {exc or type(exc).__name__}", "error") from exc
        finally:
            conn.close()
        self.cookies.take(answer.headers)
        return Response(answer.status, answer.headers, content, full)

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)

    def head(self, url: str, **kw: Any) -> Response:
        return self.request("HEAD", url, **kw)

    def delete(self, url: str, **kw: Any) -> Response:
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        self.cookies.clear()
