"""A local OpenAI-compatible server for the Chainlit app's tests: paces its tokens, echoes how many messages
it received, records requests and client disconnects. Stands in for the cloud endpoint of hybrid routing and
for a slow model; the real Foundry runtime covers everything else."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    def __init__(self, model: str, tokens: int, pace: float, name: str, cut_after: int | None) -> None:
        self.model, self.tokens, self.pace, self.name, self.cut_after = model, tokens, pace, name, cut_after
        self.requests: list[dict] = []
        self.disconnects = 0
        self.sent_tokens = 0
        self.lock = threading.Lock()


def _handler(state: StandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": state.model, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": "no route"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with state.lock:
                state.requests.append(body)
            if body.get("model") != state.model:
                self._json(404, {"error": {"message": f"Model not found: {body.get('model')}"}})
                return
            words = [f"{state.name}-{i} " for i in range(state.tokens)] + [f"(messages: {len(body['messages'])})"]
            if not body.get("stream"):
                self._json(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(words)},
                                              "finish_reason": "stop"}], "model": state.model, "object": "chat.completion"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            try:
                for i, word in enumerate(words):
                    if state.cut_after is not None and i == state.cut_after:
                        self.connection.shutdown(2)  # the stream dies mid-answer
                        return
                    chunk = {"object": "chat.completion.chunk", "model": state.model,
                             "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    with state.lock:
                        state.sent_tokens += 1
                    time.sleep(state.pace)
                done = {"object": "chat.completion.chunk", "model": state.model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                with state.lock:
                    state.disconnects += 1
            self.close_connection = True

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default backlog of 5 drops a burst of concurrent connects


@contextmanager
def openai_standin(model: str = "standin-model:1", tokens: int = 5, pace: float = 0.0, name: str = "tok",
                   cut_after: int | None = None, port: int = 0, host: str = "127.0.0.1"):
    state = StandIn(model, tokens, pace, name, cut_after)
    server = _Server((host, port), _handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://{host}:{server.server_address[1]}/v1"
    state.port = server.server_address[1]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
