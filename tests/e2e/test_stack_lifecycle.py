"""The main job on real containers: embedded Foundry -> `fldeploy up` -> Open WebUI lists the model and
answers through Foundry (API and UI path) -> status -> down -> up keeps the admin and the chats; the rendered
files also run under plain `docker compose`."""
from __future__ import annotations

import httpx
import pytest

from fldeploy.stack.files import read_secrets
from fldeploy.stack.openwebui import OpenWebUI

from ..support.stack import make_stack, remove_stack


@pytest.fixture
def stack(tmp_path, stack_images, foundry):
    made = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url)
    yield made
    remove_stack(made)


def _admin(stack) -> OpenWebUI:
    client = OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}")
    client.sign_in("admin@fldeploy.local", read_secrets(__import__("pathlib").Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"])
    return client


def test_up_status_down_up_keeps_data_and_plain_compose_runs_the_files(stack, foundry):
    first = stack.fl("up", "--json")
    assert first.code == 0, first.out + first.err
    data = first.json["data"]
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["stack.openwebui"]["data"]["models"] == [foundry.model_id]
    assert checks["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model"
    assert checks["stack.openwebui"]["data"]["api_answer"] == "Hello from tiny model"
    assert checks["stack.chainlit"]["status"] == "ok"
    assert data["urls"] == {"openwebui": f"http://127.0.0.1:{stack.openwebui_port}",
                            "chainlit": f"http://127.0.0.1:{stack.chainlit_port}"}
    password = read_secrets(__import__("pathlib").Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"]
    assert password not in first.out and password not in first.err, "the admin password is never printed"
    assert ".env (OPENWEBUI_ADMIN_PASSWORD)" in data["admin"]["password_in"]

    status = stack.fl("status", "--json")
    assert status.code == 0
    assert {(s["service"], s["state"], s["health"]) for s in status.json["data"]["services"]} == {
        ("open-webui", "running", "healthy"), ("chainlit", "running", "healthy")}

    again = stack.fl("up", "--json")
    assert again.code == 0 and again.json["data"]["files_written"] == [], "a second up changes nothing"
    light = {c["id"]: c for c in again.json["data"]["checks"]}
    assert "nothing changed since the full end-to-end check passed" in light["stack.openwebui"]["cause"], \
        "nothing changed since the full check: sign-in and repairs, no chat"
    assert "ui_answer" not in light["stack.openwebui"]["data"]
    # a change Compose makes quietly (COMPOSE_PROGRESS=quiet prints nothing) is still a change: the full check runs
    (__import__("pathlib").Path(stack.dir) / "compose.override.yaml").write_text(
        "services:\n  open-webui:\n    environment:\n      FLDEPLOY_TEST_MARK: changed\n")
    changed = stack.fl("up", "--json", COMPOSE_PROGRESS="quiet")
    assert changed.code == 0, changed.out + changed.err
    assert {c["id"]: c for c in changed.json["data"]["checks"]}["stack.openwebui"]["data"]["ui_answer"] == \
        "Hello from tiny model", "the override recreated Open WebUI: the full check ran"
    (__import__("pathlib").Path(stack.dir) / "compose.override.yaml").unlink()

    doctor = stack.fl("doctor", "--json")
    assert doctor.code == 0 and doctor.json["status"] == "ok", doctor.out
    assert {c["id"]: c["status"] for c in doctor.json["data"]["checks"]}["stack.openwebui"] == "ok"

    chat_id = _admin(stack).new_chat("kept across down and up")
    down = stack.fl("down", "--json")
    assert down.code == 0 and down.json["data"]["kept"] == [stack.env["FLDEPLOY_VOLUME"]]
    assert stack.fl("status").code == 1

    back = stack.fl("up", "--json")
    assert back.code == 0, back.out + back.err
    full = {c["id"]: c for c in back.json["data"]["checks"]}
    assert full["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model", \
        "containers were made again: the full check runs"
    assert chat_id in [c["id"] for c in _admin(stack).chats()], "the chat survived down + up"

    assert stack.fl("down").code == 0
    plain = stack.compose("up", "-d", "--wait")
    assert plain.returncode == 0, plain.stderr
    health = httpx.get(f"http://127.0.0.1:{stack.openwebui_port}/health", timeout=5).json()
    assert health == {"status": True}
    assert chat_id in [c["id"] for c in _admin(stack).chats()]


def test_builtin_tools_switched_back_on_is_diagnosed_and_repaired(stack, foundry):
    assert stack.fl("up").code == 0
    admin = _admin(stack)
    entry = admin.model_entry(foundry.model_id)
    entry["meta"]["capabilities"]["builtin_tools"] = True  # as an admin clicking in the UI would
    admin._call("POST", "/api/v1/models/model/update", json={k: entry[k] for k in ("id", "name", "meta", "params")}
                | {"base_model_id": None, "is_active": True})
    admin.model_ids()
    broken = stack.fl("doctor", "--json")
    check = next(c for c in broken.json["data"]["checks"] if c["id"] == "stack.openwebui")
    assert broken.code == 1 and check["status"] == "fail"
    assert "built-in tools" in check["cause"] and "rejects tools" in check["cause"]
    assert "fldeploy up" in check["fix"]
    repaired = stack.fl("up", "--json")
    assert repaired.code == 0
    assert stack.fl("doctor").code == 0


def test_down_volumes_needs_yes_when_not_interactive(stack):
    assert stack.fl("render").code == 0
    refused = stack.fl("down", "--volumes")
    assert refused.code == 2 and "--yes" in refused.err


def test_port_taken_between_preflight_and_start_is_a_conflict_not_a_traceback(stack, hold_port):
    from fldeploy import settings as settings_mod
    from fldeploy.services.deploy import _compose_failure

    assert stack.fl("render").code == 0
    pid, _ = hold_port("127.0.0.1", stack.openwebui_port)
    # what Compose itself prints when the port went between fldeploy's preflight and `compose up`
    raced = stack.compose("up", "-d", "--wait")
    assert raced.returncode != 0
    settings = settings_mod.load({}, env=stack.env)
    error = _compose_failure(settings, raced.stdout + raced.stderr, False)
    assert int(error.exit_code) == 4 and str(pid) in error.message and "--openwebui-port" in error.fix
    run = stack.fl("up")
    assert run.code == 4 and "Traceback" not in run.err and str(pid) in run.err


def test_logs_show_the_services_output(stack):
    assert stack.fl("up").code == 0
    logs = stack.fl("logs", "chainlit", "--tail", "20")
    assert logs.code == 0 and "chainlit-1" in logs.out
