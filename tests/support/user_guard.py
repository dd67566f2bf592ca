"""The test run never touches the user's fldeploy: their config, stack files, state, containers, volume and
embedded Foundry are the same after the run as before it, byte for byte and pid for pid, or the run fails.

Before any test runs, the pytest process itself moves to a private HOME and XDG folders (the Docker CLI keeps
its real config folder, where its Compose plugin and contexts live), so code run in-process cannot reach the
user's files either; every subprocess gets its own folders from `isolated_env`."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

KINDS = ("config", "data", "state", "cache")
# written by the user's own running Foundry while the tests run, not by the tests
LIVE_LOGS = ("foundry.log", "runtime-logs")


def _user_dirs() -> dict[str, pathlib.Path]:
    from fldeploy.settings import user_dir

    return {kind: pathlib.Path(user_dir(kind)) for kind in KINDS}


def _digest(path: pathlib.Path) -> str:
    if path.stat().st_size > 4 * 1024 * 1024:  # model weights: size and mtime say enough
        return "large"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: pathlib.Path, kind: str) -> dict[str, tuple]:
    """Every entry below root with mode, size, mtime and content digest (cache: names and sizes only)."""
    found: dict[str, tuple] = {}
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in LIVE_LOGS]
        for name in filenames:
            if name in LIVE_LOGS:
                continue
            path = pathlib.Path(dirpath) / name
            rel = str(path.relative_to(root))
            try:
                st = path.lstat()
                found[rel] = ((st.st_size,) if kind == "cache"
                              else (st.st_mode, st.st_size, st.st_mtime_ns, _digest(path)))
            except OSError:
                found[rel] = ("unreadable",)
    return found


def _docker(*args: str) -> str:
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def _user_stack(dirs: dict[str, pathlib.Path]) -> dict:
    """The user's stack as Docker sees it: containers with pid and start time, and its volume."""
    import yaml

    compose_file = dirs["data"] / "stack" / "compose.yaml"
    try:
        doc = yaml.safe_load(compose_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    project = doc.get("name") or "fldeploy"
    volumes = sorted((doc.get("volumes") or {"open-webui-data": None}).keys())
    ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split()
    containers = json.loads(_docker("inspect", *ids) or "[]") if ids else []
    state = {c["Name"]: (c["State"]["Status"], c["State"]["Pid"], c["State"]["StartedAt"], c["Image"])
             for c in containers}
    for volume in volumes:
        inspected = json.loads(_docker("volume", "inspect", volume) or "[]")
        state[f"volume {volume}"] = inspected[0].get("CreatedAt") if inspected else None
    return state


def _foundry(dirs: dict[str, pathlib.Path]) -> dict:
    """The user's embedded Foundry: its pid and whether that pid still lives."""
    try:
        pid = json.loads((dirs["state"] / "foundry" / "state.json").read_text())["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    import psutil

    return {"pid": pid, "alive": psutil.pid_exists(pid)}


def swarm_state() -> dict:
    """The engine's swarm: whether this node is in one, its node id and the stacks deployed (a test that makes a
    swarm leaves it again; one that finds a swarm leaves it, and its stacks, as they were)."""
    info = _docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}").split()
    state = {"state": info[0] if info else "", "node": info[1] if len(info) > 1 else ""}
    if state["state"] == "active":
        state["stacks"] = sorted(_docker("stack", "ls", "--format", "{{.Name}}").split())
    return state


def snapshot(dirs: dict[str, pathlib.Path]) -> dict:
    return {"files": {kind: _tree(path, kind) for kind, path in dirs.items()},
            "stack": _user_stack(dirs), "foundry": _foundry(dirs), "swarm": swarm_state()}


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for kind, files in before["files"].items():
        now = after["files"][kind]
        out += [f"{kind}: {name} changed" for name in files if name in now and files[name] != now[name]]
        out += [f"{kind}: {name} removed" for name in files if name not in now]
        out += [f"{kind}: {name} created" for name in now if name not in files]
    for name, state in before["stack"].items():
        if after["stack"].get(name) != state:
            out.append(f"user stack: {name} was {state}, now {after['stack'].get(name)}")
    out += [f"user stack: {name} appeared" for name in after["stack"] if name not in before["stack"]]
    if before.get("swarm") != after.get("swarm"):
        out.append(f"swarm: was {before.get('swarm')}, now {after.get('swarm')}")
    if before["foundry"] != after["foundry"]:
        out.append(f"user Foundry: was {before['foundry']}, now {after['foundry']}")
    return out


def pytest_configure(config: pytest.Config) -> None:
    dirs = _user_dirs()
    config.stash[_KEY] = (dirs, snapshot(dirs))
    home = pathlib.Path(tempfile.mkdtemp(prefix="fldeploy-tests-home-"))
    config.stash[_HOME] = home
    os.environ.setdefault("DOCKER_CONFIG", os.path.join(os.path.expanduser("~"), ".docker"))
    os.environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                      XDG_DATA_HOME=str(home / ".local/share"), XDG_STATE_HOME=str(home / ".local/state"),
                      XDG_CACHE_HOME=str(home / ".cache"))
    for name in [n for n in os.environ if n.startswith("FLDEPLOY_") and n != "FLDEPLOY_CACHE"]:
        del os.environ[name]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    dirs, before = session.config.stash[_KEY]
    changed = differences(before, snapshot(dirs))
    shutil.rmtree(session.config.stash[_HOME], ignore_errors=True)
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "the tests touched the user's fldeploy:\n  " + "\n  ".join(changed[:40])
        if reporter:
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_KEY = pytest.StashKey[tuple]()
_HOME = pytest.StashKey[pathlib.Path]()
