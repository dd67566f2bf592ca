"""Who may use the Chainlit app (deploy/chainlit/access.py): the login, the origins allowed to open its socket,
and the configurations it refuses to start with."""
from __future__ import annotations

import sys

import pytest

from ..support.fixtures import ROOT

sys.path.insert(0, str(ROOT / "deploy" / "chainlit"))
from access import Access, normalize_origin  # noqa: E402

pytestmark = pytest.mark.unit

GOOD = {"CHAINLIT_ADMIN_PASSWORD": "pw-0123456789", "CHAINLIT_AUTH_SECRET": "s" * 64}


def access(port: int = 8080, **env: str) -> Access:
    return Access.from_env({**GOOD, **env}, port)


def test_defaults_are_login_on_and_the_apps_own_loopback_origins():
    a = access(8123)
    assert a.login and a.user == "admin" and not a.public
    assert a.origins == ("http://127.0.0.1:8123", "http://localhost:8123")
    assert a.problem() is None


def test_the_login_checks_user_and_password():
    a = access()
    assert a.check("admin", "pw-0123456789")
    assert not a.check("admin", "pw-012345678") and not a.check("admin", "") and not a.check("root", "pw-0123456789")
    assert access(CHAINLIT_ADMIN_USER="alice").check("alice", "pw-0123456789")
    assert not Access.from_env({"CHAINLIT_LOGIN": "off"}, 8080).check("admin", ""), "no password never signs in"


@pytest.mark.parametrize("env,says", [
    ({"CHAINLIT_ADMIN_PASSWORD": ""}, "no login password: set CHAINLIT_ADMIN_PASSWORD"),
    ({"CHAINLIT_ADMIN_PASSWORD": "   "}, "no login password"),
    ({"CHAINLIT_ADMIN_PASSWORD": "change-me"}, "placeholder"),
    ({"CHAINLIT_AUTH_SECRET": ""}, "no CHAINLIT_AUTH_SECRET"),
    ({"CHAINLIT_AUTH_SECRET": "change-me"}, "a placeholder or short (under 32 characters) CHAINLIT_AUTH_SECRET"),
    ({"CHAINLIT_AUTH_SECRET": "s" * 31}, "short"),
    ({"CHAINLIT_LOGIN": "off", "PUBLIC": "true"}, "CHAINLIT_LOGIN=off on an app published on all interfaces"),
    ({"ALLOW_ORIGINS": "*"}, "ALLOW_ORIGINS: '*' is not an origin"),
    ({"ALLOW_ORIGINS": "http://127.0.0.1:8080,example.org"}, "'example.org' is not an origin"),
    ({"ALLOW_ORIGINS": "http://127.0.0.1:8080/chat"}, "is not an origin"),
])
def test_refuses_to_start_without_a_usable_login_or_with_open_origins(env, says):
    assert says in (access(**env).problem() or "")


def test_login_off_is_an_explicit_choice_on_loopback_only():
    assert Access.from_env({"CHAINLIT_LOGIN": "off"}, 8080).problem() is None
    assert not Access.from_env({"CHAINLIT_LOGIN": "off"}, 8080).login
    assert Access.from_env({"CHAINLIT_LOGIN": "on"}, 8080).problem().startswith("no login password")


@pytest.mark.parametrize("origin,allowed", [
    ("http://127.0.0.1:8080", True),
    ("http://localhost:8080", True),
    ("http://LOCALHOST:8080/", True),
    ("http://127.0.0.1:8081", False),  # another port of the same host: same site for cookies, not the same origin
    ("http://127.0.0.1", False),
    ("https://127.0.0.1:8080", False),
    ("https://evil.example", False),
    ("null", False),
    ("", False),
    (None, False),
])
def test_only_listed_origins_may_open_the_socket(origin, allowed):
    own_host = {"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8081"}
    assert access().origin_allowed(origin, own_host) is allowed


def test_published_publicly_the_apps_own_address_is_accepted_too():
    public = access(PUBLIC="true")
    lan = {"wsgi.url_scheme": "http", "HTTP_HOST": "chat.lan:8080"}
    assert public.origin_allowed("http://chat.lan:8080", lan)
    assert not public.origin_allowed("http://evil.example", lan)
    assert not public.origin_allowed("http://chat.lan:9999", lan)
    proxied = {"wsgi.url_scheme": "http", "HTTP_HOST": "chainlit:8080", "HTTP_X_FORWARDED_PROTO": "https",
               "HTTP_X_FORWARDED_HOST": "chat.example.org"}
    assert public.origin_allowed("https://chat.example.org", proxied)
    tls_proxy = {"wsgi.url_scheme": "http", "HTTP_HOST": "chat.example.org"}  # no X-Forwarded-Proto
    assert public.origin_allowed("https://chat.example.org", tls_proxy)
    assert not public.origin_allowed("https://chat.example.org.evil.example", tls_proxy)
    assert not access().origin_allowed("http://chat.lan:8080", lan), "on loopback only the listed origins"


def test_configured_origins_are_normalized_as_browsers_send_them():
    a = access(ALLOW_ORIGINS=" https://Chat.Example.org:443/ , http://127.0.0.1:8080,http://127.0.0.1:8080")
    assert a.origins == ("https://chat.example.org", "http://127.0.0.1:8080")
    assert normalize_origin("http://[::1]:8080") == "http://[::1]:8080"
    with pytest.raises(ValueError):
        normalize_origin("http://user@host:8080")
