"""Talking to the Chainlit app the ways a browser can: its socket.io endpoint (Engine.IO 4 over HTTP polling
from Python, over a WebSocket from a page's JavaScript), its login and its upload route."""
from __future__ import annotations

import json
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from .servers import serving

SOCKET_PATH = "/ws/socket.io/"


def session_auth(session_id: str) -> dict:
    """What Chainlit's page sends when it joins the socket (socket.io CONNECT payload)."""
    return {"sessionId": session_id, "clientType": "webapp", "userEnv": "{}", "chatProfile": None, "threadId": None}


def polling_handshake(client, base: str, origin: str | None = None):
    """Engine.IO's first request, as a page of `origin` makes it (None: a client that sends no Origin)."""
    headers = {"Origin": origin} if origin else {}
    return client.get(f"{base}{SOCKET_PATH}", params={"EIO": "4", "transport": "polling"}, headers=headers)


def join_socket(client, base: str, session_id: str) -> str:
    """Open an Engine.IO session and send socket.io's CONNECT: the server's answer, '40{...}' (joined) or
    '44{...}' (refused)."""
    opened = polling_handshake(client, base)
    assert opened.status_code == 200, opened.text
    sid = json.loads(opened.text[1:])["sid"]
    url = f"{base}{SOCKET_PATH}?EIO=4&transport=polling&sid={sid}"
    client.post(url, content="40" + json.dumps(session_auth(session_id)))
    return client.get(url).text


def sign_in(page, url: str, user: str, password: str, expect_chat: bool = True) -> None:
    """Chainlit's login page (its "Email address" field takes the user name)."""
    page.goto(url)
    page.locator("#password").wait_for()
    page.fill("#email", user)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign In").click()
    if expect_chat:
        page.locator("#chat-input").wait_for()


def upload(client, base: str, session_id: str):
    return client.post(f"{base}/project/file", params={"session_id": session_id},
                       files={"file": ("notes.txt", b"hello", "text/plain")})


# Run in a page with page.evaluate(PAGE_PROBE, [app_url, session_id, try_upload]): what that page's own
# JavaScript gets from the app's socket (WebSocket transport), its polling endpoint, and its upload route.
PAGE_PROBE = """async ([base, sessionId, tryUpload]) => {
  const result = {};
  const ws = new WebSocket(base.replace(/^http/, "ws") + "/ws/socket.io/?EIO=4&transport=websocket");
  result.socket = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no answer"), 15000);
    const done = (what) => { clearTimeout(timer); resolve(what); };
    ws.onclose = (e) => done("closed before joining (code " + e.code + ")");
    ws.onmessage = (e) => {
      if (e.data.startsWith("0{")) {
        ws.send("40" + JSON.stringify({sessionId, clientType: "webapp", userEnv: "{}", chatProfile: null,
                                       threadId: null}));
      } else if (e.data.startsWith("40")) {
        done("joined");
      } else if (e.data.startsWith("44")) {
        done("refused: " + e.data.slice(2));
      }
    };
  });
  try {
    const r = await fetch(base + "/ws/socket.io/?EIO=4&transport=polling", {credentials: "include"});
    result.polling = "HTTP " + r.status;
  } catch (err) {
    result.polling = "unreadable: " + err.name;
  }
  if (tryUpload) {
    const form = new FormData();
    form.append("file", new Blob(["hello"], {type: "text/plain"}), "notes.txt");
    try {
      const r = await fetch(base + "/project/file?session_id=" + sessionId,
                            {method: "POST", body: form, credentials: "include"});
      result.upload = "HTTP " + r.status + " " + (await r.text());
    } catch (err) {
      result.upload = "unreadable: " + err.name;
    }
  }
  ws.close();
  return result;
}"""


@contextmanager
def page_server(html: str, host: str = "127.0.0.1"):
    """A real web server on another port of the same host serving one page: another origin, yet the same
    site for cookies (ports do not make a site), so the app's login cookie goes along with its requests."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler, host) as url:
        yield url
