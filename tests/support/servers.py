"""Real local servers standing in for broken Foundry endpoints: hung, HTTP 500, and a listener on any address."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def hung_server(host: str = "127.0.0.1"):
    """Accepts connections and never answers: what a wedged Foundry looks like from outside."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(1)
        for conn in held:
            conn.close()
        sock.close()


@contextmanager
def status_server(status: int, body: dict | None = None, host: str = "127.0.0.1"):
    """Answers every request with the given status and JSON body (e.g. 500 for a broken Foundry)."""
    payload = json.dumps(body or {"error": {"message": "internal error"}}).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    with serving(Handler, host) as url:
        yield url


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
    """A real HTTP server on a free loopback port with this handler; yields its URL, stops it afterwards."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
