"""`fldeploy secrets rotate`: a new admin password (changed inside Open WebUI first, since its environment
only applies to an empty volume) and a new WEBUI_SECRET_KEY (signs everyone out), then the stack restarts.

The live admin password is never lost: the new one is in .env before Open WebUI is asked to change it, the
current one is kept in .env.before-rotate until the outcome is known, and when the change fails in a way
that leaves the outcome unclear (the request was sent but its answer was lost: connection cut, timeout),
fldeploy signs in with each password and keeps in .env the one that works."""
from __future__ import annotations

import os
import secrets as token_source
import time
from pathlib import Path

from .. import __version__
from ..core.compose_model import dotenv_text
from ..adapters.signals import sigterm_as_interrupt
from ..errors import ExitCode, FldeployError
from ..result import Result
from ..services.confirm import confirm
from ..services.stack import stack_compose

BACKUP_FILE = ".env.before-rotate"
RESOLVE_S = 60.0  # how long to wait for Open WebUI to answer a sign-in after an unclear change


def _which_signs_in(url: str, email: str, candidates: dict[str, str]) -> str | None:
    """The name of the candidate password that signs in now (None: Open WebUI never answered)."""
    from ..stack.openwebui import OpenWebUI

    deadline = time.monotonic() + RESOLVE_S
    with OpenWebUI(url, timeout=15.0) as client:
        while True:
            refused = 0
            for name, password in candidates.items():
                answer = client.signs_in(email, password)
                if answer:
                    return name
                refused += answer is False
            if refused == len(candidates) or time.monotonic() > deadline:
                return None
            time.sleep(1.0)


def rotate(settings, confirmed: bool, interactive: bool, ask, progress) -> Result:
    from ..stack import files
    from ..stack.openwebui import OpenWebUI

    compose = stack_compose(settings)
    out_dir = Path(settings.stack_dir)
    current = files.read_secrets(out_dir)
    confirm(confirmed, interactive, ask, "secrets", "rotating WEBUI_SECRET_KEY signs every user out",
            "Rotate the admin password and WEBUI_SECRET_KEY (signs every user out)?")
    if "OPENWEBUI_ADMIN_PASSWORD" not in current:
        raise FldeployError(f"no admin password in {out_dir / files.ENV_FILE}", "run `fldeploy up` first",
                            ExitCode.CHECK_FAILED, "secrets.no_env")
    env_path, backup = out_dir / files.ENV_FILE, out_dir / BACKUP_FILE
    files.ensure_ours(env_path)  # a .env kept by hand is the user's: fldeploy does not rewrite it
    rotated = {**current, "OPENWEBUI_ADMIN_PASSWORD": token_source.token_urlsafe(18),
               "WEBUI_SECRET_KEY": token_source.token_hex(32)}
    url = f"http://127.0.0.1:{settings.openwebui_port}"
    notes: list[str] = []
    with OpenWebUI(url) as client:
        if not client.healthy():
            raise FldeployError("Open WebUI must run to change its admin password", "run `fldeploy up` first",
                                ExitCode.UNREACHABLE, "secrets.not_running")
        client.sign_in(settings.admin_email, current["OPENWEBUI_ADMIN_PASSWORD"])
        # both passwords are on disk before Open WebUI knows the new one: neither exists only in memory
        files.atomic_write(backup, dotenv_text(current, __version__), 0o600)
        with sigterm_as_interrupt():  # SIGTERM, like Ctrl-C, ends here with the live password in .env
            try:
                files.atomic_write(env_path, dotenv_text(rotated, __version__), 0o600)
                progress("changing the admin password inside Open WebUI")
                client.change_password(current["OPENWEBUI_ADMIN_PASSWORD"], rotated["OPENWEBUI_ADMIN_PASSWORD"])
            except (Exception, KeyboardInterrupt) as exc:
                notes.append(_resolve(settings, url, current, rotated, env_path, backup, exc, progress))
    os.remove(backup)
    progress("restarting Open WebUI with the new WEBUI_SECRET_KEY")
    done = compose.up(settings.wait_timeout, progress)
    if not done.ok:
        raise FldeployError(f"the stack did not come back: {done.stdout[-200:]}", "see `fldeploy logs open-webui`",
                            ExitCode.TIMEOUT, "secrets.restart")
    return Result("secrets rotate", {"rotated": ["OPENWEBUI_ADMIN_PASSWORD", "WEBUI_SECRET_KEY"],
                                     "env_file": str(env_path), "notes": notes})


def _resolve(settings, url: str, current: dict, rotated: dict, env_path: Path, backup: Path, exc: BaseException,
             progress) -> str:
    """The change failed: find out which password is live and keep it in .env. Returns a note when the new
    one is live (the rotation goes on); raises otherwise."""
    from ..stack import files

    what = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    progress("the password change failed; checking which admin password signs in")
    live = _which_signs_in(url, settings.admin_email, {"new": rotated["OPENWEBUI_ADMIN_PASSWORD"],
                                                       "current": current["OPENWEBUI_ADMIN_PASSWORD"]})
    if live == "new":  # applied, but the answer was lost: .env already holds it
        if isinstance(exc, KeyboardInterrupt):  # stop here; the next `up` applies the new WEBUI_SECRET_KEY
            os.remove(backup)
            raise exc
        return (f"Open WebUI changed the admin password but its answer was lost ({what}); the new password "
                f"signs in and is kept in {env_path}")
    if live == "current":  # not applied: the current password (and secret key) stay
        files.atomic_write(env_path, dotenv_text(current, __version__), 0o600)
        os.remove(backup)
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        raise FldeployError(f"Open WebUI did not change the admin password ({what}); {env_path} keeps the "
                            "current password, which signs in; nothing was changed",
                            "run `fldeploy secrets rotate` again; see `fldeploy logs open-webui`",
                            ExitCode.CHECK_FAILED, "secrets.not_changed")
    raise FldeployError(
        f"cannot tell whether Open WebUI changed the admin password: the change failed ({what}) and neither "
        f"password signs in now. {env_path} holds the new password, {backup} the previous one",
        f"when Open WebUI answers again, sign in as {settings.admin_email} with each; if the previous one works, "
        f"copy {backup} over {env_path}; then delete {backup}",
        ExitCode.UNREACHABLE, "secrets.unclear")
