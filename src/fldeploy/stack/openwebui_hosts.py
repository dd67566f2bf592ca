"""Open WebUI on several Foundry hosts, checked as a user finds it: its stored connections are the stack's (one
per host with the host's name as prefix, or the balancer alone), each host's models are listed under its prefix
and each host answers a chat sent the way the UI sends one. A host that fails is named; the others still pass."""
from __future__ import annotations

from pathlib import Path

from ..core.compose_hosts import BALANCER, BALANCER_PORT
from ..core.foundry_hosts import connection_configs, model_for, stored_matches
from ..core.verdicts import Verdict
from ..errors import FldeployError
from . import files

PROMPT = "Say hello."


def _expected(hosts: list[dict], balance: bool) -> tuple[list[str], list[str]]:
    if balance:
        return [f"http://{BALANCER}:{BALANCER_PORT}/v1"], [""]
    return [h["container_url"] for h in hosts], [h["name"] for h in hosts]


def _host_models(models: list[str], prefix: str, wanted: str | None) -> list[str]:
    mine = [m for m in models if not prefix or m.startswith(prefix + ".")]
    if wanted:  # the configured model first, when the host serves it
        mine.sort(key=lambda m: m != model_for(prefix, wanted) and not m.startswith(model_for(prefix, wanted)))
    return mine


def check_hosts(settings, client, url: str, out_dir: Path, hosts: list[dict], balance: bool, repair: bool,
                chat: bool) -> Verdict:
    from ..adapters import foundry_http

    cid = "stack.openwebui"
    if not client.healthy():
        return Verdict(cid, "fail", f"Open WebUI at {url} is not healthy", "see `fldeploy logs open-webui`")
    urls, prefixes = _expected(hosts, balance)
    data: dict = {"url": url, "hosts": {}, "balance": balance}
    try:
        client.sign_in(settings.admin_email, files.read_secrets(out_dir)["OPENWEBUI_ADMIN_PASSWORD"])
        stored = client.connection()
        if not stored_matches(stored, urls, prefixes):
            was = list(stored.get("OPENAI_API_BASE_URLS") or [])
            if not repair:
                return Verdict(cid, "fail", f"Open WebUI's stored Foundry connections are {was}, but the stack has "
                               f"{urls} (settings given by environment are stored on first start and then win)",
                               "`fldeploy up` updates the stored connections", data)
            configs = connection_configs(prefixes) if any(prefixes) else {}
            client.set_connections(urls, settings.api_key, configs)
            data["connection_fixed"] = {"was": was, "now": urls}
        models = client.model_ids()
        data["models"] = models
        groups = [("balanced", "", hosts[0]["url"])] if balance else [(h["name"], h["name"], h["url"]) for h in hosts]
        failed: list[str] = []
        for name, prefix, host_url in groups:
            mine = _host_models(models, prefix, settings.model)
            where = f"host {name} ({host_url})" if not balance else f"the balanced hosts ({len(hosts)})"
            if not mine:
                failed.append(f"{where}: Open WebUI lists none of its models (it does not answer Open WebUI)")
                data["hosts"][name] = {"status": "fail", "models": []}
                continue
            model = mine[0]
            entry: dict = {"models": mine, "model": model}
            data["hosts"][name] = entry
            if repair:  # balanced: every host serves the same model; the first one is asked
                tools_ok, _ = foundry_http.accepts_tools(host_url, model[len(prefix) + 1:] if prefix else model, 30)
                if tools_ok is False:
                    entry["builtin_tools_disabled"] = client.disable_builtin_tools(model) or "already"
            if not chat:
                entry["status"] = "ok"
                continue
            try:
                entry["api_answer"] = client.chat_api(model, PROMPT)
                ui = client.chat_like_the_ui(model, PROMPT)
                client.delete_chat(ui["chat_id"])
            except FldeployError as err:
                failed.append(f"{where}: a chat with {model} failed: {err.message}")
                entry["status"] = "fail"
                continue
            entry["ui_answer"] = ui["text"]
            if ui["error"] or not ui["text"]:
                failed.append(f"{where}: a chat with {model} sent as the browser sends it failed: "
                              f"{str(ui['error'])[-160:]}")
                entry["status"] = "fail"
            else:
                entry["status"] = "ok"
    except FldeployError as err:
        return Verdict(cid, "fail", err.message, err.fix, data)
    data["failed_hosts"] = [n for n, e in data["hosts"].items() if e.get("status") == "fail"]
    if failed:
        ok = [n for n, e in data["hosts"].items() if e.get("status") == "ok"]
        still = f" ({', '.join(ok)} still answer{'s' if len(ok) == 1 else ''})" if ok else ""
        return Verdict(cid, "fail", "; ".join(failed) + still,
                       "start Foundry on the failing host, or check it with `fldeploy doctor` (foundry.* per host)",
                       data)
    fixed = " (stored Foundry connections updated)" if "connection_fixed" in data else ""
    listed = ", ".join(e["model"] for e in data["hosts"].values())
    how = "each answered through the UI path" if chat else "no chat sent: nothing changed since the full check"
    return Verdict(cid, "ok", f"{url}: admin signed in, lists {listed}; {how}{fixed}", data=data)
