"""Operations from the runbooks, for real: backup and restore of the data volume, secret rotation, the
support bundle without secrets, an image upgrade that keeps the data."""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from fldeploy.stack.files import read_secrets
from fldeploy.stack.openwebui import OpenWebUI

from ..support.stack import make_stack, remove_stack


@pytest.fixture
def stack(tmp_path, stack_images, foundry):
    made = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_API_KEY="sk-bundle-secret-$x")
    assert made.fl("up").code == 0
    yield made
    remove_stack(made)


def admin(stack) -> OpenWebUI:
    client = OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}")
    client.sign_in("admin@fldeploy.local", read_secrets(Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"])
    return client


def test_backup_then_restore_into_a_fresh_volume(stack, tmp_path):
    chat_id = admin(stack).new_chat("before the backup")
    archive = tmp_path / "owui.tar.gz"
    saved = stack.fl("backup", str(archive), "--json")
    assert saved.code == 0 and archive.stat().st_mode & 0o777 == 0o600
    assert stack.fl("down", "--volumes", "--yes").code == 0
    assert stack.fl("up").code == 0
    assert chat_id not in [c["id"] for c in admin(stack).chats()], "a fresh, empty volume"
    refused = stack.fl("restore", str(archive))
    assert refused.code == 2 and "--yes" in refused.err
    restored = stack.fl("restore", str(archive), "--yes", "--json")
    assert restored.code == 0, restored.err
    assert Path(restored.json["data"]["saved_previous"]).exists(), "what was replaced is kept"
    assert chat_id in [c["id"] for c in admin(stack).chats()]


def test_secret_rotation_keeps_the_admin_working(stack):
    old = read_secrets(Path(stack.dir))
    run = stack.fl("secrets", "rotate", "--yes", "--json")
    assert run.code == 0, run.err
    new = read_secrets(Path(stack.dir))
    assert new["OPENWEBUI_ADMIN_PASSWORD"] != old["OPENWEBUI_ADMIN_PASSWORD"]
    assert new["WEBUI_SECRET_KEY"] != old["WEBUI_SECRET_KEY"]
    for value in new.values():
        assert value not in run.out and value not in run.err
    assert admin(stack).model_ids(), "signs in with the new password"
    doctor = stack.fl("doctor", "--json")
    assert next(c for c in doctor.json["data"]["checks"] if c["id"] == "stack.openwebui")["status"] == "ok"


def test_support_bundle_holds_no_secret(stack, tmp_path):
    bundle = tmp_path / "support.tar.gz"
    run = stack.fl("doctor", "--bundle", str(bundle), "--json")
    assert bundle.stat().st_mode & 0o777 == 0o600
    names = run.json["data"]["bundle"]["members"]
    assert {"findings.json", "versions.json", "stack/compose.yaml", "logs/open-webui.log"} <= set(names)
    secrets = list(read_secrets(Path(stack.dir)).values())
    assert "sk-bundle-secret-$x" in secrets
    with tarfile.open(bundle) as tar:
        text = "".join(tar.extractfile(m).read().decode() for m in tar.getmembers())
    assert "Open WebUI" in text or "open-webui" in text
    for secret in secrets:
        assert secret not in text, "a secret leaked into the bundle"


def test_image_upgrade_keeps_the_data(stack):
    chat_id = admin(stack).new_chat("kept across the upgrade")
    subprocess.run(["docker", "tag", "fldeploy-local/open-webui:0.12.4", "fldeploy-local/open-webui:next"], check=True)
    try:
        compose_file = Path(stack.dir) / "compose.yaml"
        # runbook: set the new tag, then fldeploy up (with build_local the tag lives in deploy/; here we pin it)
        run = stack.fl("up", FLDEPLOY_BUILD_LOCAL="0", FLDEPLOY_OPENWEBUI_IMAGE="fldeploy-local/open-webui:next")
        assert run.code == 0, run.err
        assert "fldeploy-local/open-webui:next" in compose_file.read_text()
        assert chat_id in [c["id"] for c in admin(stack).chats()]
    finally:
        subprocess.run(["docker", "rmi", "fldeploy-local/open-webui:next"], capture_output=True)
