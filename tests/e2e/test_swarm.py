"""`--target swarm` on a real single-node swarm made by the test: Open WebUI x 2 on PostgreSQL (+pgvector) and
Redis, images built here from the Debian base, the real Foundry runtime behind it. A sign-in made through one
replica is valid on the other; chats keep being answered through the published port while a replica's
container is killed, and Swarm brings it back to 2/2; a saved chat survives `down` and `up`."""
from __future__ import annotations

import json
import pathlib
import subprocess
import time

import pytest

from fldeploy.stack.files import read_secrets
from fldeploy.stack.openwebui import OpenWebUI

from ..support.stack import make_stack

ADMIN = "admin@fldeploy.local"
WHO_AM_I = ("import json, os, urllib.request\n"
            "r = urllib.request.Request('http://127.0.0.1:8080/api/v1/auths/', "
            "headers={'Authorization': 'Bearer ' + os.environ['TOKEN']})\n"
            "print(json.load(urllib.request.urlopen(r, timeout=10))['email'])\n")


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _swarm_state() -> str:
    return _docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


def _replicas(project: str) -> list[str]:
    """Containers of the tasks Swarm wants running (a replaced task's container may still be stopping)."""
    service = f"{project}_open-webui"
    wanted = set(_docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running",
                         service).stdout.split())
    found = _docker("ps", "--filter", f"label=com.docker.swarm.service.name={service}", "--format",
                    '{{.ID}} {{.Label "com.docker.swarm.task.id"}}').stdout.splitlines()
    return [line.split()[0] for line in found if len(line.split()) == 2 and line.split()[1] in wanted]


def _healthy_replicas(project: str) -> list[str]:
    return [c for c in _replicas(project)
            if _docker("inspect", "--format", "{{.State.Health.Status}}", c).stdout.strip() == "healthy"]


@pytest.fixture
def swarm_stack(tmp_path, stack_images, foundry):
    """A stack of the test's own on a swarm; the swarm is left again only when the test made it."""
    was = _swarm_state()
    assert was in ("inactive", "active"), f"unexpected swarm state {was!r}"
    bridge_before = _docker("network", "inspect", "docker_gwbridge").returncode == 0
    made = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_TARGET="swarm", FLDEPLOY_REPLICAS="2")
    try:
        yield made, was
    finally:
        _docker("stack", "rm", made.project)
        deadline = time.monotonic() + 120
        label = f"label=com.docker.stack.namespace={made.project}"
        while time.monotonic() < deadline and (_docker("ps", "-aq", "--filter", label).stdout.strip()
                                               or _docker("network", "ls", "-q", "--filter", label).stdout.strip()):
            time.sleep(1)
        for volume in (made.env["FLDEPLOY_VOLUME"], made.env["FLDEPLOY_VOLUME"] + "-postgres"):
            _docker("volume", "rm", volume)
        secrets = _docker("secret", "ls", "-q", "--filter", f"name={made.project}_").stdout.split()
        if secrets:
            _docker("secret", "rm", *secrets)
        if was == "inactive":
            _docker("swarm", "leave", "--force")
            if not bridge_before:  # `swarm init` made it, `swarm leave` keeps it
                _docker("network", "rm", "docker_gwbridge")


def _admin(stack) -> OpenWebUI:
    client = OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}")
    client.sign_in(ADMIN, read_secrets(pathlib.Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"])
    return client


def test_swarm_two_replicas_share_sessions_survive_a_killed_replica_and_keep_data(swarm_stack, foundry, tmp_path):
    stack, was = swarm_stack
    if was == "inactive":
        refused = stack.fl("up", "--json")
        assert refused.code == 5, refused.out + refused.err
        assert "--init-swarm" in refused.json["errors"][0]["hint"]
        assert _swarm_state() == "inactive", "no swarm is made unasked"
    up = stack.fl("up", "--json", *(["--init-swarm"] if was == "inactive" else []), timeout=1800)
    assert up.code == 0, up.out + up.err
    data = up.json["data"]
    rows = {r["service"]: r for r in data["services"]}
    assert (rows["open-webui"]["running"], rows["open-webui"]["desired"]) == (2, 2)
    assert {"postgres", "redis", "chainlit"} <= set(rows)
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model", checks
    assert checks["stack.chainlit"]["status"] == "ok", checks["stack.chainlit"]
    password = read_secrets(pathlib.Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"]
    assert password not in up.out + up.err

    status = stack.fl("status", "--json")
    assert status.code == 0, status.out
    assert {(s["service"], s["health"]) for s in status.json["data"]["services"]} >= {("open-webui", "2/2")}

    logs = stack.fl("logs", "open-webui", "--tail", "20")
    assert logs.code == 0 and f"{stack.project}_open-webui" in logs.out + logs.err
    assert stack.fl("logs", "--follow").code == 2, "--follow names one service"

    # a sign-in made through the published port is valid on each replica (one secret key, one database)
    admin = _admin(stack)
    replicas = _replicas(stack.project)
    assert len(replicas) == 2
    for container in replicas:
        who = _docker("exec", "-e", f"TOKEN={admin.token}", container, "python3", "-c", WHO_AM_I)
        assert who.returncode == 0 and who.stdout.strip() == ADMIN, who.stderr[-500:]

    # one replica's container killed: chats through the published port are still answered
    killed = replicas[0]
    assert _docker("kill", killed).returncode == 0
    for _ in range(3):
        with OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}") as fresh:
            fresh.sign_in(ADMIN, password)
            assert fresh.chat_api(foundry.model_id, "Say hello.") == "Hello from tiny model"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (len(_healthy_replicas(stack.project)) == 2
                                               and killed not in _replicas(stack.project)):
        time.sleep(2)
    assert len(_healthy_replicas(stack.project)) == 2 and killed not in _replicas(stack.project), \
        "Swarm replaced the killed replica"
    again = stack.fl("status", "--json")
    assert again.code == 0
    assert {s["service"]: s["health"] for s in again.json["data"]["services"]}["open-webui"] == "2/2"

    # data kept across down and up
    chat_id = admin.new_chat("kept across swarm down and up")
    admin.close()
    down = stack.fl("down", "--json")
    assert down.code == 0, down.out + down.err
    assert set(down.json["data"]["kept"]) == {stack.env["FLDEPLOY_VOLUME"], stack.env["FLDEPLOY_VOLUME"] + "-postgres"}
    assert _replicas(stack.project) == []
    assert stack.fl("status").code == 1
    back = stack.fl("up", "--json", timeout=1800)
    assert back.code == 0, back.out + back.err
    with _admin(stack) as client:
        assert chat_id in [c["id"] for c in client.chats()], "the saved chat survived down + up"

    # backup and restore of the PostgreSQL data: pg_dump, then pg_restore brings back what the dump had
    archive = tmp_path / "owui.dump"
    saved = stack.fl("backup", str(archive), "--json", timeout=600)
    assert saved.code == 0, saved.out + saved.err
    assert archive.read_bytes()[:5] == b"PGDMP" and archive.stat().st_mode & 0o777 == 0o600
    with _admin(stack) as client:
        later = client.new_chat("made after the backup")
    junk = tmp_path / "not-a-dump"
    junk.write_bytes(b"hello")
    refused = stack.fl("restore", str(junk), "--yes", "--json")
    assert refused.code == 2 and "not a pg_dump archive" in refused.json["errors"][0]["message"]
    restored = stack.fl("restore", str(archive), "--yes", "--json", timeout=900)
    assert restored.code == 0, restored.out + restored.err
    assert pathlib.Path(restored.json["data"]["saved_previous"]).read_bytes()[:5] == b"PGDMP"
    with _admin(stack) as client:
        ids = [c["id"] for c in client.chats()]
    assert chat_id in ids and later not in ids, "the database is the one the backup saw"
    after = stack.fl("status", "--json")
    assert after.code == 0
    assert {s["service"]: s["health"] for s in after.json["data"]["services"]}["open-webui"] == "2/2"


def test_swarm_render_writes_a_stack_file_and_secrets_as_files(tmp_path, foundry):
    stack = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_TARGET="swarm", FLDEPLOY_REPLICAS="3")
    done = stack.fl("render", "--json")
    assert done.code == 0, done.out + done.err
    folder = pathlib.Path(stack.dir)
    doc = __import__("yaml").safe_load((folder / "swarm.yaml").read_text())
    env = doc["services"]["open-webui"]["environment"]
    assert doc["services"]["open-webui"]["deploy"]["replicas"] == 3 and env["ENABLE_DB_MIGRATIONS"] == "false"
    assert "WEBUI_SECRET_KEY" not in env and "DATABASE_URL" not in env, "secrets are Docker secrets, not env"
    secrets = read_secrets(folder)
    key_file = folder / "secrets" / "WEBUI_SECRET_KEY"
    assert key_file.read_text() == secrets["WEBUI_SECRET_KEY"] and key_file.stat().st_mode & 0o777 == 0o600
    assert secrets["OPENWEBUI_ADMIN_PASSWORD"] not in (folder / "swarm.yaml").read_text()
    assert json.loads(done.out)["data"]["stack"] == stack.project
    again = stack.fl("render", "--json")
    assert again.json["data"]["written"] == [] and key_file.read_text() == secrets["WEBUI_SECRET_KEY"]
