"""The pure rules of core/validate.py for setting values that reach Docker or a file."""
from __future__ import annotations

import pytest

from fldeploy.core import validate as v

pytestmark = pytest.mark.unit


def refused(check, value: str) -> v.Invalid:
    with pytest.raises(v.Invalid) as err:
        check(value)
    assert err.value.problem and err.value.fix
    return err.value


@pytest.mark.parametrize("char", ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
                                  "\x00", "\x1b", "\x7f", "\u202e", "\u200b", "\udcff"])
def test_text_refuses_every_line_breaking_or_invisible_character(char):
    # everything str.splitlines() splits on, plus NUL, ESC, DEL, a bidi override, a zero-width space and a
    # lone surrogate (how Python shows environment bytes that were not UTF-8)
    err = refused(v.text, f"k{char}WEBUI_SECRET_KEY=attacker")
    assert f"U+{ord(char):04X}" in err.problem
    assert v.control_character(f"a{char}") is not None


@pytest.mark.parametrize("value", ["", "sk-$HOME ${X} 'q' \"d\" back\\slash", "ünïcødé 日本語 🚀", "a\u00a0b", "#x"])
def test_text_accepts_printable_text(value):
    v.text(value)
    assert v.control_character(value) is None


def test_text_refuses_absurd_length():
    assert "characters long" in refused(v.text, "x" * (v.MAX_TEXT + 1)).problem


@pytest.mark.parametrize("name", ["open-webui-data", "ab", "A1", "x.y_z-1", "0data"])
def test_volume_names_docker_accepts(name):
    v.volume_name(name)


@pytest.mark.parametrize("name", ["/home/someone", "./data", "~/data", "a", "-data", ".data", "_data", "da ta",
                                  "data/x", "dätä", ""])
def test_volume_names_docker_refuses_or_that_would_bind_mount(name):
    err = refused(v.volume_name, name)
    assert "open-webui-data" in err.fix
    if name.startswith(("/", ".", "~")):
        assert "bind-mount" in err.problem


@pytest.mark.parametrize("name", ["fldeploy", "a", "0", "my_stack-2", "flt1234abcd"])
def test_project_names_compose_accepts(name):
    v.project_name(name)


@pytest.mark.parametrize("name", ["My Stack", "Upper", "-x", "_x", "a.b", "", "a/b", "ä"])
def test_project_names_compose_refuses(name):
    assert "lowercase" in refused(v.project_name, name).fix


@pytest.mark.parametrize("ref", [
    "ghcr.io/open-webui/open-webui:v0.12.4", "alpine/socat:1.8.0.3", "fldeploy/chainlit:0.1.0", "busybox",
    "fldeploy-local/debian:bookworm", "localhost:5000/x/y:tag", "registry.example.com:443/a/b",
    "[::1]:5000/img:1", "a__b/c--d.e_f:latest_1.2-x", "Registry.Example.COM/lower/name:TAG",
    "img@sha256:" + "a" * 64, "img:1@sha256:" + "0" * 64,
])
def test_image_references_docker_accepts(ref):
    v.image_reference(ref)


@pytest.mark.parametrize("ref", [
    "ghcr.io/x/Y:latest", "Busybox", "img:", "img:-tag", "img:" + "t" * 129, "img@sha256:abc", "img:tag:more",
    "/img", "img/", "a//b", "img tag", "http://ghcr.io/img", "a" * 256, "", "img;rm -rf /", "-img",
])
def test_image_references_docker_refuses(ref):
    assert "ghcr.io/open-webui/open-webui" in refused(v.image_reference, ref).fix


@pytest.mark.parametrize("url", ["http://127.0.0.1:5273", "https://foundry.example.com/v1", "localhost:5273/v1/",
                                 "http://[::1]:5273", "http://[fe80::1%25eth0]:5273", "http://host.docker.internal",
                                 "http://user:pw@127.0.0.1:5273"])
def test_base_urls_accepted(url):
    v.base_url(url)


@pytest.mark.parametrize("url, part", [
    ("file:///etc/passwd", "not file:"), ("ftp://host/", "not ftp:"), ("javascript:alert(1)", "not a URL"),
    ("http://[::1", "brackets"), ("http://::1:5273", "in brackets"), ("http://[nothost]:1", "IPv6"),
    ("http://", "no host"), ("http://:5273", "no host"), ("http://host:99999", "not a URL"),
    ("http://host:0", "port 0"), ("http://host:abc", "not a URL"), ("http://ho st:1", "space"),
    ("http://host:1/v1?x=1", "query"), ("http://host:1/#frag", "query or fragment"), ("http://h$st:1", "invalid host"),
])
def test_base_urls_refused(url, part):
    err = refused(v.base_url, url)
    assert part in err.problem, err.problem


def test_catalog_url_needs_its_scheme():
    v.http_url("https://catalog.example.com/api/v1?region=x")
    assert "http:// or https://" in refused(v.http_url, "catalog.example.com:443").problem
    assert "not file:" in refused(v.http_url, "file:///tmp/catalog.json").problem


@pytest.mark.parametrize("email", ["admin@fldeploy.local", "first.last+tag@example.co.uk", "admin@localhost"])
def test_emails_accepted(email):
    v.email(email)


@pytest.mark.parametrize("email", ["admin", "@x.y", "a@", "a@@b.c", "a b@c.d", "a@b_c.d", "a@-b.c", "a@b.c.",
                                   "<a@b.c>", "a@b.c,d@e.f"])
def test_emails_refused(email):
    refused(v.email, email)


@pytest.mark.parametrize("value", ["open-webui", "open-webui,chainlit", " chainlit , webgpu-demo ", "open-webui,"])
def test_services_accepted(value):
    v.services(value)


@pytest.mark.parametrize("value, part", [("nope", "'nope'"), ("open-webui,ollama", "'ollama'"), (",", "no service"),
                                         ("", "no service")])
def test_services_refused(value, part):
    err = refused(v.services, value)
    assert part in err.problem and "open-webui, chainlit, webgpu-demo" in err.fix


def test_nonempty():
    v.nonempty("x")
    refused(v.nonempty, "  ")
