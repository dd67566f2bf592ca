"""Open WebUI allows 15 sign-ins per account in 3 minutes (routers/auths.py signin_rate_limiter). doctor and up
keep the admin's session next to .env instead of signing in on every run, so running them often (a watch
loop, a bench, a class all pressing the button) never locks the admin out; a refused session signs in again,
and a lock-out that does happen is explained."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx

from ..support.stack import stack_up

SESSION = ".fldeploy-session"


def _exhaust_sign_ins(port: int) -> int:
    """Sign-in attempts (a wrong password) until Open WebUI answers 429, as a locked-out user would see."""
    for attempt in range(1, 40):
        answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/auths/signin", timeout=10,
                            json={"email": "admin@fldeploy.local", "password": "not-the-password"})
        if answer.status_code == 429:
            return attempt
    raise AssertionError("Open WebUI never limited the sign-ins")


def test_doctor_keeps_working_when_sign_ins_are_limited_and_explains_a_lock_out(tmp_path, stack_images, foundry):
    with stack_up(tmp_path, foundry.url) as stack:
        session = Path(stack.dir) / SESSION
        assert session.exists() and stat.S_IMODE(os.stat(session).st_mode) == 0o600, "up keeps the session, 0600"

        session.write_text("not-a-token")  # a session Open WebUI no longer accepts: signed in again, kept
        again = stack.fl("doctor", "--json")
        assert again.code == 0, again.out
        assert session.read_text() != "not-a-token"

        secret = tmp_path / "another-tools-token"  # planted in its place: never read, never written through
        secret.write_text("token-of-another-tool")
        session.unlink()
        session.symlink_to(secret)
        planted = stack.fl("doctor", "--json")
        assert planted.code == 0, planted.out
        assert not session.is_symlink() and secret.read_text() == "token-of-another-tool"

        env = Path(stack.dir) / ".env"  # the password in .env no longer works: the kept session does not hide it
        original = env.read_text()
        password = next(l.split("=", 1)[1] for l in original.splitlines() if l.startswith("OPENWEBUI_ADMIN_PASSWORD="))
        env.write_text(original.replace(password, '"not-the-admin-password"'))
        stale = stack.fl("doctor", "--json")
        check = {c["id"]: c for c in stale.json["data"]["checks"]}["stack.openwebui"]
        assert stale.code == 1 and "cannot sign in" in check["cause"], stale.out
        env.write_text(original)

        assert _exhaust_sign_ins(stack.openwebui_port) <= 16
        kept = stack.fl("doctor", "--json")
        checks = {c["id"]: c for c in kept.json["data"]["checks"]}
        assert kept.code == 0 and checks["stack.openwebui"]["status"] == "ok", kept.out
        assert checks["stack.openwebui"]["data"]["ui_answer"] == "Hello from tiny model"

        session.unlink()  # no session left and sign-ins refused: the user is told why and what to do
        locked = stack.fl("doctor", "--json")
        check = {c["id"]: c for c in locked.json["data"]["checks"]}["stack.openwebui"]
        assert locked.code == 1 and check["status"] == "fail"
        assert "more than 15 in 3 minutes" in check["cause"] and "wait 3 minutes" in check["fix"]
