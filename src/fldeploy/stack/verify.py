"""End-to-end checks of a running stack, as a user would do them: Open WebUI signs the admin in, lists
Foundry's models and answers a chat the way its UI sends one; the Chainlit app answers and reaches Foundry."""
from __future__ import annotations

from pathlib import Path

from ..core.verdicts import Verdict
from ..errors import FldeployError
from . import files

PROMPT = "Say hello."


def openwebui(settings, out_dir: Path, model_id: str, container_url: str, tools_ok: bool | None,
              repair: bool = True) -> Verdict:
    """repair: update the stored connection and turn built-in tools off (up); False only reports (doctor)."""
    from .openwebui import OpenWebUI

    url = f"http://127.0.0.1:{settings.openwebui_port}"
    with OpenWebUI(url) as client:
        return _check_openwebui(settings, client, url, out_dir, model_id, container_url, tools_ok, repair)


def _check_openwebui(settings, client, url: str, out_dir: Path, model_id: str, container_url: str,
                     tools_ok: bool | None, repair: bool) -> Verdict:
    cid = "stack.openwebui"
    if not client.healthy():
        return Verdict(cid, "fail", f"Open WebUI at {url} is not healthy", "see `fldeploy logs open-webui`")
    data: dict = {"url": url}
    try:
        client.sign_in(settings.admin_email, files.read_secrets(out_dir)["OPENWEBUI_ADMIN_PASSWORD"])
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
    import httpx

    from ..adapters import proc

    cid = "stack.chainlit"
    url = f"http://127.0.0.1:{settings.chainlit_port}"
    try:
        health = httpx.get(f"{url}/health", timeout=5).json()
        page = httpx.get(url, timeout=5)
    except Exception as exc:
        return Verdict(cid, "fail", f"the Chainlit app at {url} does not answer: {exc}", "see `fldeploy logs chainlit`")
    if health.get("status") != "ok" or page.status_code != 200:
        return Verdict(cid, "fail", f"{url}/health answered {health}", "see `fldeploy logs chainlit`")
    probe = ("import os, urllib.request; print(urllib.request.urlopen(os.environ['BASE_URL'] + '/models', "
             "timeout=5).status)")
    reach = proc.run(compose.argv("exec", "-T", "chainlit", "python3", "-c", probe), 30)
    if reach.stdout.strip() != "200":
        return Verdict(cid, "fail", f"the Chainlit container cannot reach Foundry: {(reach.stderr or reach.stdout)[-200:]}",
                       "run `fldeploy doctor`: it checks the path from the containers to Foundry")
    return Verdict(cid, "ok", f"{url}: page and /health answer; the container reaches Foundry", data={"url": url})


def webgpu_demo(settings) -> Verdict:
    """The page, the runtime and the model are served locally, with the MIME types and CSP the page needs."""
    import httpx

    cid = "stack.webgpu_demo"
    url = f"http://127.0.0.1:{settings.webgpu_demo_port}"
    try:
        page = httpx.get(url + "/", timeout=5)
        wasm = httpx.head(url + "/vendor/ort/ort-wasm-simd-threaded.jsep.wasm", timeout=5)
        module = httpx.head(url + "/vendor/ort/ort.webgpu.min.mjs", timeout=5)
        model = httpx.head(url + "/model/digits.onnx", timeout=5)
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
