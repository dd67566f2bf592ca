"""`fldeploy foundry expose` for real: the real CLI puts nginx (built on the local Debian base) on 127.0.0.2 in
front of a real Foundry Local runtime of this test's own. Without the key or with a wrong one: 401; with it the
OpenAI API answers (models, chat, streamed chat); Foundry's control routes never reach it (nginx answers them,
and Foundry keeps its pid and its loaded model); the key is kept 0600 and printed only with --show-key; doctor
on the front-end side passes with the key and names the host that refuses it without; unexpose leaves nothing."""
from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess

import httpx
import psutil
import pytest

from ..support.fixtures import BASE_IMAGE, isolated_env, run_fldeploy, start_foundry, stop_foundry
from ..support.servers import free_port
from ..support.stack import stack_up

ADDRESS = "127.0.0.2"
MODEL = "tiny-llama-generic-cpu:1"
# (method, path as sent on the wire): Foundry's control routes, other paths, and tricks to reach them via /v1/
NEVER_FORWARDED = [("GET", "/shutdown"), ("POST", "/shutdown"), ("GET", "/models/load/tiny-llama"),
                   ("GET", "/models/unload/tiny-llama"), ("GET", "/models/loaded"), ("GET", "/status"),
                   ("GET", "/openai/status"), ("POST", "/openai/models"), ("GET", "/v1/../shutdown"),
                   ("POST", "/v1/../shutdown"), ("GET", "/v1/%2e%2e/models/unload/tiny-llama"),
                   ("POST", "/v1/models/..%2f..%2fshutdown"), ("GET", "//shutdown"), ("PUT", "/v1/models"),
                   ("DELETE", "/v1/models/tiny-llama"), ("GET", "/v1/..\\shutdown"),
                   ("POST", "/v1/%2e%2e%5c%2e%2e%5cshutdown")]


def _proxy_port() -> int:
    """A port below the ephemeral range, so free_port() (the stack's ports) never hands it out again."""
    import random

    from fldeploy.adapters.net import can_bind

    while True:
        port = random.randint(20000, 29999)
        if all(can_bind(host, port) for host in ("127.0.0.1", ADDRESS, "172.17.0.1")):
            return port


class Exposed:
    def __init__(self, env: dict, foundry, port: int) -> None:
        self.env, self.foundry, self.port = env, foundry, port
        self.url = f"http://{ADDRESS}:{port}"
        self.project = f"{env['FLDEPLOY_PROJECT']}-expose"
        self.key_file = os.path.join(env["FLDEPLOY_STATE_DIR"], "expose", ".env")
        self.runs: list = []  # (args, Run) of every CLI run on this machine

    def fl(self, *args: str, timeout: float = 300):
        run = run_fldeploy(*args, env=self.env, timeout=timeout)
        self.runs.append((args, run))
        return run

    @property
    def key(self) -> str:
        return open(self.key_file).read().split("FOUNDRY_EXPOSE_KEY='")[1].split("'")[0]

    def containers(self) -> list[str]:
        return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
                              capture_output=True, text=True).stdout.split()


def _raw(url: str, method: str, path: str, key: str) -> tuple[int, str]:
    """One request with the path exactly as written (no client-side normalisation)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=b"{}" if method != "GET" else None,
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def exposed(tmp_path_factory, tiny_model, catalog_url, docker_engine):
    foundry = start_foundry(tmp_path_factory.mktemp("exposed-foundry"), tiny_model, catalog_url)
    env = {**foundry.env, "FLDEPLOY_FOUNDRY_URL": foundry.url, "FLDEPLOY_BUILD_LOCAL": "true",
           "FLDEPLOY_BASE_IMAGE": BASE_IMAGE}
    setup = Exposed(env, foundry, _proxy_port())
    try:
        run = setup.fl("foundry", "expose", "--address", ADDRESS, "--port", str(setup.port))
        assert run.code == 0, run.out + run.err
        yield setup
    finally:
        run_fldeploy("foundry", "unexpose", env=env, timeout=120)
        stop_foundry(foundry)


def test_without_the_key_401_with_it_the_openai_api_answers(exposed):
    models = exposed.url + "/v1/models"
    assert httpx.get(models).status_code == 401
    for wrong in ("wrong", exposed.key[:-1], exposed.key.swapcase(), exposed.key + "x"):
        answer = httpx.get(models, headers={"Authorization": f"Bearer {wrong}"})
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(models, headers={"Authorization": f"bearer {exposed.key}"}).status_code == 401
    good = {"Authorization": f"Bearer {exposed.key}"}
    assert [m["id"] for m in httpx.get(models, headers=good).json()["data"]] == [MODEL]
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    answer = httpx.post(exposed.url + "/v1/chat/completions", json=chat, headers=good, timeout=30)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Hello from tiny model"
    with httpx.stream("POST", exposed.url + "/v1/chat/completions", json={**chat, "stream": True}, headers=good,
                      timeout=30) as streamed:
        lines = [line for line in streamed.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]" and len(lines) > 3


def test_control_routes_never_reach_foundry(exposed):
    answered = []
    for method, path in NEVER_FORWARDED:
        status, body = _raw(exposed.url, method, path, exposed.key)
        answered.append((method, path, status))
        assert status in (400, 403, 404), (method, path, status, body)
        assert "oatpp" not in body, f"{method} {path} reached Foundry: {body[:200]}"
    # Foundry is the same process, still serving, with its model still loaded
    assert psutil.pid_exists(exposed.foundry.pid)
    assert psutil.Process(exposed.foundry.pid).status() != psutil.STATUS_ZOMBIE
    assert httpx.get(exposed.foundry.url + "/models/loaded", timeout=5).json() == [MODEL]
    answer = httpx.get(exposed.url + "/v1/models", headers={"Authorization": f"Bearer {exposed.key}"})
    assert answer.status_code == 200
    # and nginx says it answered each of them itself (its log names neither key nor header)
    logs = subprocess.run(["docker", "compose", "-p", exposed.project, "logs", "--no-color"], capture_output=True,
                          text=True)
    assert '"GET /shutdown" 404' in logs.stdout and '"POST /shutdown" 404' in logs.stdout
    assert exposed.key not in logs.stdout + logs.stderr


def test_key_kept_private_and_shown_only_when_asked(exposed):
    assert stat.S_IMODE(os.stat(exposed.key_file).st_mode) == 0o600
    key = exposed.key
    again = exposed.fl("foundry", "expose", "--json")  # idempotent: the saved address and port, the same key
    assert again.code == 0, again.out + again.err
    data = again.json["data"]
    assert data["url"] == exposed.url and data["changed"] is False and "key" not in data
    assert data["key_file"] == exposed.key_file and exposed.key == key
    # nginx in the host network reaches Foundry on its loopback address: no relay needed
    assert data["network"] == "host" and data["upstream"] == f"127.0.0.1:{exposed.foundry.port}"
    shown = exposed.fl("foundry", "expose", "--show-key")
    assert shown.code == 0 and key in shown.out
    assert exposed.fl("foundry", "expose", "--show-key", "--json").json["data"]["key"] == key
    for args, run in exposed.runs:  # stdout, stderr and --json alike
        assert (key in run.out + run.err) == ("--show-key" in args), f"fldeploy {' '.join(args)}"
    compose_dir = os.path.dirname(exposed.key_file)
    assert key not in open(os.path.join(compose_dir, "compose.yaml")).read()
    (container,) = exposed.containers()
    inspect = subprocess.run(["docker", "inspect", container], capture_output=True, text=True).stdout
    assert key not in inspect
    config = json.loads(inspect)[0]["Config"]
    assert config["User"] == "nobody"


def test_doctor_on_the_front_end_side_checks_the_key(exposed, tmp_path):
    front = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=exposed.url)
    with_key = run_fldeploy("doctor", "--deep", "--json", env={**front, "FLDEPLOY_API_KEY": exposed.key})
    checks = {c["id"]: c for c in with_key.json["data"]["checks"]}
    for check_id in ("foundry.endpoint", "foundry.api", "foundry.models", "foundry.chat"):
        assert checks[check_id]["status"] == "ok", checks[check_id]
    for env in ({**front, "FLDEPLOY_API_KEY": "not-the-key"}, front):
        without = run_fldeploy("doctor", env=env)
        assert without.code == 1
        line = next(line for line in without.out.splitlines() if line.split()[1:2] == ["foundry.api"])
        assert line.startswith("FAIL") and f"Foundry at {exposed.url} refused the key" in line
        assert "fldeploy foundry expose --show-key" in without.out and "into api_key" in without.out
        assert "port moved" not in without.out


def test_hostile_address_and_port_are_refused_before_anything_runs(exposed, tmp_path):
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=exposed.foundry.url)
    for args in (["--address", "127.0.0.3\nlisten 0.0.0.0:1"], ["--address", "127.0.0.3 ;"],
                 ["--address", "localhost"], ["--address", "127.0.0.3", "--port", "70000"],
                 ["--address", "127.0.0.3", "--port", "80"]):
        run = run_fldeploy("foundry", "expose", *args, env=env)
        assert run.code == 2, (args, run.out, run.err)
        assert "Traceback" not in run.err and "fix:" in run.err
    assert not os.path.exists(os.path.join(env["FLDEPLOY_STATE_DIR"], "expose", "compose.yaml"))


def test_a_taken_port_or_a_foreign_address_is_refused(exposed, tmp_path, hold_port):
    env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=exposed.foundry.url)
    _, taken = hold_port(ADDRESS)
    for address, port in ((ADDRESS, taken), ("192.0.2.1", free_port())):  # 192.0.2.1: TEST-NET, not ours
        run = run_fldeploy("foundry", "expose", "--address", address, "--port", str(port), env=env)
        assert run.code == 4, run.out + run.err
        assert f"{address}:{port} cannot be listened on" in run.err and "fldeploy ports" in run.err
    project = f"{env['FLDEPLOY_PROJECT']}-expose"
    assert subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
                          capture_output=True, text=True).stdout.split() == []


def test_a_second_foundry_machine_takes_the_first_ones_key(exposed, tmp_path):
    """Two exposed Foundry hosts behind one front end share its one api_key: the second machine's expose takes
    the first one's key from a file (its .env copied, or the bare key); a file that is no key changes nothing."""
    second = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=exposed.foundry.url, FLDEPLOY_BUILD_LOCAL="true",
                          FLDEPLOY_BASE_IMAGE=BASE_IMAGE)
    port, key_dir = _proxy_port(), os.path.join(second["FLDEPLOY_STATE_DIR"], "expose")
    copied, bare, link, junk = (tmp_path / name for name in ("copied.env", "lab.key", "link.key", "junk.key"))
    copied.write_text(open(exposed.key_file).read())
    bare.write_text(exposed.key + "\n")
    link.symlink_to(bare)
    junk.write_text("not a key\n")
    for hostile in (link, junk, tmp_path):
        run = run_fldeploy("foundry", "expose", "--address", ADDRESS, "--port", str(port), "--key-file",
                           str(hostile), env=second)
        assert run.code == 2, run.out + run.err
        assert "Traceback" not in run.err and "fix:" in run.err and exposed.key not in run.out + run.err
        assert not os.path.exists(os.path.join(key_dir, ".env"))
    try:
        for given in (copied, bare):
            run = run_fldeploy("foundry", "expose", "--address", ADDRESS, "--port", str(port), "--key-file",
                               str(given), "--json", env=second, timeout=300)
            assert run.code == 0, run.out + run.err
            assert run.json["data"]["key_made"] is (given == copied) and exposed.key not in run.out + run.err
            assert stat.S_IMODE(os.stat(os.path.join(key_dir, ".env")).st_mode) == 0o600
        url = f"http://{ADDRESS}:{port}/v1/models"
        for proxy in (url, exposed.url + "/v1/models"):  # the one key opens both hosts
            assert httpx.get(proxy, headers={"Authorization": f"Bearer {exposed.key}"}).status_code == 200
        assert httpx.get(url).status_code == 401
        both = run_fldeploy("foundry", "expose", "--new-key", "--key-file", str(bare), env=second)
        assert both.code == 2 and "pass one of them" in both.err
    finally:
        run_fldeploy("foundry", "unexpose", env=second, timeout=120)


def test_a_front_end_stack_chats_through_the_proxy_with_api_key(exposed, stack_images, tmp_path):
    """The key is the front end's api_key: `up` checks Open WebUI (a chat through its UI path) and the Chainlit
    app's container against the proxy, moved to the Docker bridge gateway where containers reach it."""
    gateway = "172.17.0.1"
    moved = exposed.fl("foundry", "expose", "--address", gateway, "--json")
    assert moved.code == 0, moved.out + moved.err
    assert moved.json["data"]["changed"] is True and moved.json["data"]["url"] == f"http://{gateway}:{exposed.port}"
    with pytest.raises(httpx.ConnectError):  # the old address is let go
        httpx.get(exposed.url + "/v1/models", timeout=3)
    exposed.url = f"http://{gateway}:{exposed.port}"
    with stack_up(tmp_path, exposed.url, FLDEPLOY_API_KEY=exposed.key) as front:
        checks = {c["id"]: c for c in front.fl("doctor", "--json").json["data"]["checks"]}
        for check_id in ("foundry.api", "foundry.models", "stack.openwebui", "stack.chainlit",
                         "foundry.from_container"):
            assert checks[check_id]["status"] == "ok", checks[check_id]
        assert checks["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model"


def test_unexpose_leaves_nothing_running(exposed):
    # last in the module: the proxy stops, the key stays for the next expose
    assert exposed.containers()
    run = exposed.fl("foundry", "unexpose")
    assert run.code == 0 and "proxy stopped" in run.out and exposed.key_file in run.out
    assert exposed.containers() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(exposed.url + "/v1/models", timeout=3)
    assert os.path.exists(exposed.key_file)
    assert exposed.fl("foundry", "unexpose").code == 0 and exposed.containers() == []
