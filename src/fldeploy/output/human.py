"""Human-readable rendering of each command's Result data."""
from __future__ import annotations

from typing import Callable

from ..result import Result

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def render(result: Result, view: str | None = None) -> str:
    name = view or result.command
    if name not in RENDERERS:  # a programming error: every verb and view registers its renderer
        raise LookupError(f"no human renderer for {name!r}: add one to fldeploy.output.human.RENDERERS")
    return RENDERERS[name](result.data) if result.data is not None else ""


def _doctor(data: dict) -> str:
    width = max(len(c["id"]) for c in data["checks"])
    lines = []
    for c in data["checks"]:
        took = f"  ({c['duration_ms']:.0f} ms)" if data.get("verbose") and c.get("duration_ms") is not None else ""
        lines.append(f"{MARKS[c['status']]}  {c['id']:<{width}}  {c['cause']}{took}")
        if c["status"] in ("fail", "warn"):
            pad = " " * (width + 8)
            if c["fix"]:
                lines.append(f"{pad}fix: {c['fix']}")
            lines.append(f"{pad}see: {c['runbook']}")
    s = data["summary"]
    lines.append(f"\n{s['ok']} ok, {s['warn']} warn, {s['fail']} fail, {s['skip']} skipped")
    if "changes" in data:
        lines += ["", "--fix changed:"] + [f"  {c}" for c in data["changes"]]
    if "bundle" in data:
        lines.append(f"support bundle: {data['bundle']['file']} (secrets masked)")
    return "\n".join(lines)


def _holder_line(h: dict) -> str:
    proc = h.get("process") or {}
    where = ", ".join(h.get("addresses", []))
    if h.get("container"):
        c = h["container"]
        project = f" (compose project {c['project']}, service {c.get('service')})" if c.get("project") else ""
        return f"container {c['name']}{project} via {proc.get('name') or 'docker'} on {where}"
    if proc.get("name"):
        return f"pid {proc['pid']} {proc['name']} (user {proc.get('user')}) on {where}: {proc.get('cmdline')}"
    return f"an unseen process on {where} (run as root to name it)"


def _ports(data: dict) -> str:
    lines = []
    for p in data["ports"]:
        label = {"free": "free", "ours": "ours", "foundry": "foundry", "conflict": "CONFLICT",
                 "held": "held"}[p["state"]]
        lines.append(f"{p['port']:>5}  {p['role']:<10}  {label}")
        for h in p["holders"]:
            lines.append(f"{'':19}{_holder_line(h)}")
        if p["suggestions"]:
            lines.append(f"{'':19}free nearby: {', '.join(map(str, p['suggestions']))}")
        if p["fix"]:
            lines.append(f"{'':19}fix: {p['fix']}")
    lines += [f"note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _config(data: dict) -> str:
    rows = data["settings"]
    width = max(len(r["name"]) for r in rows)
    lines = [f"config file: {data['config_file'] or '(none: fldeploy.yaml in this folder or the user config dir)'}"]
    for r in rows:
        value = "-" if r["value"] is None else r["value"]
        lines.append(f"{r['name']:<{width}}  {str(value):<32}  {r['source']}")
    return "\n".join(lines)


def _foundry(data: dict) -> str:
    if not data.get("running"):
        return "Foundry (embedded): not running" + (" (stopped)" if data.get("changed") else "")
    lines = [
        f"Foundry (embedded): running, pid {data['pid']}" + ("" if data.get("changed", True) else " (already)"),
        f"  url:      {data['url']}   (OpenAI base URL: {data['url']}/v1)",
        f"  listens:  {', '.join(data.get('bind_addresses', []))}",
        f"  model:    {data.get('model_id')} (alias {data.get('alias')})" + ("  [offline demo model]" if data.get("demo") else ""),
        f"  loaded:   {', '.join(data.get('loaded_models', [])) or 'none'}",
        f"  log:      {data['log']}",
    ]
    lines += [f"  note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _expose(data: dict) -> str:
    checked = data["checked"]
    key = (f"  key:       {data['key']}   (kept in {data['key_file']})" if "key" in data else
           f"  key:       in {data['key_file']}; print it: fldeploy foundry expose --show-key")
    lines = [f"Foundry exposed at {data['api_url']} (nginx, {data['network']} network, compose project "
             f"{data['project']})" + ("" if data["changed"] else " (already)"),
             f"  forwards:  /v1/ with the key -> Foundry at {data['foundry_url']} (found via {data['foundry_source']});"
             " anything else: 404",
             f"  checked:   without the key {checked['without_key']}; with it /v1/models lists "
             f"{', '.join(checked['models']) or 'no model'}",
             key,
             f"  use it:    on the front-end machine --foundry-url {data['url']} and api_key = the key",
             f"  logs:      {data['logs']}",
             "  stop it:   fldeploy foundry unexpose"]
    return "\n".join(lines + [f"  note: {n}" for n in data.get("notes", [])])


def _unexpose(data: dict) -> str:
    kept = f"; the key stays in {data['key_file']}" if data.get("key_file") else ""
    return ("proxy stopped" if data["stopped"] else "nothing to stop: Foundry was not exposed") + kept


def _render(data: dict) -> str:
    if data.get("target") == "kubernetes":
        return _render_kubernetes(data)
    if data.get("target") == "swarm":
        return _render_swarm(data)
    return _render_written(data, "", data["services"],
                           f"docker compose --project-directory {data['dir']} up -d --wait")


def _render_swarm(data: dict) -> str:
    services = [f"{s} x{data['replicas']}" if s == "open-webui" else s for s in data["services"]]
    return _render_written(data, f" (swarm stack {data['stack']})", services, data["run_it"])


def _render_written(data: dict, what: str, services: list[str], run_it: str) -> str:
    lines = [f"wrote {', '.join(data['written']) or 'nothing (unchanged)'} in {data['dir']}{what}",
             f"  services:  {', '.join(services)}",
             f"  Foundry:   {data['foundry_url']} -> containers use {data['container_url']}",
             f"             ({data['route']})",
             f"  model:     {data['model_id']}",
             f"  run it:    {run_it}"]
    lines += [f"  note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _render_kubernetes(data: dict) -> str:
    services = [f"{s} x{data['replicas']}" if s == "open-webui" else s for s in data["services"]]
    lines = [f"wrote {', '.join(data['written']) or 'nothing (unchanged)'} in {data['dir']} (a kustomize base)",
             f"  services:  {', '.join(services)}",
             f"  database:  {data['database']}; redis: {data['redis']}",
             f"  Foundry:   pods use {data['foundry_url']} (model {data['model_id']})",
             f"  secrets:   {data['secret_file']} (mode 0600) -> Secret {data['secret']}",
             f"  ingress:   {data['ingress_host'] or 'none (kubectl port-forward svc/open-webui 3000:80)'}",
             f"  apply it:  kubectl apply -k {data['dir']}"]
    lines += [f"  removed:   {', '.join(data['removed'])}"] if data.get("removed") else []
    lines += [f"  note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _up(data: dict) -> str:
    lines = []
    for c in data["checks"]:
        lines.append(f"{MARKS[c['status']]}  {c['id']:<16}  {c['cause']}")
        if c["status"] == "fail":
            lines.append(f"{'':24}fix: {c['fix']}")
    f = data["foundry"]
    lines += ["", "Open in your browser:"]
    lines += [f"  {name:<9} {url}" for name, url in data["urls"].items()]
    if "openwebui" in data["urls"]:
        lines.append(f"Admin:      {data['admin']['email']} (password in {data['admin']['password_in']})")
    if "chainlit" in data["urls"] and data.get("chainlit_login"):
        login = data["chainlit_login"]
        lines.append(f"Chainlit:   sign in as {login['user']} (password in {login['password_in']})")
    if f.get("hosts"):  # several Foundry hosts: Open WebUI lists each one's models as NAME.model
        balanced = f["container_url"].startswith("http://foundry-balancer")
        for i, h in enumerate(f["hosts"]):
            listed = h["model_id"] if balanced else f"{h['model_id']} as {h['name']}.{h['model_id']}"
            lines.append(f"{'Foundry:' if i == 0 else '':<11} {h['name']}: {h['url']} "
                         f"({listed if h['answers'] else 'NOT ANSWERING'})")
        if balanced:
            lines.append(f"{'':<11} balanced: Open WebUI and Chainlit use {f['container_url']}")
    elif f["model_id"]:
        lines.append(f"Foundry:    {f['url']} ({f['model_id']}); containers use {f['container_url']}")
    lines.append(f"Stack:      {data['stack_dir']} (up {data['timings']['total_s']:.1f}s)")
    lines += [f"note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


def _down(data: dict) -> str:
    kept = f"; kept volume {', '.join(data['kept'])}" if data["kept"] else "; volumes removed"
    return f"stack stopped ({data['stack_dir']}){kept}"


def _status(data: dict) -> str:
    health = "replicas" if data.get("target") == "swarm" else "health"  # swarm: running/desired
    lines = [f"{'service':<14} {'state':<10} {health:<10} {'url':<24} image"]
    for s in data["services"]:
        lines.append(f"{s['service']:<14} {s['state']:<10} {s['health']:<10} {str(s['url'] or '-'):<24} {s['image']}")
    if data.get("foundry_hosts"):  # several Foundry hosts: each one in use vs now
        balanced = " (balanced)" if data.get("balance") else ""
        lines.append(f"Foundry hosts{balanced}:")
        for h in data["foundry_hosts"]:
            now = "answers" if h["answers"] else "NOT ANSWERING"
            lines.append(f"  {h['name']:<12} {h['url'] or '-'}  in use: {h['in_use'] or '-'}  now: {now}")
    else:
        lines.append(f"Foundry in use: {data['foundry_in_use']}  (found now: {data['foundry_now'] or 'not running'})")
    if data.get("drift"):
        lines.append(f"DRIFT: {data['drift']}")
    return "\n".join(lines)


def _status_env(data: dict) -> str:
    names = {"open-webui": "OPENWEBUI_URL", "chainlit": "CHAINLIT_URL"}
    lines = [f"{names[s['service']]}={s['url']}" for s in data["services"] if s["service"] in names and s["url"]]
    lines.append(f"FOUNDRY_URL={data['foundry_now'] or data['foundry_in_use'] or ''}")
    return "\n".join(lines)


def _backup(data: dict) -> str:
    return f"backed up volume {data['volume']} to {data['file']} ({data['bytes'] / 1e6:.1f} MB)"


def _restore(data: dict) -> str:
    return (f"restored volume {data['volume']} from {data['file']}\n"
            f"  the data it replaced is in {data['saved_previous']}")


def _rotated(data: dict) -> str:
    lines = [f"rotated {', '.join(data['rotated'])}; the new values are in {data['env_file']}"]
    return "\n".join(lines + [f"note: {n}" for n in data.get("notes", [])])


RENDERERS: dict[str, Callable[[dict], str]] = {
    "backup": _backup, "restore": _restore, "secrets rotate": _rotated,
    "render": _render, "up": _up, "down": _down, "status": _status, "status env": _status_env,
    "doctor": _doctor, "ports": _ports, "config": _config,
    "foundry start": _foundry, "foundry stop": _foundry, "foundry status": _foundry,
    "foundry expose": _expose, "foundry unexpose": _unexpose,
    "logs": lambda data: "",  # docker compose logs wrote to the terminal itself
}
