"""`secrets rotate` never loses the live admin password, for real: a TCP relay on loopback stands in front of
Open WebUI and breaks the password-change request, either after Open WebUI applied it (the answer is lost:
the connection is cut before its first byte reaches fldeploy) or before it reaches Open WebUI. Either way,
.env must end up holding the password that signs in."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from fldeploy.stack.files import read_secrets

from ..support.stack import stack_up

CHANGE = b"POST /api/v1/auths/update/password"
ADMIN = "admin@fldeploy.local"


class Relay:
    def __init__(self, mode: str) -> None:
        self.mode = mode  # "answer_lost": forward, cut before the answer; "not_sent": cut before forwarding
        self.port = 0
        self.cut: list[str] = []


@contextmanager
def cutting_relay(upstream_port: int, mode: str):
    """A real TCP relay on 127.0.0.1 to 127.0.0.1:upstream_port that forwards everything, except on a
    connection carrying the password change: cut there as mode says."""
    relay = Relay(mode)
    listener = socket.create_server(("127.0.0.1", 0))
    relay.port = listener.getsockname()[1]
    stop = threading.Event()

    def close(*socks: socket.socket) -> None:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def serve(client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        cutting = threading.Event()

        def down() -> None:  # Open WebUI -> fldeploy
            while True:
                try:
                    data = upstream.recv(65536)
                except OSError:
                    return
                if not data:
                    close(client)
                    return
                if cutting.is_set():  # the first byte of the change's answer: Open WebUI applied it
                    relay.cut.append("answer withheld")
                    close(client, upstream)
                    return
                try:
                    client.sendall(data)
                except OSError:
                    return

        threading.Thread(target=down, daemon=True).start()
        seen = b""
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                break
            if not data:
                break
            seen = (seen + data)[-4096:]
            if CHANGE in seen and not cutting.is_set():
                if relay.mode == "not_sent":
                    relay.cut.append("request dropped")
                    close(client, upstream)
                    return
                cutting.set()
            try:
                upstream.sendall(data)
            except OSError:
                break
        close(upstream)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(1)
        listener.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_images, foundry):
    with stack_up(tmp_path_factory.mktemp("rotate"), foundry.url, FLDEPLOY_SERVICES="open-webui") as made:
        yield made


def signs_in(stack, password: str) -> bool:
    """Straight to Open WebUI's published port (not through the relay)."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        resp = client.post(f"http://127.0.0.1:{stack.openwebui_port}/api/v1/auths/signin",
                           json={"email": ADMIN, "password": password})
    assert resp.status_code in (200, 400, 401, 403), resp.text
    return resp.status_code == 200 and "token" in resp.json()


def test_change_not_applied_keeps_the_current_password(stack):
    before = read_secrets(Path(stack.dir))
    with cutting_relay(stack.openwebui_port, "not_sent") as relay:
        run = stack.fl("secrets", "rotate", "--yes", "--json", FLDEPLOY_OPENWEBUI_PORT=str(relay.port))
    assert relay.cut == ["request dropped"]
    assert run.code == 1 and run.json["errors"][0]["code"] == "secrets.not_changed", run.out
    after = read_secrets(Path(stack.dir))
    assert after == before, "nothing changed"
    assert signs_in(stack, after["OPENWEBUI_ADMIN_PASSWORD"])
    assert not (Path(stack.dir) / ".env.before-rotate").exists()


def test_answer_lost_after_the_change_keeps_the_password_that_signs_in(stack):
    before = read_secrets(Path(stack.dir))
    assert signs_in(stack, before["OPENWEBUI_ADMIN_PASSWORD"])
    with cutting_relay(stack.openwebui_port, "answer_lost") as relay:
        run = stack.fl("secrets", "rotate", "--yes", "--json", FLDEPLOY_OPENWEBUI_PORT=str(relay.port))
    assert relay.cut == ["answer withheld"], "Open WebUI applied the change and its answer never arrived"
    after = read_secrets(Path(stack.dir))
    assert signs_in(stack, after["OPENWEBUI_ADMIN_PASSWORD"]), ".env holds a password that does not sign in"
    assert not signs_in(stack, before["OPENWEBUI_ADMIN_PASSWORD"])
    assert run.code == 0, run.out + run.err
    assert any("answer was lost" in n for n in run.json["data"]["notes"]), run.out
    assert after["WEBUI_SECRET_KEY"] != before["WEBUI_SECRET_KEY"]
    assert not (Path(stack.dir) / ".env.before-rotate").exists()
    for value in after.values():
        assert value not in run.out and value not in run.err
    doctor = stack.fl("doctor", "--json")
    assert next(c for c in doctor.json["data"]["checks"] if c["id"] == "stack.openwebui")["status"] == "ok"
