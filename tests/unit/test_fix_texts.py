"""The one table of fix texts: every (platform, engine) pair has every fix, each names commands that exist on
that platform, and none tells a Windows or macOS user to run sudo, apt, systemctl or iptables."""
from __future__ import annotations

import re

import pytest

from fldeploy.core import fix_texts as ft
from fldeploy.core import verdicts as v
from fldeploy.core import verdicts_stack as vs
from fldeploy.core.foundry_rules import Discovery

pytestmark = pytest.mark.unit

PAIRS = [(platform, engine) for platform in ft.PLATFORMS for engine in ft.ENGINES]
# the first word of every command a fix may tell a user to run, per platform
COMMANDS = {
    "windows": {"foundry", "fldeploy", "winget", "Start-Process", "wsl", "podman", "docker", "curl.exe"},
    "macos": {"foundry", "fldeploy", "brew", "open", "colima", "orb", "podman", "docker", "curl"},
    "linux": {"foundry", "fldeploy", "sudo", "systemctl", "docker", "pip", "colima", "export", "curl"},
}
LINUX_ONLY = re.compile(r"\b(sudo|apt|apt-get|systemctl|iptables|ufw|dockerd|usermod)\b")


def commands_in(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def every_fix(platform: str, engine: str, cli=None) -> dict[str, str]:
    return {key: ft.fix(key, platform, engine, cli, port=5273) for key in ft.KEYS}


def test_the_table_has_every_pair_and_every_key():
    assert set(ft.TABLE) == set(PAIRS)
    assert all(set(texts) == set(ft.KEYS) for texts in ft.TABLE.values())
    assert set(ft.KEYS) >= {"foundry.start", "foundry.restart", "foundry.logs", "foundry.load", "docker.start",
                            "docker.compose", "container.refused", "container.timeout"}


@pytest.mark.parametrize("platform, engine", PAIRS)
@pytest.mark.parametrize("cli", [None, "server", "service"])
def test_each_fix_names_commands_of_its_platform(platform, engine, cli):
    for key, text in every_fix(platform, engine, cli).items():
        commands = commands_in(text)
        assert commands, f"{platform}/{engine} {key}: no command to run in {text!r}"
        for command in commands:
            assert command.split()[0] in COMMANDS[platform], f"{platform}/{engine} {key}: {command!r}"
        assert "{" not in text and "}" not in text, f"{platform}/{engine} {key}: unfilled {text!r}"


@pytest.mark.parametrize("platform, engine", [(p, e) for p, e in PAIRS if p != "linux"])
def test_no_linux_commands_outside_linux(platform, engine):
    for key, text in every_fix(platform, engine).items():
        assert not LINUX_ONLY.search(text), f"{platform}/{engine} {key}: {text!r}"


@pytest.mark.parametrize("engine", ft.ENGINES)
def test_windows_texts_run_in_windows_powershell(engine):
    """Windows PowerShell 5.1 has no `&&`, and its `curl` is Invoke-WebRequest, not curl."""
    for key, text in every_fix("windows", engine).items():
        for command in commands_in(text):
            assert "&&" not in command and not command.startswith("curl "), f"{key}: {command!r}"


def test_linux_native_keeps_the_engine_firewall_and_relay_fixes():
    fixes = every_fix("linux", "native")
    assert "sudo systemctl start docker" in fixes["docker.start"] and "group docker" in fixes["docker.start"]
    assert "docker-compose-plugin" in fixes["docker.compose"]
    assert "iptables -I INPUT -d 172.17.0.1 -p tcp --dport 5273 -j ACCEPT" in fixes["container.timeout"]
    assert "relay" in fixes["container.refused"]


@pytest.mark.parametrize("platform, engine, expected", [
    ("windows", "desktop", "Docker Desktop.exe"), ("windows", "podman", "podman machine start"),
    ("windows", "native", "wsl -u root service docker start"), ("macos", "desktop", "open -a Docker"),
    ("macos", "colima", "colima start"), ("macos", "orbstack", "orb start"),
    ("macos", "podman", "podman machine start"), ("linux", "podman", "systemctl --user start podman.socket"),
    ("linux", "desktop", "systemctl --user start docker-desktop"),
])
def test_starting_the_engine_names_its_own_way(platform, engine, expected):
    assert expected in ft.fix("docker.start", platform, engine)


@pytest.mark.parametrize("platform, install", [("windows", "winget install Microsoft.FoundryLocal"),
                                               ("macos", "brew install foundrylocal")])
def test_foundry_on_windows_and_macos_is_started_with_its_cli(platform, install):
    text = ft.fix("foundry.start", platform)
    assert install in text and "fldeploy foundry start" not in text


def test_the_cli_generation_that_answered_is_the_one_named():
    assert ft.fix("foundry.start", "windows", cli="server").startswith("start it: `foundry server start`;")
    assert "foundry service" not in ft.fix("foundry.start", "windows", cli="server")
    assert ft.fix("foundry.load", "macos", cli="service") == "load one: `foundry model run phi-4-mini`"
    load = ft.fix("foundry.load", "macos", cli="server")
    assert load == "load one: `foundry model download phi-4-mini`, then `foundry model load phi-4-mini`"
    both = ft.fix("foundry.restart", "windows")
    assert "`foundry server restart` (CLI 0.10+)" in both and "`foundry service restart` (earlier CLI)" in both


@pytest.mark.parametrize("sys_platform, name", [("win32", "windows"), ("cygwin", "windows"), ("darwin", "macos"),
                                                ("linux", "linux"), ("freebsd14", "linux")])
def test_platform_name(sys_platform, name):
    assert ft.platform_name(sys_platform) == name


@pytest.mark.parametrize("engine, platform, column", [
    ({"reachable": True, "desktop": True, "os": "Docker Desktop"}, "windows", "desktop"),
    ({"reachable": True, "podman": True, "os": "fedora"}, "macos", "podman"),
    ({"reachable": True, "kind": "podman-machine"}, "windows", "podman"),
    ({"reachable": True, "kind": "rancher-desktop"}, "macos", "desktop"),
    ({"reachable": True, "kind": "colima"}, "macos", "colima"),
    ({"reachable": True, "os": "OrbStack", "host": "unix:///Users/a/.orbstack/run/docker.sock"}, "macos", "orbstack"),
    ({"reachable": False, "host": "unix:///Users/a/.colima/default/docker.sock"}, "macos", "colima"),
    ({"reachable": False, "host": "unix:///run/user/1000/podman/podman.sock"}, "linux", "podman"),
    ({"reachable": True, "os": "Debian GNU/Linux 12 (bookworm)"}, "linux", "native"),
    ({"reachable": False, "host": "unix:///var/run/docker.sock"}, "linux", "native"),
    ({"reachable": False, "host": "npipe:////./pipe/docker_engine"}, "windows", "desktop"),
    (None, "macos", "desktop"),
])
def test_fix_engine(engine, platform, column):
    assert ft.fix_engine(engine, platform) == column


@pytest.mark.parametrize("platform, engine, through", [
    ("linux", "native", False), ("linux", "podman", False), ("linux", "desktop", True), ("linux", None, False),
    ("macos", "podman", True), ("windows", None, True), ("macos", "colima", True),
])
def test_through_vm(platform, engine, through):
    assert ft.through_vm(platform, engine) is through


# --- the verdicts take their fixes from the table ------------------------------------------------------

def test_docker_engine_fix_follows_the_host_platform_and_engine():
    engine = {"reachable": False, "host": "unix:///Users/a/.colima/default/docker.sock", "error": "no such file",
              "host_platform": "macos"}
    out = v.docker_engine(engine)
    assert out.status == "fail" and "colima start" in out.fix and not LINUX_ONLY.search(out.fix)


def test_docker_compose_fix_follows_the_host_platform_and_engine():
    out = v.docker_compose({"present": False, "error": "not a docker command", "host_platform": "windows",
                            "host_engine": "desktop"})
    assert "update Docker Desktop" in out.fix and "apt" not in out.fix


def test_foundry_fixes_follow_the_discovery_platform_and_cli():
    nothing = Discovery(None, None, [], {}, [], platform="windows", cli="server")
    out = v.foundry_endpoint(nothing)
    assert out.status == "fail" and "`foundry server start`" in out.fix and "fldeploy foundry" not in out.fix


def test_container_probe_fixes_follow_the_host():
    timeout = {"outcome": "timeout", "url": "http://host.docker.internal:5273/v1", "resolved": "192.168.65.254"}
    on_linux = vs.foundry_from_container(timeout)
    assert "firewall" in on_linux.cause and "iptables -I INPUT -d 192.168.65.254" in on_linux.fix
    on_mac = vs.foundry_from_container({**timeout, "host_platform": "macos", "host_engine": "desktop"})
    assert "iptables" not in on_mac.fix and "curl -m 4 http://127.0.0.1:5273/v1/models" in on_mac.fix
    refused = vs.foundry_from_container({**timeout, "outcome": "refused", "host_platform": "windows"})
    assert "nothing listens there on the host" in refused.cause and "`fldeploy up`" in refused.fix
