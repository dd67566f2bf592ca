"""`fldeploy secrets rotate`: a new admin password (changed inside Open WebUI first, since its environment
only applies to an empty volume) and a new WEBUI_SECRET_KEY (signs everyone out), then the stack restarts."""
from __future__ import annotations

import secrets as token_source
from pathlib import Path

from .. import __version__
from ..core.compose_model import dotenv_text
from ..errors import ExitCode, FldeployError
from ..result import Result
from .stack import confirm, stack_compose


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
    env_path = out_dir / files.ENV_FILE
    rotated = {**current, "OPENWEBUI_ADMIN_PASSWORD": token_source.token_urlsafe(18),
               "WEBUI_SECRET_KEY": token_source.token_hex(32)}
    with OpenWebUI(f"http://127.0.0.1:{settings.openwebui_port}") as client:
        if not client.healthy():
            raise FldeployError("Open WebUI must run to change its admin password", "run `fldeploy up` first",
                                ExitCode.UNREACHABLE, "secrets.not_running")
        client.sign_in(settings.admin_email, current["OPENWEBUI_ADMIN_PASSWORD"])
        # the new password is on disk before Open WebUI knows it, so it can never exist only in memory
        files.atomic_write(env_path, dotenv_text(rotated, __version__), 0o600)
        progress("changing the admin password inside Open WebUI")
        try:
            client.change_password(current["OPENWEBUI_ADMIN_PASSWORD"], rotated["OPENWEBUI_ADMIN_PASSWORD"])
        except BaseException:
            files.atomic_write(env_path, dotenv_text(current, __version__), 0o600)
            raise
    progress("restarting Open WebUI with the new WEBUI_SECRET_KEY")
    done = compose.up(settings.wait_timeout, lambda line: progress(f"compose: {line[:150]}"))
    if not done.ok:
        raise FldeployError(f"the stack did not come back: {done.stdout[-200:]}", "see `fldeploy logs open-webui`",
                            ExitCode.TIMEOUT, "secrets.restart")
    return Result("secrets rotate", {"rotated": ["OPENWEBUI_ADMIN_PASSWORD", "WEBUI_SECRET_KEY"],
                                     "env_file": str(out_dir / files.ENV_FILE)})
