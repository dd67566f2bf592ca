"""Writing the rendered stack: atomic writes, secrets 0600, generated once and kept; hand-edited files kept."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from .. import __version__
from ..adapters.platform import set_mode
from ..core.compose_model import HEADER, MARKER, dotenv_text, parse_dotenv
from ..errors import ExitCode, FldeployError

COMPOSE_FILE, ENV_FILE, OVERRIDE_FILE = "compose.yaml", ".env", "compose.override.yaml"
SESSION_FILE = ".fldeploy-session"  # the admin's Open WebUI session token the last check used (0600)


def atomic_write(path: Path, text: str, mode: int) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_bytes(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file in the same folder (created with mode), fsync, rename: never a half file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        set_mode(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_small_private(path: Path, limit: int = 8192) -> str | None:
    """A small file fldeploy wrote for itself, or None: never through a symlink, never a FIFO or device (a
    planted one would hang or leak another file), never more than limit bytes."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:  # a folder cannot even be wrapped as a file
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit).decode("utf-8", "replace")


def ensure_ours(path: Path) -> None:
    if path.exists() and MARKER not in path.read_text(encoding="utf-8", errors="replace")[:400]:
        kept = parse_dotenv(path.read_text(encoding="utf-8", errors="replace")) if path.name == ENV_FILE else {}
        placeholders = [name for name in GENERATED if name in kept and is_placeholder(kept[name])]
        if placeholders:  # e.g. a copy of compose/.env.example: never run a stack with its change-me secrets
            raise FldeployError(f"{path} keeps placeholder secrets ({', '.join(placeholders)}) and has no "
                                f"'{MARKER}' line, so fldeploy neither overwrites it nor runs the stack with it",
                                f"delete {path} and run `fldeploy render` again (it generates every secret, "
                                "mode 0600), or give each placeholder a secret of its own (`openssl rand -hex 32`)",
                                ExitCode.CONFIG, "render.placeholder_secrets")
        raise FldeployError(f"{path} has no '{MARKER}' line: it was edited by hand, so fldeploy leaves it alone",
                            f"put your changes in {path.parent / OVERRIDE_FILE}, then delete {path} to let "
                            "fldeploy render it again (or render elsewhere with --out)",
                            ExitCode.CONFIG, "render.hand_edited")


# generated once per stack and kept; each with how to make a fresh one
GENERATED = {
    "WEBUI_SECRET_KEY": lambda: secrets.token_hex(32),
    "OPENWEBUI_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(18),
    "CHAINLIT_AUTH_SECRET": lambda: secrets.token_hex(32),
    "CHAINLIT_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(18),
}
# values documentation and example files show: a kept secret that equals one of these is replaced
PLACEHOLDERS = frozenset({"", "change-me", "changeme", "change-me-to-64-hex-characters", "secret", "password",
                          "admin", "t0p-s3cr3t"})


def is_placeholder(value: str | None) -> bool:
    return value is None or value.strip().lower() in PLACEHOLDERS or value.strip().lower().startswith("change-me")


def secret_values(env_path: Path, api_key: str, generated: dict | None = None) -> dict[str, str]:
    """Keep the generated secrets of an existing .env; create them once (and again where a placeholder was
    kept, e.g. a copied .env.example); the API key follows the settings. generated: other secrets to make
    instead of GENERATED (e.g. a target's database password besides them)."""
    kept = parse_dotenv(env_path.read_text(encoding="utf-8")) if env_path.exists() else {}
    values = {name: kept[name] if not is_placeholder(kept.get(name)) else make()
              for name, make in (generated or GENERATED).items()}
    values["FOUNDRY_API_KEY"] = api_key
    return values


def compose_text(doc: dict) -> str:
    import yaml

    return HEADER.format(version=__version__) + yaml.safe_dump(doc, sort_keys=False, width=120,
                                                                default_flow_style=False, allow_unicode=True)


def write_stack(out_dir: Path, doc: dict, api_key: str) -> dict:
    """Write compose.yaml and .env when they changed; returns what was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    compose_path, env_path = out_dir / COMPOSE_FILE, out_dir / ENV_FILE
    ensure_ours(compose_path)
    ensure_ours(env_path)
    written = []
    for path, text, mode in ((compose_path, compose_text(doc), 0o644),
                             (env_path, dotenv_text(secret_values(env_path, api_key), __version__), 0o600)):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text, mode)
            written.append(path.name)
        elif path == env_path and os.stat(path).st_mode & 0o777 != mode:
            os.chmod(path, mode)  # e.g. a .env copied or restored as 0644: secrets are 0600, always
    return {"dir": str(out_dir), "compose_file": str(compose_path), "env_file": str(env_path),
            "written": written, "changed": bool(written),
            "override_file": str(out_dir / OVERRIDE_FILE) if (out_dir / OVERRIDE_FILE).exists() else None}


def read_document(out_dir: Path) -> dict:
    """The rendered compose.yaml as data; a file broken by hand is an error with a fix, not a traceback."""
    import yaml

    path = out_dir / COMPOSE_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FldeployError(f"{path} is not valid YAML: {exc}", "fix it, or delete it and run `fldeploy up`",
                            ExitCode.CONFIG, "stack.compose_file") from None
    return doc if isinstance(doc, dict) else {}


def read_services(out_dir: Path) -> dict:
    return read_document(out_dir).get("services") or {}


def project_of(doc: dict, default: str) -> str:
    name = doc.get("name")
    return name if isinstance(name, str) and name else default


def recorded_project(out_dir: Path, default: str) -> str:
    """The Compose project the stack in out_dir was rendered for (its `name:`): verbs that act on a stack ask
    that one, so a stack beside it (another user's, the tests') is never seen, whatever the settings say now."""
    import yaml

    try:
        doc = yaml.safe_load((out_dir / COMPOSE_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return default
    return project_of(doc, default) if isinstance(doc, dict) else default


def stack_compose(out_dir: Path, default_project: str):
    """Compose for the stack rendered in out_dir, under the project recorded there."""
    from ..adapters.compose import Compose

    return Compose(out_dir, recorded_project(out_dir, default_project))


def read_secrets(out_dir: Path) -> dict[str, str]:
    env_path = out_dir / ENV_FILE
    return parse_dotenv(env_path.read_text(encoding="utf-8")) if env_path.exists() else {}
