"""Local requests go over the standard library (no proxy, no httpx import); against real loopback servers they
keep httpx's promises and a few more: one deadline for a whole answer, a size cap, cookies only to the
service that set them, and a query that contains '://' is still a path."""
from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from fldeploy.adapters import http
from fldeploy.adapters.local_http import MAX_ANSWER_BYTES

from ..support.servers import hung_server, serving

SEEN: list[tuple[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        SEEN.append((self.path, self.headers.get("Cookie", "")))
        if self.path.startswith("/trickle"):
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.5)
            return
        if self.path.startswith("/huge"):
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_ANSWER_BYTES + 1))
            self.end_headers()
            block = b"x" * 65536
            try:
                for _ in range(MAX_ANSWER_BYTES // len(block) + 1):
                    self.wfile.write(block)
            except OSError:
                pass
            return
        body = b'{"ok": true}'
        self.send_response(200)
        if self.path == "/login":
            self.send_header("Set-Cookie", "session=s3cret; Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_one_deadline_for_a_whole_answer():
    with serving(Handler) as url:
        start = time.monotonic()
        with pytest.raises(http.TimeoutException):
            http.get(url + "/trickle", 1.5)
        assert time.monotonic() - start < 3, "a trickling server cannot stretch the timeout read by read"


def test_an_answer_over_the_cap_is_refused():
    with serving(Handler) as url, pytest.raises(http.HTTPError, match="MiB"):
        http.get(url + "/huge", 30)


def test_cookies_go_back_to_their_own_service_only():
    SEEN.clear()
    with serving(Handler) as first, serving(Handler) as second, http.client(first, 5) as client:
        client.get("/login")
        client.get("/me")
        client.get(second + "/elsewhere")
    cookies = dict(SEEN)
    assert cookies["/me"] == "session=s3cret" and cookies["/elsewhere"] == ""


def test_a_query_naming_a_url_is_still_a_path():
    SEEN.clear()
    with serving(Handler) as url, http.client(url, 5) as client:
        assert client.get("/v1/models?next=http://elsewhere.example/").status_code == 200
    assert SEEN[-1][0] == "/v1/models?next=http://elsewhere.example/"


def test_failure_kinds_are_told_apart():
    with hung_server() as url:
        with pytest.raises(http.TimeoutException):
            http.get(url, 0.5)
    with pytest.raises(http.ConnectError):
        http.get("http://127.0.0.1:1/", 2)


def test_a_zone_is_read_only_on_ipv6_literals():
    """'127.0.0.1%.example.com' is a DNS name, not loopback: it keeps the proxy rules."""
    assert http.is_local("http://127.0.0.1%.example.com/") is False
    assert http.is_local("http://[::1]:80/") is True
