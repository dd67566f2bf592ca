"""A corporate proxy in the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY; NO_PROXY empty), for real: local
traffic (Foundry on loopback, the stack's own front ends with the admin sign-in) goes direct, never to the
proxy; a dead proxy raises no false alarm; what goes outside still goes to the proxy.

The proxy is a real HTTP proxy on loopback that records every request it gets and answers them itself
(it forwards nothing): no test traffic leaves this host."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..support.fixtures import isolated_env, run_fldeploy
from ..support.servers import free_port, status_server
from ..support.stack import stack_up

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
VIA_PROXY = b"answered by the recording proxy"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""

    def seen(self) -> list[str]:
        with self.lock:
            return [f"{r['method']} {r['target']}" for r in self.requests]


@contextmanager
def recording_proxy():
    """A real HTTP proxy on loopback: records method, target, headers and body; answers 200 itself to plain
    requests and 502 to CONNECT (nothing is forwarded anywhere)."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with recorder.lock:
                recorder.requests.append({"method": self.command, "target": self.path,
                                          "headers": dict(self.headers), "body": body})

        def _answer(self) -> None:
            self._record()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(VIA_PROXY)))
            self.end_headers()
            self.wfile.write(VIA_PROXY)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

        def do_CONNECT(self) -> None:
            self._record()
            self.send_response(502, "recording proxy does not tunnel")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


def dead_proxy_url() -> str:
    """A loopback port nobody listens on: connecting to this proxy is refused."""
    return f"http://127.0.0.1:{free_port()}"


def proxy_env(proxy_url: str) -> dict:
    return {**{v: proxy_url for v in PROXY_VARS}, "NO_PROXY": "", "no_proxy": ""}


def _checks(run) -> dict:
    return {c["id"]: c for c in run.json["data"]["checks"]}


# --- the routing decision and real requests, in process -------------------------------------------------

def test_routing_decision_local_goes_direct_outside_honours_the_proxy():
    from fldeploy.adapters import http, net

    local = ["http://127.0.0.1:5273/v1", "http://127.9.8.7:1/", "http://[::1]:3000", "http://localhost:8080",
             "http://LOCALHOST.:8080", "http://app.localhost/", "http://host.docker.internal:5273/v1",
             "http://0.0.0.0:3000", "http://[::ffff:127.0.0.1]:80/", f"http://{socket.gethostname()}:3000",
             "http://user:pw@127.0.0.1:5273/v1"]
    gateway = net.interface_ipv4("docker0")
    if gateway:  # the Docker bridge: its gateway (this host) and an address of a container on it
        prefix = gateway.rsplit(".", 1)[0]
        local += [f"http://{gateway}:5273/v1", f"http://{prefix}.200:8080/"]
    outside = ["http://example.invalid/", "https://example.invalid:8443/v1", "http://192.0.2.10:5273/v1",
               "http://[2001:db8::1]:80/", "https://foundry.contoso.example/v1", "http://127.0.0.1.example/"]
    assert [u for u in local if http.uses_env_proxy(u)] == []
    assert [u for u in outside if not http.uses_env_proxy(u)] == []


def test_outside_url_still_goes_to_the_proxy(monkeypatch):
    from fldeploy.adapters import http

    with recording_proxy() as proxy:
        for name, value in proxy_env(proxy.url).items():
            monkeypatch.setenv(name, value)
        answer = http.get("http://example.invalid/v1/models", 5)
        assert answer.status_code == 200 and answer.content == VIA_PROXY
        with pytest.raises(http.HTTPError):  # HTTPS through the proxy: a CONNECT, which this proxy refuses
            http.get("https://example.invalid/v1/models", 5)
        assert proxy.seen() == ["GET http://example.invalid/v1/models", "CONNECT example.invalid:443"]


def test_local_requests_never_reach_the_proxy(monkeypatch):
    from fldeploy.adapters import foundry_http
    from fldeploy.stack.openwebui import OpenWebUI

    models = {"object": "list", "data": [{"id": "m", "object": "model"}]}
    with recording_proxy() as proxy, status_server(200, models) as local:
        for name, value in proxy_env(proxy.url).items():
            monkeypatch.setenv(name, value)
        assert foundry_http.probe_models(local, 5).outcome == "ok"
        assert foundry_http.probe_models(local.replace("127.0.0.1", "localhost"), 5).outcome == "ok"
        with OpenWebUI(local) as client:
            assert client.signs_in("admin@fldeploy.local", "the-admin-password") is False  # no token in the answer
        assert proxy.seen() == []


def test_no_httpx_outside_the_adapter():
    """Every HTTP request goes through adapters/http.py, so no module can forget the local rule."""
    import ast
    import pathlib

    import fldeploy

    def imports_httpx(path: pathlib.Path) -> bool:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "httpx" or n.startswith("httpx.") for n in names):
                return True
        return False

    root = pathlib.Path(fldeploy.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if p != root / "adapters" / "http.py" and imports_httpx(p))
    assert users == []


# --- doctor through the real CLI --------------------------------------------------------------------------

def test_doctor_with_a_proxy_talks_to_foundry_directly(foundry, tmp_path, docker_engine):
    with recording_proxy() as proxy:
        env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_OPENWEBUI_PORT=str(free_port()),
                           FLDEPLOY_CHAINLIT_PORT=str(free_port()), **proxy_env(proxy.url))
        run = run_fldeploy("doctor", "--deep", "--json", env=env, timeout=180)
        checks = _checks(run)
        for cid in ("foundry.endpoint", "foundry.api", "foundry.models", "foundry.chat"):
            assert checks[cid]["status"] == "ok", checks[cid]
        assert checks["docker.engine"]["status"] == "ok", checks["docker.engine"]
        assert proxy.seen() == []


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_images, foundry):
    with stack_up(tmp_path_factory.mktemp("proxy"), foundry.url, FLDEPLOY_SERVICES="open-webui") as made:
        yield made


def test_dead_proxy_doctor_on_a_healthy_stack_is_all_green(stack):
    """The issue's acceptance criterion: HTTP_PROXY at a dead proxy, NO_PROXY empty: doctor is all green."""
    run = stack.fl("doctor", "--json", timeout=300, **proxy_env(dead_proxy_url()))
    statuses = {cid: c["status"] for cid, c in _checks(run).items()}
    assert set(statuses.values()) <= {"ok", "skip"}, _checks(run)
    assert statuses["foundry.api"] == statuses["stack.openwebui"] == statuses["foundry.from_container"] == "ok"
    assert run.code == 0


def test_openwebui_sign_in_never_reaches_the_proxy(stack):
    from pathlib import Path

    from fldeploy.stack.files import read_secrets

    password = read_secrets(Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"]
    with recording_proxy() as proxy:
        run = stack.fl("doctor", "--json", timeout=300, **proxy_env(proxy.url))
        openwebui = _checks(run)["stack.openwebui"]
        assert openwebui["status"] == "ok" and "admin signed in" in openwebui["cause"], openwebui
        assert proxy.seen() == []
        assert not any(password.encode() in r["body"] for r in proxy.requests)
