"""Hostile settings through the real CLI: values that would inject into .env or reach Docker as something
else, settings files built to hang or crash the parser. Each is refused with exit 3, the source (flag, env
variable, file:line) and the fix — never a traceback, never a file written. And .env round-trips exactly
through the real `docker compose config`."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import pytest

from fldeploy.core.compose_model import dotenv_text, parse_dotenv

from ..support.fixtures import ROOT
from ..unit.test_dotenv import HOSTILE

OFFLINE = ("--foundry-url", "http://127.0.0.1:1", "--model", "phi-4-mini-instruct-generic-cpu:5")


def assert_refused(run, *parts: str, code: int = 3) -> None:
    assert run.code == code, f"exit {run.code}\n{run.out}\n{run.err}"
    assert "Traceback" not in run.out + run.err, run.err
    for part in parts:
        assert part in run.err, f"{part!r} not in {run.err!r}"


def compose_environment(directory, names: list[str]) -> dict:
    """What the real `docker compose config` reads from directory/.env into a service's environment."""
    done = subprocess.run(["docker", "compose", "--project-directory", str(directory), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in names})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["services"]["probe"]["environment"]


# --- .env: what Compose reads back is exactly what was meant -----------------------------------------

def test_dotenv_round_trips_hostile_values_through_docker_compose_config(tmp_path):
    values = {f"FLDT_V{i}": value for i, value in enumerate(HOSTILE)}
    (tmp_path / ".env").write_text(dotenv_text(values, "0.1.0"), encoding="utf-8")
    environment = {name: "${" + name + "}" for name in values}
    (tmp_path / "compose.yaml").write_text(json.dumps({"services": {"probe": {"image": "busybox",
                                                                               "environment": environment}}}))
    got = compose_environment(tmp_path, list(values))
    # `config` prints a literal $ as $$ (so its output is a valid Compose file again)
    assert {k: (v or "").replace("$$", "$") for k, v in got.items()} == values
    assert parse_dotenv((tmp_path / ".env").read_text(encoding="utf-8")) == values


def test_api_key_cannot_inject_a_variable_into_env(fl, tmp_path):
    out = tmp_path / "stack"
    injected = "k\rWEBUI_SECRET_KEY=attacker"
    for _ in range(2):  # the second render read back the injected line as a kept secret
        run = fl("render", *OFFLINE, "--out", str(out), API_KEY=injected)
        assert_refused(run, "API_KEY: api_key contains U+000D (a control character)")
    assert not (out / ".env").exists()
    assert "attacker" not in run.out + run.err, "a secret is never echoed"


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"])
def test_every_line_break_python_knows_is_refused_in_env_values(fl, tmp_path, char):
    run = fl("render", *OFFLINE, "--out", str(tmp_path / "stack"), FLDEPLOY_API_KEY=f"k{char}X=1")
    assert_refused(run, f"FLDEPLOY_API_KEY: api_key contains U+{ord(char):04X}")


@pytest.mark.parametrize("key", ["sk-\"d\" $HOME ${X} # not a comment \\", "sk-'q' \\", "\\"])
def test_api_key_with_quotes_and_a_trailing_backslash_reaches_compose_exactly(fl, tmp_path, key):
    out = tmp_path / "stack"
    run = fl("render", *OFFLINE, "--services", "open-webui", "--out", str(out), "--json", FLDEPLOY_API_KEY=key)
    assert run.code == 0, run.err
    got = compose_environment_of(out)
    assert got["OPENAI_API_KEY"].replace("$$", "$") == key


def compose_environment_of(out) -> dict:
    done = subprocess.run(["docker", "compose", "--project-directory", str(out), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["services"]["open-webui"]["environment"]


def test_env_is_private_even_when_it_was_left_readable(fl, tmp_path):
    out = tmp_path / "stack"
    assert fl("render", *OFFLINE, "--out", str(out)).code == 0
    (out / ".env").chmod(0o644)
    again = fl("render", *OFFLINE, "--out", str(out), "--json")
    assert again.code == 0 and again.json["data"]["written"] == []
    assert stat.S_IMODE(os.stat(out / ".env").st_mode) == 0o600


# --- placeholder secrets ---------------------------------------------------------------------------

def test_render_refuses_a_copied_env_example_and_says_how_to_fix(fl, tmp_path):
    out = tmp_path / "stack"
    out.mkdir()
    example = (ROOT / "compose/.env.example").read_text()
    (out / ".env").write_text(example)  # compose/README: cp .env.example .env
    run = fl("render", *OFFLINE, "--out", str(out))
    assert_refused(run, "keeps placeholder secrets (WEBUI_SECRET_KEY, OPENWEBUI_ADMIN_PASSWORD",
                   f"delete {out / '.env'}", "openssl rand -hex 32")
    assert (out / ".env").read_text() == example and not (out / "compose.yaml").exists()


def test_up_refuses_to_start_a_stack_with_placeholder_secrets(fl, env, foundry, tmp_path):
    out = tmp_path / "stack"
    out.mkdir()
    (out / ".env").write_text((ROOT / "compose/.env.example").read_text())
    run = fl("up", "--services", "open-webui", "--foundry-url", foundry.url, FLDEPLOY_STACK_DIR=str(out),
             timeout=300)
    assert_refused(run, "placeholder secrets", "openssl rand -hex 32")
    started = subprocess.run(["docker", "ps", "-aq", "--filter",
                              f"label=com.docker.compose.project={env['FLDEPLOY_PROJECT']}"],
                             capture_output=True, text=True)
    assert started.stdout.strip() == "", "nothing was started"


# --- values that reach Docker ------------------------------------------------------------------------

@pytest.mark.parametrize("variable, value, part", [
    ("FLDEPLOY_VOLUME", "/home/someone", "FLDEPLOY_VOLUME: volume is not a Docker volume name (a path would "
                                         "bind-mount that host folder)"),
    ("FLDEPLOY_PROJECT", "My Stack", "FLDEPLOY_PROJECT: project is not a Compose project name"),
    ("FLDEPLOY_OPENWEBUI_IMAGE", "ghcr.io/open-webui/Open-WebUI:main", "is not a Docker image reference"),
    ("FLDEPLOY_BASE_IMAGE", "debian:bookworm --privileged", "is not a Docker image reference"),
    ("FLDEPLOY_ADMIN_EMAIL", "admin\x85@fldeploy.local", "admin_email contains U+0085"),
    ("FLDEPLOY_ADMIN_EMAIL", "admin", "admin_email is not an email address"),
    ("FLDEPLOY_SERVICES", "open-webui,ollama", "services names unknown services: 'ollama'"),
    ("FLDEPLOY_MODEL", "phi\u2028x", "model contains U+2028"),
    ("FLDEPLOY_MODEL", "phi\udcff", "model contains U+DCFF (bytes that are not valid UTF-8)"),
    ("FLDEPLOY_CATALOG_URL", "file:///etc/passwd", "catalog_url must be an http:// or https:// URL, not file:"),
])
def test_values_that_reach_docker_or_a_file_are_checked(fl, tmp_path, variable, value, part):
    out = tmp_path / "stack"
    run = fl("render", *OFFLINE[:2], "--out", str(out), **{"FLDEPLOY_MODEL": OFFLINE[3], variable: value})
    assert_refused(run, part, "fix:")
    assert not out.exists(), "nothing is written"
    assert fl("config", **{variable: value}).code == 3, "every verb reads the same settings"


@pytest.mark.parametrize("url, part", [("file:///etc/passwd", "must be an http:// or https:// URL, not file:"),
                                        ("http://[::1", "is not a URL (Invalid IPv6 URL; write IPv6 addresses in "
                                                        "brackets: http://[::1]:5273)"),
                                        ("http://127.0.0.1:99999", "is not a URL")])
@pytest.mark.parametrize("lean", [True, False])
def test_a_bad_foundry_url_is_a_config_error_not_a_traceback(fl, url, part, lean):
    extra = {} if lean else {"FLDEPLOY_NO_LEAN_PATH": "1"}
    assert_refused(fl("ports", "--foundry-url", url, **extra), f"--foundry-url: foundry_url {part}")
    assert_refused(fl("ports", **extra, BASE_URL=url), f"BASE_URL: foundry_url {part}")
    doctor = fl("doctor", "--json", "--foundry-url", url)
    assert doctor.code == 3 and doctor.json["errors"][0]["message"].startswith(f"--foundry-url: foundry_url {part}")


@pytest.mark.parametrize("port", ["70000", "0", "65536"])
@pytest.mark.parametrize("lean", [True, False])
def test_ports_outside_1_to_65535_are_refused_everywhere(fl, port, lean):
    extra = {} if lean else {"FLDEPLOY_NO_LEAN_PATH": "1"}
    run = fl("ports", port, **extra)
    assert_refused(run, "Invalid value", code=2)
    assert "free" not in run.out
    assert_refused(fl("ports", "--openwebui-port", port, **extra), "openwebui_port must be between 1 and 65535")


# --- hostile settings files ----------------------------------------------------------------------------

ALIAS_BOMB = "model:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def write_config(tmp_path, text: str | bytes):
    path = tmp_path / "fldeploy.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_alias_bomb_is_refused_at_once(fl, tmp_path):
    path = write_config(tmp_path, ALIAS_BOMB)
    start = time.monotonic()
    run = fl("config", timeout=20)  # before: > 20 s and gigabytes, the error message expanding the bomb
    assert time.monotonic() - start < 10
    assert_refused(run, f"{path}:2: YAML anchors and aliases (&name, *name) are not allowed")
    assert len(run.err) < 1000


@pytest.mark.parametrize("text, part", [
    (b"project: x\n# caf\xe9\n", ":2: not UTF-8 text (byte 0xe9)"),
    ("model: !!python/object/apply:os.system ['touch pwned']\n", ":1: model has the YAML tag"),
    ("chainlit_port: " + "1" * 4301 + "\n", ":1: chainlit_port is a number 4301 characters long"),
    ("model: !!python/name:os.system\n", ":1: model has the YAML tag"),
    ("admin_email: ~\n", ":1: admin_email has no value (YAML null)"),
    ("api_key:\n", ":1: api_key has no value (YAML null)"),
    ("api_key: 0123\n", ":1: api_key must be a string, but YAML reads the unquoted value as a number"),
    ("model: yes\n", ":1: model must be a string, but YAML reads the unquoted 'yes' as true/false"),
    ("openwebui_port: 070000\n", ":1: openwebui_port is written '070000', which YAML reads as 28672"),
    ("model: " + "[" * 20000 + "\n", ":1: nested more than"),
    ("{[a]: 1}\n", ":1: unknown setting a sequence used as a key"),
    ("project: a\x01b\n", ":1: malformed YAML"),
    ("# padding\n" * 7000, ": larger than 64 KiB"),
])
def test_hostile_settings_files_are_config_errors_with_file_and_line(fl, tmp_path, text, part):
    path = write_config(tmp_path, text)
    assert_refused(fl("config", timeout=30), f"{path}{part}", "fix:")
    assert_refused(fl("ports", timeout=30), f"{path}{part}")
    assert not os.path.exists(tmp_path / "pwned")


def test_quote_it_says_how_and_quoted_values_are_read_as_written(fl, tmp_path):
    write_config(tmp_path, "model: 0123\n")
    assert_refused(fl("config"), "quote it: model: '0123'")
    write_config(tmp_path, "api_key: 0123\n")
    run = fl("config")
    assert_refused(run, "quote it: api_key: '...'")
    assert "0123" not in run.err and "83" not in run.err, "a secret is never echoed"
    write_config(tmp_path, "model: '0123'\napi_key: '0123'\nadmin_email: \"yes@example.org\"\n")
    settings = {row["name"]: row for row in fl("config", "--json").json["data"]["settings"]}
    assert settings["model"]["value"] == "0123" and settings["admin_email"]["value"] == "yes@example.org"


def test_json_envelope_of_a_config_error(fl, tmp_path):
    path = write_config(tmp_path, "volume: /home/someone\n")
    run = fl("render", *OFFLINE, "--json", FLDEPLOY_VOLUME="")
    assert run.code == 3
    error = run.json["errors"][0]
    assert error["message"].startswith(f"{path}:1: volume is not a Docker volume name")
    assert "open-webui-data" in error["hint"]
