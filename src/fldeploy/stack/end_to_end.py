"""End-to-end checks of a running stack, as a user would do them: Open WebUI signs the admin in, lists
Foundry's models and answers a chat the way its UI sends one; the Chainlit app answers and reaches Foundry."""
from __future__ import annotations

from pathlib import Path

from ..core.verdicts import Verdict
from ..errors import FldeployError
from . import files

PROMPT = "Say hello."


def check_openwebui(settings, out_dir: Path, model_id: str, container_url: str) -> Verdict:
    """Open WebUI as a user finds it; changes nothing (doctor)."""
    return _openwebui(settings, out_dir, model_id, container_url, None, repair=False)


def check_and_repair_openwebui(settings, out_dir: Path, model_id: str, container_url: str,
                               tools_ok: bool | None, chat: bool = True) -> Verdict:
    """The same check, repairing as it goes (up): the stored Foundry connection updated, built-in tools turned
    off for a model Foundry rejects tools for. chat=False: no chats (the stack changed nothing since a full
    check passed on it), the sign-in and the repairs still run, since they hold state a click can change."""
    return _openwebui(settings, out_dir, model_id, container_url, tools_ok, repair=True, chat=chat)


def _openwebui(settings, out_dir: Path, model_id: str, container_url: str, tools_ok: bool | None,
               repair: bool, chat: bool = True) -> Verdict:
    from ..core.compose_hosts import read_hosts
    from .openwebui import OpenWebUI

    url = f"http://127.0.0.1:{settings.openwebui_port}"
    rendered = (out_dir / files.COMPOSE_FILE).exists()
    hosts, balance = read_hosts(files.read_document(out_dir)) if rendered else ((), False)
    with OpenWebUI(url) as client:
        if hosts:  # several Foundry hosts: one connection each (or the balancer), each host's models and chats
            from .openwebui_hosts import check_hosts

            return check_hosts(settings, client, url, out_dir, list(hosts), balance, repair, chat)
        return _check_openwebui(settings, client, url, out_dir, model_id, container_url, tools_ok, repair, chat)


def _check_openwebui(settings, client, url: str, out_dir: Path, model_id: str, container_url: str,
                     tools_ok: bool | None, repair: bool, chat: bool = True) -> Verdict:
    cid = "stack.openwebui"
    if not client.healthy():
        return Verdict(cid, "fail", f"Open WebUI at {url} is not healthy", "see `fldeploy logs open-webui`")
    data: dict = {"url": url}
    try:
        client.resume_or_sign_in(settings.admin_email, files.read_secrets(out_dir)["OPENWEBUI_ADMIN_PASSWORD"],
                                 out_dir / files.SESSION_FILE)
        stored = client.connection()
        stored_url = (stored.get("OPENAI_API_BASE_URLS") or [None])[0]
        if stored_url != container_url:
            if not repair:
                return Verdict(cid, "fail", f"Open WebUI's stored Foundry URL is {stored_url}, but Foundry is "
                               f"at {container_url} (settings given by environment are stored on first start and "
                               "then win)", "`fldeploy up` updates the stored connection", data)
            client.set_connection(container_url, settings.api_key, stored)
            data["connection_fixed"] = {"was": stored_url, "now": container_url}
        models = client.model_ids()
        data["models"] = models
        if model_id not in models:
            return Verdict(cid, "fail", f"Open WebUI lists {models or 'no models'}, not {model_id}",
                           "run `fldeploy doctor`: it checks the path from the containers to Foundry", data)
        if tools_ok is False and repair:
            data["builtin_tools_disabled"] = client.disable_builtin_tools(model_id) or "already"
        if not chat:
            fixed = " (stored Foundry URL updated)" if "connection_fixed" in data else ""
            return Verdict(cid, "ok", f"{url}: admin signed in, lists {model_id}{fixed}; no chat sent: nothing changed "
                           "since the full end-to-end check passed (`fldeploy doctor` sends one)", data=data)
        data["api_answer"] = client.chat_api(model_id, PROMPT)
        ui = client.chat_like_the_ui(model_id, PROMPT)
        client.delete_chat(ui["chat_id"])
    except FldeployError as err:
        return Verdict(cid, "fail", err.message, err.fix, data)
    data["ui_answer"] = ui["text"]
    if ui["error"] or not ui["text"]:
        error = str(ui["error"])
        if "tool" in error.lower():
            return Verdict(cid, "fail", "chats from the browser fail: Open WebUI adds its built-in tools to them, "
                           f"and Foundry rejects tools for {model_id} ({error[-120:]})",
                           "`fldeploy up` turns Open WebUI's built-in tools off for this model", data)
        return Verdict(cid, "fail", f"a chat sent as the browser sends it failed: {error[-200:]}",
                       "see deploy/runbooks/stack.md#stack.openwebui", data)
    fixed = " (stored Foundry URL updated)" if "connection_fixed" in data else ""
    return Verdict(cid, "ok", f"{url}: admin signed in, lists {model_id}, answered {ui['text']!r} through the "
                   f"UI path{fixed}", data=data)


def chainlit(settings, compose) -> Verdict:
    from ..adapters import http, proc

    cid = "stack.chainlit"
    url = f"http://127.0.0.1:{settings.chainlit_port}"
    try:
        health = http.get(f"{url}/health", 5).json()
        page = http.get(url, 5)
    except Exception as exc:
        return Verdict(cid, "fail", f"the Chainlit app at {url} does not answer: {exc}", "see `fldeploy logs chainlit`")
    if health.get("status") != "ok" or page.status_code != 200:
        return Verdict(cid, "fail", f"{url}/health answered {health}", "see `fldeploy logs chainlit`")
    # with the app's own API_KEY, as the app sends it (a Foundry behind `fldeploy foundry expose` wants it)
    probe = ("import os, urllib.request; print(urllib.request.urlopen(urllib.request.Request(os.environ['BASE_URL'] "
             "+ '/models', headers={'Authorization': 'Bearer ' + os.environ.get('API_KEY', '')}), timeout=5).status); "
             "print(os.environ.get('CHAINLIT_ADMIN_USER') or 'admin')")
    reach = proc.run(compose.argv("exec", "-T", "chainlit", "python3", "-c", probe), 30)
    lines = [line.strip() for line in reach.stdout.strip().splitlines()]
    if not lines or lines[0] != "200":
        return Verdict(cid, "fail", f"the Chainlit container cannot reach Foundry: {(reach.stderr or reach.stdout)[-200:]}",
                       "run `fldeploy doctor`: it checks the path from the containers to Foundry")
    user = lines[1] if len(lines) > 1 else "admin"
    password = files.read_secrets(compose.dir).get("CHAINLIT_ADMIN_PASSWORD", "")
    status, cause, fix = _chainlit_login(url, user, password, settings.public)
    data = {"url": url, "login_user": user}
    if status != "ok":
        return Verdict(cid, status, cause, fix, data)
    return Verdict(cid, "ok", f"{url}: page and /health answer; {cause}; the container reaches Foundry", data=data)


def _chainlit_login(url: str, user: str, password: str, public: bool) -> tuple[str, str, str]:
    """(status, cause, fix) of the login as a browser does it: the password in .env gets a session cookie
    that /user accepts, a wrong one is refused. No login at all is a warning on loopback, a failure when
    published on all interfaces."""
    import secrets as random

    from ..adapters import http

    logs = "see `fldeploy logs chainlit`"
    try:
        with http.client(url, 10) as client:
            if not client.get("/auth/config").json().get("requireLogin"):
                exposed = ", and it is published on all interfaces" if public else ""
                return ("fail" if public else "warn",
                        f"the Chainlit app at {url} has no login (CHAINLIT_LOGIN=off): anyone who reaches it can "
                        f"chat{exposed}", "remove CHAINLIT_LOGIN from compose.override.yaml, then `fldeploy up`")
            wrong = client.post("/login", data={"username": user, "password": random.token_urlsafe(18)}).status_code
            client.cookies.clear()
            signed = client.post("/login", data={"username": user, "password": password}).status_code
            me = client.get("/user") if signed == 200 else None
            identifier = me.json().get("identifier") if me is not None and me.status_code == 200 else None
    except Exception as exc:
        return "fail", f"the Chainlit login at {url} does not answer: {exc}", logs
    if wrong != 401:
        return "fail", f"the Chainlit app at {url} answered HTTP {wrong} to a wrong password instead of 401", logs
    if identifier != user:
        got = f"HTTP {signed}" if me is None else f"/user answered HTTP {me.status_code}"
        return ("fail", f"{user} cannot sign in to the Chainlit app at {url} with the password in .env "
                f"(CHAINLIT_ADMIN_PASSWORD): {got}",
                "`fldeploy up` recreates the container with the password in .env; see `fldeploy logs chainlit`")
    return "ok", f"{user} signs in, a wrong password is refused", ""


def webgpu_demo(settings) -> Verdict:
    """The page, the runtime and the model are served locally, with the MIME types and CSP the page needs."""
    from ..adapters import http

    cid = "stack.webgpu_demo"
    url = f"http://127.0.0.1:{settings.webgpu_demo_port}"
    try:
        page = http.get(url + "/", 5)
        wasm = http.head(url + "/vendor/ort/ort-wasm-simd-threaded.jsep.wasm", 5)
        module = http.head(url + "/vendor/ort/ort.webgpu.min.mjs", 5)
        model = http.head(url + "/model/digits.onnx", 5)
    except Exception as exc:
        return Verdict(cid, "fail", f"the demo at {url} does not answer: {exc}", "see `fldeploy logs webgpu-demo`")
    problems = []
    if page.status_code != 200 or "script-src 'self'" not in page.headers.get("content-security-policy", ""):
        problems.append(f"page HTTP {page.status_code}, CSP {page.headers.get('content-security-policy')!r}")
    if wasm.headers.get("content-type") != "application/wasm":
        problems.append(f".wasm served as {wasm.headers.get('content-type')!r}")
    if "javascript" not in module.headers.get("content-type", ""):
        problems.append(f".mjs served as {module.headers.get('content-type')!r}")
    if model.status_code != 200:
        problems.append(f"model HTTP {model.status_code}")
    if problems:
        return Verdict(cid, "fail", f"the demo at {url} is served wrongly: {'; '.join(problems)}",
                       "rebuild it: `fldeploy up --build`", {"url": url})
    return Verdict(cid, "ok", f"{url}: page, runtime (application/wasm) and model served locally under a strict CSP",
                   data={"url": url})


HEALTH = {"chainlit": ("stack.chainlit", "chainlit_port", "/health"),
          "webgpu-demo": ("stack.webgpu_demo", "webgpu_demo_port", "/health")}


def still_healthy(settings, services: list[str], checked_at: str) -> list[Verdict]:
    """For an `up` that changed nothing: the Chainlit app and the demo answer their health route; the full check
    passed on exactly these files and this Foundry at checked_at (`fldeploy doctor` runs it again)."""
    from ..adapters import http

    out = []
    for service in services:
        if service not in HEALTH:
            continue
        cid, port_setting, route = HEALTH[service]
        url = f"http://127.0.0.1:{getattr(settings, port_setting)}"
        try:
            answer = http.get(url + route, 5)
            healthy = answer.status_code == 200
            detail = f"HTTP {answer.status_code}"
        except Exception as exc:  # a front end that does not answer is the finding
            healthy, detail = False, str(exc) or type(exc).__name__
        if healthy:
            out.append(Verdict(cid, "ok", f"{url}: unchanged since the full end-to-end check passed at {checked_at}; "
                               f"{route} answers (`fldeploy doctor` checks it all again)", data={"url": url}))
        else:
            out.append(Verdict(cid, "fail", f"{url}{route} does not answer ({detail})",
                               f"see `fldeploy logs {service}`", {"url": url}))
    return out
