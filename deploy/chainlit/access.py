"""Who may use the app, free of Chainlit so it can be tested on its own: one login (user and password from
the environment) and the web pages (origins) allowed to open its socket. app.py wires this into Chainlit.

Chainlit 2.12 creates its socket.io server with cors_allowed_origins=[], which turns python-engineio's Origin
check off, and its config.toml `allow_origins` only feeds the HTTP CORS middleware: without app.py's hook any
page the user visits could open the socket. The login cookie is SameSite=lax, and ports do not make a site,
so a page served from another port of 127.0.0.1 would even carry it: the Origin check is what stops that."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

OFF = ("0", "false", "no", "off")
PLACEHOLDER_PREFIX = "change-me"
MIN_SECRET_CHARS = 32


def _on(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in OFF


def normalize_origin(text: str) -> str:
    """An origin as browsers send it in the Origin header: scheme://host[:port], lower case, no path.
    Raises ValueError for anything else (a wildcard, a path, a missing scheme)."""
    value = text.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query \
            or parts.username or "*" in value:
        raise ValueError(f"{text.strip()!r} is not an origin like http://127.0.0.1:8080")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class Access:
    login: bool
    user: str
    password: str
    auth_secret: str
    origins: tuple[str, ...]
    public: bool  # published on all interfaces: pages of the app's own host name are accepted too
    origin_errors: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], port: int) -> "Access":
        wanted = [o for o in env.get("ALLOW_ORIGINS", "").split(",") if o.strip()]
        if not wanted:
            wanted = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        origins, errors = [], []
        for text in wanted:
            try:
                origins.append(normalize_origin(text))
            except ValueError as exc:
                errors.append(str(exc))
        return cls(login=_on(env.get("CHAINLIT_LOGIN"), True),
                   user=env.get("CHAINLIT_ADMIN_USER", "").strip() or "admin",
                   password=env.get("CHAINLIT_ADMIN_PASSWORD", ""),
                   auth_secret=env.get("CHAINLIT_AUTH_SECRET", ""),
                   origins=tuple(dict.fromkeys(origins)), public=_on(env.get("PUBLIC"), False),
                   origin_errors=tuple(errors))

    def problem(self) -> str | None:
        """Why the app must not start with this configuration (None: it may)."""
        if self.origin_errors:
            return (f"ALLOW_ORIGINS: {'; '.join(self.origin_errors)}. List the addresses users open the app "
                    "at, comma-separated (a wildcard would let any web page use the app)")
        if not self.login:
            if self.public:
                return ("CHAINLIT_LOGIN=off on an app published on all interfaces (PUBLIC=true): anyone who "
                        "reaches this host could chat with the model. Remove CHAINLIT_LOGIN, or publish on "
                        "127.0.0.1 only")
            return None
        if not self.password.strip():
            return ("no login password: set CHAINLIT_ADMIN_PASSWORD (`fldeploy render` writes one to the "
                    "stack's .env), or set CHAINLIT_LOGIN=off to run without login on a machine only you use")
        if self.password.strip().lower().startswith(PLACEHOLDER_PREFIX):
            return ("CHAINLIT_ADMIN_PASSWORD is still the example placeholder: put a real password in .env "
                    "(`fldeploy render` generates one)")
        secret = self.auth_secret.strip()
        if not secret or secret.lower().startswith(PLACEHOLDER_PREFIX) or len(secret) < MIN_SECRET_CHARS:
            what = "no" if not secret else "a placeholder or short (under 32 characters)"
            return (f"{what} CHAINLIT_AUTH_SECRET: it signs the login cookie, so anyone who can guess it can sign "
                    "in. `fldeploy render` writes one to the stack's .env; `chainlit create-secret` makes one")
        return None

    def check(self, username: str, password: str) -> bool:
        """The login: both compared in constant time, both always compared."""
        user_ok = hmac.compare_digest(username.encode("utf-8"), self.user.encode("utf-8"))
        password_ok = hmac.compare_digest(password.encode("utf-8"), self.password.encode("utf-8"))
        return self.login and bool(self.password) and user_ok and password_ok

    def origin_allowed(self, origin: str | None, environ: Mapping[str, str] | None = None) -> bool:
        """python-engineio's cors_allowed_origins callable: may a page of this origin open the socket?
        Listed origins always; the app's own address (as the Host header names it) only when published
        publicly, where users reach it under names fldeploy cannot know."""
        if not origin:
            return False
        try:
            origin = normalize_origin(origin)
        except ValueError:
            return False  # "null" (sandboxed frames, file:// pages) and other non-origins
        if origin in self.origins:
            return True
        if not self.public or not environ:
            return False
        # The scheme is not compared: behind a TLS proxy that sends no X-Forwarded-Proto the app sees http
        # while the page is https; a page on the app's own host and port is the app's, whatever its scheme.
        hosts = {environ.get(name, "").split(",")[0].strip().lower()
                 for name in ("HTTP_HOST", "HTTP_X_FORWARDED_HOST")} - {""}
        return urlsplit(origin).netloc in hosts
