"""The engine is found the way the docker CLI finds it: DOCKER_HOST, then the current context, then the
platform default; doctor and ports name what they used, and never need the Docker SDK for it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from fldeploy.adapters import engine

from ..support.fixtures import FLDEPLOY


@pytest.fixture
def context_on_other_socket(tmp_path, docker_engine):
    """A real docker context (made by the docker CLI) whose socket is a relay to the real engine elsewhere."""
    sock = tmp_path / "engine" / "docker.sock"
    sock.parent.mkdir()
    relay = subprocess.Popen(["socat", f"UNIX-LISTEN:{sock},fork", "UNIX-CONNECT:/var/run/docker.sock"])
    config = tmp_path / "docker-config"
    config.mkdir()
    shutil.copytree(engine.docker_config_dir(os.environ) + "/cli-plugins", config / "cli-plugins", symlinks=True,
                    dirs_exist_ok=True)
    for step in (["context", "create", "flt-other", "--docker", f"host=unix://{sock}"],
                 ["context", "use", "flt-other"]):
        done = subprocess.run(["docker", "--config", str(config), *step], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    for _ in range(50):
        if sock.exists():
            break
        subprocess.run(["sleep", "0.1"])
    yield config, sock
    relay.kill()
    relay.wait()


def test_context_on_a_non_default_socket_is_found_and_named_with_the_default_socket_absent(
        env, context_on_other_socket, tmp_path):
    config, sock = context_on_other_socket
    env = {**env, "DOCKER_CONFIG": str(config)}
    env.pop("DOCKER_HOST", None)
    # a private mount namespace where /run (and so /var/run/docker.sock) is an empty tmpfs
    hide_default = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$@"', "sh"]
    absent = subprocess.run(hide_default + ["test", "-e", "/var/run/docker.sock"], env=env)
    assert absent.returncode == 1, "the default socket is hidden"
    run = subprocess.run(hide_default + FLDEPLOY + ["doctor", "--json"], env=env, capture_output=True, text=True,
                         timeout=120)
    check = next(c for c in json.loads(run.stdout)["data"]["checks"] if c["id"] == "docker.engine")
    assert check["status"] == "ok", check
    assert f"unix://{sock} (context flt-other)" in check["cause"]
    ports = subprocess.run(hide_default + FLDEPLOY + ["ports", "--json"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert ports.returncode in (0, 4) and "Traceback" not in ports.stderr


def test_docker_host_wins_over_the_context_and_a_dead_one_is_named(env, context_on_other_socket, tmp_path):
    config, _ = context_on_other_socket
    dead = tmp_path / "dead.sock"
    env = {**env, "DOCKER_CONFIG": str(config), "DOCKER_HOST": f"unix://{dead}"}
    run = subprocess.run(FLDEPLOY + ["doctor", "--json"], env=env, capture_output=True, text=True, timeout=120)
    check = next(c for c in json.loads(run.stdout)["data"]["checks"] if c["id"] == "docker.engine")
    assert check["status"] == "fail"
    assert f"unix://{dead} (DOCKER_HOST): no engine socket" in check["cause"]


def test_ports_and_doctor_do_not_import_the_docker_sdk(env):
    probe = ("import sys, runpy; sys.argv = ['fldeploy'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('fldeploy', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('DOCKER_SDK' if 'docker' in sys.modules else 'NO_SDK', file=sys.stderr)")
    for verb in (["ports", "--json"], ["doctor", "--json"]):
        run = subprocess.run([sys.executable, "-c", probe, *verb], env=env, capture_output=True, text=True,
                             timeout=120)
        assert run.stderr.strip().endswith("NO_SDK"), (verb, run.stderr[-300:])


def test_locate_follows_the_cli_order(tmp_path):
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"colima").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "colima", "Endpoints": {
        "docker": {"Host": "unix:///Users/me/.colima/default/docker.sock", "SkipTLSVerify": False}}}))
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    cfg = {"DOCKER_CONFIG": str(tmp_path)}
    assert engine.locate(cfg) == engine.Endpoint("unix:///Users/me/.colima/default/docker.sock", "context colima")
    assert engine.locate({**cfg, "DOCKER_HOST": "tcp://10.0.0.2:2375"}).source == "DOCKER_HOST"
    assert engine.locate({**cfg, "DOCKER_CONTEXT": "default"}).host == engine.DEFAULT_POSIX
    assert engine.locate({"DOCKER_CONFIG": str(tmp_path / "none")}, "win32").host == engine.DEFAULT_WINDOWS
    with pytest.raises(engine.EngineError, match="docker context 'gone' is selected"):
        engine.locate({**cfg, "DOCKER_CONTEXT": "gone"})
