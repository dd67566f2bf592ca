"""fldeploy as a normal user in the docker group, not root: a throwaway user with a HOME of its own runs the real
CLI with a clean environment. It may use the Docker engine but not read root's processes, so every verb must
end without a traceback and say what it cannot see instead of guessing. The user is removed afterwards."""
from __future__ import annotations

import grp
import json
import pathlib
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass

import pytest

from ..support.fixtures import ROOT, Run
from ..support.servers import free_port

VENV_PACKAGES = pathlib.Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
# the venv's interpreter lives under /root (mode 0700 here): the user runs the same code and packages with the
# system interpreter of the same version
USER_PYTHON = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass
class NormalUser:
    name: str
    uid: int
    gid: int
    home: pathlib.Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8",
                "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'src'}:{VENV_PACKAGES}", **extra}

    def run(self, *argv: str, timeout: float = 120, **extra: str) -> Run:
        clean_env = [f"{key}={value}" for key, value in self.env(**extra).items()]
        done = subprocess.run(["runuser", "-u", self.name, "--", "env", "-i", *clean_env, *argv], cwd=self.home,
                              capture_output=True, text=True, timeout=timeout)
        return Run(done.returncode, done.stdout, done.stderr)

    def fl(self, *args: str, **extra: str) -> Run:
        return self.run(USER_PYTHON, "-m", "fldeploy", *args, **extra)

    def start(self, *argv: str) -> subprocess.Popen:
        """A long-running process as this user; setpriv execs it, so the pid is the process's own."""
        return subprocess.Popen(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--",
                                 *argv], cwd=ROOT, env=self.env(PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                                text=True)


@pytest.fixture(scope="module")
def normal_user():
    if not pathlib.Path(USER_PYTHON).exists():
        pytest.fail(f"{USER_PYTHON} is missing: the user needs an interpreter of the venv's version it may run")
    assert "docker" in {g.gr_name for g in grp.getgrall()}, "no docker group: is docker.io installed?"
    name = f"flt{uuid.uuid4().hex[:8]}"
    base = pathlib.Path(tempfile.mkdtemp(prefix="fldeploy-user-"))
    base.chmod(0o755)  # mkdtemp makes it 0700: the user's HOME is inside
    home = base / "home"
    made = subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--groups", "docker",
                           "--shell", "/bin/sh", name], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    try:
        entry = pwd.getpwnam(name)
        yield NormalUser(name, entry.pw_uid, entry.pw_gid, home)
    finally:
        removed = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        shutil.rmtree(base, ignore_errors=True)
        assert name not in {entry.pw_name for entry in pwd.getpwall()}, f"userdel left {name}: {removed.stderr}"


@pytest.fixture
def user_holds_port(normal_user):
    holders: list[subprocess.Popen] = []

    def start() -> tuple[int, int]:
        holder = normal_user.start(USER_PYTHON, "-m", "tests.support.hold_port", "127.0.0.1", "0")
        holders.append(holder)
        line = holder.stdout.readline().split() if holder.stdout else []
        assert line and line[0] == "ready", "the user's port holder did not start"
        return holder.pid, int(line[1])

    yield start
    for holder in holders:
        holder.kill()
        holder.wait()


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err, run.err


def _free_stack_ports() -> dict[str, str]:
    return {"FLDEPLOY_OPENWEBUI_PORT": str(free_port()), "FLDEPLOY_CHAINLIT_PORT": str(free_port()),
            "FLDEPLOY_PROJECT": f"flt{uuid.uuid4().hex[:10]}"}


def test_ports_names_the_owners_it_cannot_see(normal_user, hold_port, user_holds_port):
    _, root_port = hold_port("127.0.0.1")
    user_pid, user_port = user_holds_port()
    run = normal_user.fl("ports", "--json", str(root_port), str(user_port), **_free_stack_ports())
    _no_traceback(run)
    assert run.code == 0, run.out
    ports = {p["port"]: p for p in run.json["data"]["ports"]}
    (roots,) = ports[root_port]["holders"]
    assert ports[root_port]["state"] == "held" and roots["pid"] is None and roots["process"] is None
    assert "run as root to name it" in ports[root_port]["cause"]  # not a guess
    (users,) = ports[user_port]["holders"]
    assert users["pid"] == user_pid and users["process"]["user"] == normal_user.name
    assert any("may not inspect" in note for note in run.json["data"]["notes"])
    human = normal_user.fl("ports", str(root_port), **_free_stack_ports())
    _no_traceback(human)
    assert "run as root to name it" in human.out


def test_macos_fallback_as_a_normal_user_names_hidden_owners(normal_user, hold_port, user_holds_port):
    _, root_port = hold_port("127.0.0.1")
    user_pid, user_port = user_holds_port()
    # psutil documents AccessDenied from net_connections on macOS unless root (https://psutil.readthedocs.io,
    # net_connections); the per-process fallback then meets root's processes as macOS does: not readable
    probe = ("import json, sys, psutil\n"
             "from fldeploy.adapters import net, platform\n"
             "platform.PLATFORM = 'darwin'\n"
             "def refused(kind='inet'):\n"
             "    raise psutil.AccessDenied()\n"
             "psutil.net_connections = refused\n"
             "found, notes = net.scan_listeners({int(p) for p in sys.argv[1:]})\n"
             "print(json.dumps({'found': [[l.port, l.address, l.pid] for l in found], 'notes': notes}))\n")
    run = normal_user.run(USER_PYTHON, "-c", probe, str(root_port), str(user_port))
    _no_traceback(run)
    answer = json.loads(run.out)
    assert sorted(answer["found"]) == sorted([[root_port, "127.0.0.1", None], [user_port, "127.0.0.1", user_pid]])
    (note,) = answer["notes"]
    assert note.startswith(f"{normal_user.name} may not read the sockets of processes run by ") and "root" in note


def test_doctor_sees_docker_and_says_which_foundry_it_cannot_read(normal_user, tmp_path):
    # a process that looks like Foundry Local (its command line says so), run by root
    looks_like_foundry = subprocess.Popen([sys.executable, "-m", "tests.support.hold_port", "127.0.0.1", "0",
                                           "foundry-local"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert looks_like_foundry.stdout and looks_like_foundry.stdout.readline().startswith("ready")
        run = normal_user.fl("doctor", "--json", timeout=120, FLDEPLOY_FOUNDRY_URL="http://127.0.0.1:1",
                             **_free_stack_ports())
    finally:
        looks_like_foundry.kill()
        looks_like_foundry.wait()
    _no_traceback(run)
    assert run.code == 1, run.out
    data = run.json["data"]
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["docker.engine"]["status"] == "ok"  # the docker group reaches the engine
    assert checks["ports"]["status"] == "ok"
    assert checks["foundry.endpoint"]["status"] == "fail" and checks["foundry.endpoint"]["fix"]
    assert any(f"pid {looks_like_foundry.pid}" in note and "another user" in note for note in data["foundry"]["notes"])


def test_render_config_and_foundry_status_as_a_normal_user(normal_user):
    out = normal_user.home / "stack"
    run = normal_user.fl("render", "--out", str(out), "--foundry-url", "http://127.0.0.1:1", "--model", "m")
    _no_traceback(run)
    assert run.code == 0, run.err
    env_file = (out / ".env").stat()
    assert stat.S_IMODE(env_file.st_mode) == 0o600 and env_file.st_uid == normal_user.uid
    assert (out / "compose.yaml").stat().st_uid == normal_user.uid
    config = normal_user.fl("config")
    _no_traceback(config)
    assert config.code == 0 and str(normal_user.home) in config.out
    status = normal_user.fl("foundry", "status", "--json")
    _no_traceback(status)
    assert status.code == 1 and status.json["errors"][0]["code"] == "foundry.not_running"


def test_up_as_a_normal_user_brings_open_webui_up(normal_user, foundry, stack_images):
    import os

    from ..support.fixtures import BASE_IMAGE, REAL_DOCKER_CONFIG

    # the user's own Docker CLI config, with the Compose plugin its admin would install for it
    plugin = pathlib.Path(os.path.realpath(pathlib.Path(os.environ.get("DOCKER_CONFIG", REAL_DOCKER_CONFIG))
                                           / "cli-plugins" / "docker-compose"))
    target = normal_user.home / ".docker" / "cli-plugins" / "docker-compose"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(plugin, target)
    for path in (target, target.parent, target.parent.parent):
        os.chown(path, normal_user.uid, normal_user.gid)
    target.chmod(0o755)
    project = f"flt{uuid.uuid4().hex[:8]}"
    settings = {"FLDEPLOY_FOUNDRY_URL": foundry.url, "FLDEPLOY_SERVICES": "open-webui", "FLDEPLOY_BUILD_LOCAL": "1",
                "FLDEPLOY_BASE_IMAGE": BASE_IMAGE, "FLDEPLOY_PROJECT": project, "FLDEPLOY_VOLUME": f"{project}-data",
                "FLDEPLOY_OPENWEBUI_PORT": str(free_port())}
    try:
        run = normal_user.fl("up", "--json", timeout=900, **settings)
        assert "Traceback" not in run.err, run.err
        assert run.code == 0, run.out[-2000:] + run.err[-2000:]
        check = next(c for c in json.loads(run.out)["data"]["checks"] if c["id"] == "stack.openwebui")
        assert check["status"] == "ok" and check["data"]["ui_answer"] == "Hello from tiny model"
        env_file = normal_user.home / ".local" / "share" / "fldeploy" / "stack" / ".env"
        assert env_file.stat().st_uid == normal_user.uid and stat.S_IMODE(env_file.stat().st_mode) == 0o600
    finally:
        subprocess.run(["docker", "compose", "-p", project, "down", "--volumes", "--remove-orphans", "-t", "2"],
                       cwd=normal_user.home, capture_output=True, timeout=120)
