"""Pure doctor verdicts: facts in, one Verdict (ok/warn/fail/skip, cause, fix, runbook) out per check."""
from __future__ import annotations

from dataclasses import dataclass, field

from .fix_texts import fix, fix_engine
from .foundry_rules import Discovery, resolve_model, url_host, url_port
from .ports import LOOPBACKS, WILDCARDS, PortStatus

MIN_COMPOSE = (2, 1, 1)  # `docker compose up --wait` arrived in Compose 2.1.1
# `configs: {content: ...}` (the balancer's nginx.conf, inline in compose.yaml) arrived in Compose 2.23.1:
# https://docs.docker.com/reference/compose-file/configs/
BALANCE_COMPOSE = "2.23.1"


def compose_needs(balance: bool) -> dict:
    """What the stack needs of Compose beyond `up --wait`: the compose facts carry it to the docker.compose check."""
    return {"needs": BALANCE_COMPOSE, "needed_for": "`--balance` (its nginx configuration is inline in "
            "compose.yaml)"} if balance else {}


@dataclass
class Verdict:
    id: str
    status: str  # ok | warn | fail | skip
    cause: str
    fix: str = ""
    data: dict = field(default_factory=dict)
    duration_ms: float | None = None  # how long gathering and judging it took (doctor --json, -v)


def timed_out(check_id: str, what: str, seconds: float) -> Verdict:
    return Verdict(check_id, "fail", f"{what} did not answer within {seconds:.1f}s",
                   "see the runbook; raise check_timeout if the machine is just slow")


def _target(d: Discovery):
    return d.chosen or d.explicit_failed or (d.candidates[0] if d.candidates else None)


def foundry_endpoint(d: Discovery) -> Verdict:
    cid = "foundry.endpoint"
    data = d.as_dict()
    if d.explicit_failed:
        bad = d.explicit_failed
        probe = d.probes.get(bad.url)
        outcome = probe.outcome if probe else "timeout"
        if probe and probe.detail.startswith("HTTP 401"):  # it answers, but not to this key: foundry.api says so
            return Verdict(cid, "ok", f"{bad.url} (from setting {bad.detail}; it refuses the key: see foundry.api)",
                           "", data)
        if d.alternatives:
            good = d.alternatives[0]
            moved = ": its port moved" if outcome == "refused" else ""
            return Verdict(cid, "fail", f"configured {bad.url} ({bad.detail}) does not answer ({outcome}), but "
                           f"Foundry answers at {good.url} (found via {good.source}){moved}",
                           f"use the new URL: --foundry-url {good.url} (or FLDEPLOY_FOUNDRY_URL={good.url}), "
                           f"or drop the stale setting so fldeploy discovers it", data)
        return Verdict(cid, "ok" if outcome != "refused" else "fail",
                       f"{bad.url} (from setting {bad.detail}; it does not answer: see foundry.api)",
                       "" if outcome != "refused" else fix("foundry.start", d.platform, cli=d.cli), data)
    target = _target(d)
    if target is None:
        notes = f" ({'; '.join(d.notes)})" if d.notes else ""
        return Verdict(cid, "fail", "Foundry Local is not running: no foundry CLI answer, no Foundry "
                       f"process, nothing on ports 5272/5273/51211{notes}",
                       fix("foundry.start", d.platform, cli=d.cli), data)
    how = target.source if target.source != "setting" else f"setting {target.detail}"
    return Verdict(cid, "ok", f"{target.url} (found via {how})", "", data)


def foundry_api(d: Discovery) -> Verdict:
    cid = "foundry.api"
    if d.chosen and d.probe:
        return Verdict(cid, "ok", f"GET /v1/models answered in {d.probe.elapsed_ms:.0f} ms",
                       data={"elapsed_ms": round(d.probe.elapsed_ms, 1)})
    target = _target(d)
    if target is None:
        return Verdict(cid, "skip", "no Foundry endpoint to ask")
    probe = d.probes.get(target.url)
    outcome, detail = (probe.outcome, probe.detail) if probe else ("timeout", "")
    start = fix("foundry.start", d.platform, cli=d.cli)
    causes = {
        "timeout": (f"{target.url} accepts connections but /v1/models did not answer in time (hung)",
                    fix("foundry.restart", d.platform, cli=d.cli)),
        "refused": (f"{target.url} refuses connections: nothing listens there", start),
        "http_error": (f"{target.url}/v1/models answered {detail}", fix("foundry.logs", d.platform, cli=d.cli)),
        "not_openai": (f"{target.url} is not an OpenAI-compatible Foundry endpoint: {detail}",
                       "point --foundry-url at Foundry Local's base URL (e.g. http://127.0.0.1:5273)"),
    }
    if outcome == "http_error" and detail.startswith("HTTP 401"):  # a `fldeploy foundry expose` proxy, or alike
        causes[outcome] = (f"Foundry at {target.url} refused the key (HTTP 401): api_key is not the key of its "
                           "proxy", "copy the key from `fldeploy foundry expose --show-key` on that machine into "
                           "api_key (FLDEPLOY_API_KEY=<key>, or 'api_key: <key>' in fldeploy.yaml)")
    if outcome == "http_error" and detail.startswith(("HTTP 502", "HTTP 504")):  # a proxy whose Foundry is gone
        causes[outcome] = (f"{target.url} is a proxy whose Foundry does not answer ({detail[:8]})",
                           "on that machine start Foundry, then run `fldeploy foundry expose` again (its port may "
                           "have moved)")
    cause, to_fix = causes.get(outcome, (f"{target.url}: {detail}", start))
    return Verdict(cid, "fail", cause, to_fix, {"outcome": outcome, "detail": detail})


def foundry_models(d: Discovery, wanted: str | None, loaded: list[str] | None = None) -> Verdict:
    """loaded: Foundry's /models/loaded when it has that route (its /v1/models also lists cached models)."""
    cid = "foundry.models"
    if not d.chosen or not d.probe:
        return Verdict(cid, "skip", "Foundry does not answer")
    listed = d.probe.models
    load_fix = fix("foundry.load", d.platform, cli=d.cli)
    if not listed:
        return Verdict(cid, "warn", "Foundry answers but has no model loaded: Open WebUI will show no models",
                       load_fix, {"models": [], "loaded": loaded})
    if loaded is not None and not loaded:
        return Verdict(cid, "warn", f"Foundry lists {', '.join(listed)} but has none loaded: chats fail with "
                       "'Model not loaded'", load_fix + f", or GET {d.chosen.url}/models/load/<alias>",
                       {"models": listed, "loaded": loaded})
    usable = loaded or listed
    model_id, how = resolve_model(wanted, usable)
    if model_id is None:
        return Verdict(cid, "warn", f"{how}; chat front ends need a loaded model's full id",
                       f"set --model to one of: {', '.join(usable)}", {"models": listed, "loaded": loaded})
    return Verdict(cid, "ok", f"{len(usable)} loaded: {', '.join(usable)} (using {how})",
                   data={"models": listed, "loaded": loaded, "model_id": model_id})


def foundry_bind(d: Discovery, addresses: list[str], engine: dict | None, gateway: str | None,
                 local_hosts: set[str], on_linux: bool, relay: str | None = None) -> Verdict:
    """Can the engine's containers reach Foundry where it listens? Judged for the engine that answers (its kind
    from core.engine_kind): a VM engine forwards its host name to the host's loopback; Podman's containers reach
    the host at their network's gateway; the native Linux engine at the bridge gateway (docker0, `gateway`).
    relay: 'address:port' of a socat relay that forwards the bridge to Foundry's loopback port, if any."""
    from .engine_kind import PODMAN, engine_of

    cid = "foundry.bind"
    if not d.chosen:
        return Verdict(cid, "skip", "Foundry does not answer")
    host, port = url_host(d.chosen.url), url_port(d.chosen.url)
    if host not in local_hosts:
        return Verdict(cid, "skip", f"Foundry runs on another host ({host}); containers reach it directly")
    if not addresses:
        return Verdict(cid, "warn", f"could not see which addresses port {port} listens on "
                       "(another network namespace, or no permission)", "run as root to see it")
    kind = engine_of(engine, on_linux)
    name, listens = kind.host_name, ", ".join(addresses)
    data = {"addresses": addresses, "gateway": gateway, "engine": kind.kind, "docker_desktop": kind.in_vm}
    if any(a in WILDCARDS for a in addresses):
        return Verdict(cid, "ok", f"listens on all interfaces ({listens}): containers reach it as {name}, "
                       "so can other hosts on your network", data=data)
    if kind.in_vm:
        assumed = "" if kind.known else " (assumed: the engine did not answer or was not recognised)"
        return Verdict(cid, "ok", f"listens on {listens}; {kind.name} forwards {name} to the host's "
                       f"loopback{assumed}", data=data)
    if kind.kind == PODMAN:
        reached = [g for g in kind.gateways if g in addresses]
        if reached:
            return Verdict(cid, "ok", f"listens on {listens}: Podman's containers reach it through their "
                           f"network's gateway {', '.join(reached)} ({name})", data={**data, "gateways": reached})
        where = ", ".join(kind.gateways) or "10.88.0.1, 10.89.x.1"
        return Verdict(cid, "fail", f"Foundry listens on {listens}:{port}, but Podman's containers reach the host "
                       f"as {name}, their network's gateway ({where}; each Compose project gets its own), where "
                       f"nothing listens on {port}: they get 'connection refused'",
                       f"make Foundry listen where Podman's networks reach the host: on all interfaces "
                       f"(`fldeploy foundry start --bind all --model <alias>`; firewall port {port} from other hosts), or on the "
                       "stack network's gateway; or run the stack on Docker", {**data, "gateways": list(kind.gateways)})
    gw = gateway or "172.17.0.1"
    if all(a in LOOPBACKS or a.startswith("127.") for a in addresses):  # 127.0.0.2: a second host's loopback
        if relay:
            return Verdict(cid, "ok", f"listens on {listens} only; the stack's relay on {relay} "
                           f"forwards the bridge to it", data={**data, "relay": relay})
        return Verdict(cid, "fail",
                       f"Foundry listens only on {listens}:{port}; containers get 'connection "
                       f"refused' from host.docker.internal:{port} on a native Linux Docker engine",
                       f"`fldeploy up` relays it automatically; or serve the bridge too: `fldeploy foundry start` "
                       f"(listens on 127.0.0.1 and {gw}); or relay it by hand: "
                       f"`socat TCP-LISTEN:{port},bind={gw},fork,reuseaddr TCP:{_loopback_of(host)}:{port}`",
                       data)
    if gateway and gateway in addresses:
        return Verdict(cid, "ok", f"listens on {listens}: containers reach it through the "
                       f"bridge gateway {gateway} (host.docker.internal)", data=data)
    return Verdict(cid, "fail", f"Foundry listens on {listens}, but host.docker.internal "
                   f"resolves to the bridge gateway {gw}", f"make it listen on {gw} too "
                   "(`fldeploy foundry start` does)", data)


def _loopback_of(host: str) -> str:
    """The loopback address a relay forwards to: the host's own (127.0.0.2 beside 127.0.0.1), else 127.0.0.1."""
    return host if host.startswith("127.") and host.count(".") == 3 else "127.0.0.1"


def foundry_chat(answer: dict | None, model_id: str | None) -> Verdict:
    cid = "foundry.chat"
    if not model_id:
        return Verdict(cid, "skip", "no loaded model to ask")
    if answer is None:
        return Verdict(cid, "skip", "run with --deep for a 1-token chat completion")
    if answer["ok"]:
        return Verdict(cid, "ok", f"{model_id} answered in {answer['elapsed_ms']:.0f} ms: {answer['text']!r}",
                       data={"model_id": model_id, "text": answer["text"]})
    return Verdict(cid, "fail", f"chat with {model_id} failed ({answer['status']}): {answer['error'][:160]}",
                   "check the model id (`fldeploy doctor` lists loaded ones) and Foundry's log",
                   {"model_id": model_id, "status": answer["status"]})


def docker_engine(engine: dict) -> Verdict:
    cid = "docker.engine"
    found_at = f"{engine.get('host')} ({engine.get('host_source')})" if engine.get("host_source") else engine.get("host")
    if engine.get("reachable"):
        if engine.get("podman"):
            name = f"Podman {engine.get('version')} (Docker-compatible API"
        else:
            kind = ("Docker Desktop" if engine.get("desktop") else "native engine") \
                if engine.get("kind") in (None, "docker") else engine.get("kind_name")
            name = f"Docker {engine.get('version')} ({kind}"
        where = f" at {found_at}" if found_at else ""
        cause = f"{name}, {engine.get('os')}){where}"
        if engine.get("runs_healthchecks") is False:  # e.g. Podman without systemd: `up --wait` never ends
            from .engine_kind import engine_of, healthcheck_situation

            return Verdict(cid, "warn", f"{cause}; its healthchecks never run",
                           healthcheck_situation(engine_of(engine)), engine)
        return Verdict(cid, "ok", cause, data=engine)
    platform = engine.get("host_platform", "linux")
    return Verdict(cid, "fail", f"cannot reach the Docker engine at {found_at}: {engine.get('error')}",
                   fix("docker.start", platform, fix_engine(engine, platform)), engine)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("-")[0].split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def docker_compose(compose: dict) -> Verdict:
    cid = "docker.compose"
    to_fix = fix("docker.compose", compose.get("host_platform", "linux"), compose.get("host_engine"))
    if not compose.get("present"):
        return Verdict(cid, "fail", f"Docker Compose v2 is missing: {compose.get('error')}", to_fix, compose)
    version = compose["version"]
    if _version_tuple(version) < MIN_COMPOSE:
        return Verdict(cid, "fail", f"Docker Compose {version} is too old for `up --wait` (needs 2.1.1+)",
                       to_fix, compose)
    needs = compose.get("needs")
    if needs and _version_tuple(version) < _version_tuple(needs):
        return Verdict(cid, "fail", f"Docker Compose {version} is too old for {compose.get('needed_for')} "
                       f"(needs {needs}+)", to_fix, compose)
    return Verdict(cid, "ok", f"Docker Compose {version}", data=compose)


def ports(statuses: list[PortStatus], notes: list[str]) -> Verdict:
    cid = "ports"
    data = {"ports": [s.as_dict() for s in statuses], "notes": notes}
    conflicts = [s for s in statuses if s.state == "conflict"]
    if conflicts:
        return Verdict(cid, "fail", "; ".join(s.cause for s in conflicts),
                       "; ".join(s.fix for s in conflicts if s.fix), data)
    shown = ", ".join(f"{s.port} {s.state}" for s in statuses if s.role in ("open-webui", "chainlit", "webgpu-demo"))
    status = "warn" if notes else "ok"
    return Verdict(cid, status, shown + (f" ({'; '.join(notes)})" if notes else ""), "", data)


def summary_status(verdicts: list[Verdict]) -> str:
    statuses = {v.status for v in verdicts}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"
