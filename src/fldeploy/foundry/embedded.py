"""Start, stop and inspect the embedded Foundry Local process that fldeploy manages."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Callable, NamedTuple

from ..adapters import net, platform
from ..core.urls import bind_hosts, url_port
from ..core.ports import nearest_free
from ..errors import ExitCode, FldeployError

DEFAULT_PORT = 5273
RUNTIME_MODULE = "fldeploy.foundry.runtime"
STOP_GRACE_S = 15.0  # the runtime needs ~3.5 s to tear down once asked to stop

Progress = Callable[[str], None]


class Paths(NamedTuple):
    root: str

    def __getattr__(self, name: str) -> str:
        files = {"state": "state.json", "spec": "spec.json", "log": "foundry.log", "pid": "foundry.pid", "app": "app",
                 "logs": "runtime-logs", "demo_build": "demo-model", "stop": "stop-requested"}
        if name not in files:
            raise AttributeError(name)
        return os.path.join(self.root, files[name])


def paths(settings) -> Paths:
    return Paths(os.path.join(settings.state_dir, "foundry"))


def read_state(settings) -> dict | None:
    """The state file of the process fldeploy started, if that process is still alive."""
    try:
        with open(paths(settings).state) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    pid = state.get("pid")
    if not pid or not platform.alive(pid) or not _is_ours(pid):
        return None
    return state


def _is_ours(pid: int) -> bool:
    """The pid is still fldeploy's runtime run by this user, not a reused pid."""
    argv = platform.cmdline(pid)
    runs_runtime = argv is not None and RUNTIME_MODULE in " ".join(argv)
    return runs_runtime and platform.owner_matches(pid) is not False


def running_url(state: dict | None) -> str | None:
    """The loopback URL of a running embedded Foundry (what host clients should use)."""
    if not state or state.get("status") != "running":
        return None
    urls = state.get("urls") or []
    local = [u for u in urls if "127.0.0.1" in u or "localhost" in u]
    url = (local or urls or [None])[0]
    return url.replace("0.0.0.0", "127.0.0.1") if url else None


def choose_port(wanted: int, hosts: list[str]) -> int:
    if wanted:
        if all(net.can_bind(h, wanted) for h in hosts):
            return wanted
        taken = {l.port for l in net.listeners()}
        alt = nearest_free(wanted, taken)
        raise FldeployError(f"port {wanted} is taken on {', '.join(hosts)}",
                            f"use a free one: --port {alt[0]}" if alt else "free the port",
                            ExitCode.PORT_CONFLICT, "foundry.port_taken")
    for port in range(DEFAULT_PORT, DEFAULT_PORT + 200):
        if all(net.can_bind(h, port) for h in hosts):
            return port
    raise FldeployError("no free port near 5273", "pass --port", ExitCode.PORT_CONFLICT, "foundry.port_taken")


def start(settings, model: str, demo: bool, timeout: float, progress: Progress) -> dict:
    """Start the runtime in the background (idempotent) and wait until it serves the model."""
    current = read_state(settings)
    if current and current.get("status") in ("starting", "downloading"):
        progress(f"Foundry Local is already starting (pid {current['pid']}): waiting for it")
        state = _wait_ready(paths(settings), current["pid"], timeout, progress)
        return {**describe(state, paths(settings)), "changed": False}
    if current and current.get("status") == "running":
        if model in (current.get("alias"), current.get("model_id"), current.get("model")):
            return {**status(settings), "changed": False}
        raise FldeployError(f"the embedded Foundry already runs with {current.get('model_id')}",
                            "run 'fldeploy foundry stop' first, then start it with the other model",
                            ExitCode.CHECK_FAILED, "foundry.already_running")
    p = paths(settings)
    os.makedirs(p.root, exist_ok=True)
    os.makedirs(settings.model_cache_dir, exist_ok=True)
    gateway = net.interface_ipv4("docker0")
    hosts = bind_hosts(settings.foundry_bind, gateway)
    port = choose_port(settings.foundry_port, hosts)
    # the demo keeps its own cache: its stand-in catalog must not replace the real catalog Foundry saved
    cache_dir = os.path.join(settings.model_cache_dir, "fldeploy-demo") if demo else settings.model_cache_dir
    spec = {"model": model, "demo": demo, "urls": [f"http://{h}:{port}" for h in hosts],
            "catalog_url": settings.catalog_url, "cache_dir": cache_dir, "app_dir": p.app,
            "logs_dir": p.logs, "demo_build_dir": p.demo_build, "state_file": p.state, "log": p.log,
            "stop_file": p.stop}
    for leftover in (p.state, p.stop):
        if os.path.exists(leftover):
            os.remove(leftover)
    with open(p.spec, "w") as f:
        json.dump(spec, f, indent=1)
    pid = platform.start_detached([sys.executable, "-m", RUNTIME_MODULE, p.spec], p.log)
    with open(p.pid, "w") as f:
        f.write(f"{pid}\n")
    state = _wait_ready(p, pid, timeout, progress)
    notes = []
    if settings.foundry_bind == "docker" and not gateway:
        notes.append("no Docker bridge (docker0) found: listening on loopback only; containers cannot reach "
                     "it until Docker runs and Foundry is restarted")
    return {**describe(state, p), "changed": True, "notes": notes}


def _wait_ready(p: Paths, pid: int, timeout: float, progress: Progress) -> dict:
    start_time = time.monotonic()
    while True:
        elapsed = time.monotonic() - start_time
        state = _load(p.state)
        if state.get("status") == "running":
            return state
        if state.get("status") == "failed":
            platform.stop(pid, 5, ask=lambda: _ask_to_stop(p))
            raise FldeployError(state.get("error", "Foundry failed"), state.get("fix", f"see {p.log}"),
                                ExitCode(state.get("exit_code", 5)), "foundry.start_failed")
        platform.reap(pid)
        if not platform.alive(pid):
            raise FldeployError(f"the Foundry process exited during start-up: {_tail(p.log)}",
                                f"see {p.log}", ExitCode.UNREACHABLE, "foundry.start_failed")
        if elapsed > timeout:
            platform.stop(pid, STOP_GRACE_S, ask=lambda: _ask_to_stop(p))
            raise FldeployError(f"Foundry did not become ready in {timeout:.0f}s", f"see {p.log}",
                                ExitCode.TIMEOUT, "foundry.start_timeout")
        what = state.get("status", "starting")
        if what == "downloading":
            what = f"downloading {state.get('model_id')} {state.get('progress', 0):.0f}%"
        progress(f"Foundry Local: {what} ({elapsed:.1f}s)")
        time.sleep(0.1)


def stop(settings, progress: Progress) -> dict:
    state = read_state(settings)
    p = paths(settings)
    if not state:
        return {"running": False, "changed": False}
    pid = state["pid"]
    clean = platform.stop(pid, STOP_GRACE_S, lambda t: progress(f"stopping Foundry (pid {pid}) {t:.1f}s"),
                          ask=lambda: _ask_to_stop(p))
    for path in (p.pid, p.state, p.stop):
        if os.path.exists(path):
            os.remove(path)
    return {"running": False, "changed": True, "pid": pid, "clean_exit": clean}


def _ask_to_stop(p: Paths) -> None:
    """The stop request the runtime watches for: the one a detached process on Windows (no console, so no
    CTRL_BREAK_EVENT) can receive; a runtime started before it existed still gets the OS request."""
    with open(p.stop, "w") as f:
        f.write("stop\n")


def status(settings) -> dict:
    state = read_state(settings)
    if not state:
        return {"running": False}
    return describe(state, paths(settings))


def describe(state: dict, p: Paths) -> dict:
    from ..adapters.foundry_http import probe_models

    url = running_url(state)
    out = {"running": state.get("status") == "running", "status": state.get("status"), "pid": state.get("pid"),
           "url": url, "urls": state.get("urls", []), "model_id": state.get("model_id"),
           "alias": state.get("alias"), "demo": state.get("demo", False), "log": p.log}
    if url:
        port = url_port(url)
        out["bind_addresses"] = sorted({l.address for l in net.listeners({port})})
        answer = probe_models(url, timeout=3.0)
        out["loaded_models"] = answer.models
        out["answer"] = answer.outcome
    return out


def _load(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _tail(path: str, lines: int = 3) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-lines:] if line.strip())
    except OSError:
        return "(no log)"
