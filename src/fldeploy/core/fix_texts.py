"""The one table of fix texts, per host platform (windows, macos, linux) and Docker engine kind (native,
desktop, colima, orbstack, podman): what doctor tells a user to run names commands of their platform — no
`sudo`, `apt-get`, `systemctl` or iptables outside Linux. Pure: the platform and the engine come in as data."""
from __future__ import annotations

from .engine_kind import (COLIMA, DOCKER, DOCKER_DESKTOP, ORBSTACK, PODMAN, PODMAN_MACHINE, RANCHER_DESKTOP,
                          classify)
from .foundry_rules import CLI_VERBS

PLATFORMS = ("windows", "macos", "linux")
ENGINES = ("native", "desktop", "colima", "orbstack", "podman")
# core.engine_kind's kinds -> the engines of this table (Rancher Desktop's VM behaves as Docker Desktop's)
_COLUMNS = {DOCKER: "native", DOCKER_DESKTOP: "desktop", RANCHER_DESKTOP: "desktop", COLIMA: "colima",
            ORBSTACK: "orbstack", PODMAN: "podman", PODMAN_MACHINE: "podman"}


def platform_name(sys_platform: str) -> str:
    """sys.platform -> windows | macos | linux (other Unixes get Linux's texts)."""
    if sys_platform.startswith(("win", "cygwin", "msys")):
        return "windows"
    return "macos" if sys_platform == "darwin" else "linux"


def fix_engine(engine: dict | None, platform: str) -> str:
    """The table's engine for the engine facts: their kind (core.engine_kind, by its classifier); an engine that
    did not answer by the socket it was looked for at, else the platform's usual engine."""
    facts = engine or {}
    kind = facts.get("kind") or (PODMAN if facts.get("podman") else DOCKER_DESKTOP if facts.get("desktop") else None)
    if not kind and "podman" in str(facts.get("host") or "").lower():
        kind = PODMAN
    if not kind:
        kind, _ = classify({}, {"OperatingSystem": facts.get("os") or ""}, facts.get("host"), platform == "linux")
    return _COLUMNS.get(kind, "native")


def through_vm(platform: str, engine: str | None) -> bool:
    """Do containers reach the host through the engine's VM, which forwards host.docker.internal to the host's
    loopback (Docker Desktop, Colima, OrbStack, a Podman machine), rather than over a Linux bridge?"""
    engine = engine if engine in ENGINES else fix_engine(None, platform)
    return platform != "linux" or engine in ("desktop", "colima", "orbstack")


def _cli(verb: str, cli: str | None) -> str:
    """A verb of Foundry Local's CLI as code spans: the generation that answered, else both."""
    def spans(generation: str) -> str:
        return ", then ".join(f"`{command}`" for command in CLI_VERBS[generation][verb])
    if cli in CLI_VERBS:
        return spans(cli)
    return f"{spans('server')} (CLI 0.10+) or {spans('service')} (earlier CLI)"


# Foundry Local: per platform ({start}, {restart}, {load}, {logs}: the CLI's verbs; {model}: an alias)
_FOUNDRY = {
    "linux": {
        "foundry.start": "start it: `fldeploy foundry start --model {model}` (the embedded Foundry); with "
                         "Foundry Local's CLI: {start}",
        "foundry.restart": "restart Foundry: `fldeploy foundry stop && fldeploy foundry start --model <alias>` "
                           "or {restart}",
        "foundry.logs": "restart Foundry and read its log: `fldeploy foundry status` shows where it is; "
                        "Foundry Local's CLI: {logs}",
        "foundry.load": "load one: `fldeploy foundry start --model {model}`, or with the foundry CLI: {load}",
    },
    "windows": {
        "foundry.start": "start it: {start}; to install Foundry Local: `winget install Microsoft.FoundryLocal`",
        "foundry.restart": "restart Foundry: {restart}",
        "foundry.logs": "read its log: {logs}; restart it: {restart}",
        "foundry.load": "load one: {load}",
    },
    "macos": {
        "foundry.start": "start it: {start}; to install Foundry Local: `brew tap microsoft/foundrylocal` and "
                         "`brew install foundrylocal`, or the CLI 0.10 .pkg from its GitHub release",
        "foundry.restart": "restart Foundry: {restart}",
        "foundry.logs": "read its log: {logs}; restart it: {restart}",
        "foundry.load": "load one: {load}",
    },
}

_CHECK_CONTEXT = "check DOCKER_HOST and `docker context ls`"
_LINUX_COMPOSE = ("install the Compose v2 plugin: `sudo apt-get install docker-compose-plugin` (Docker's apt "
                  "repository), or `pip install 'fldeploy[compose]'` and link its docker-compose into "
                  "~/.docker/cli-plugins/")
_DESKTOP_COMPOSE = ("Docker Desktop ships Compose v2: update Docker Desktop (Settings, Software updates), then "
                    "`docker compose version`")
_BREW_COMPOSE = ("`brew install docker docker-compose`, then add $HOMEBREW_PREFIX/lib/docker/cli-plugins to "
                 "cliPluginsExtraDirs in ~/.docker/config.json (brew's note says so); check `docker compose "
                 "version`")
# containers reach the host's loopback through the engine's VM (Desktop, Colima, OrbStack, a Podman machine)
_VM_REFUSED = ("nothing listens on the host's port {port} any more (Foundry picks a new port on every start): "
               "`fldeploy up` renders the URL it answers at now")
_BRIDGE_REFUSED = ("`fldeploy up` adds a relay on the bridge; or `fldeploy foundry start` (listens on the "
                   "bridge)")
_BRIDGE_FIREWALL = ("allow it: `sudo iptables -I INPUT -d {gateway} -p tcp --dport {port} -j ACCEPT` (ufw: `sudo "
                    "ufw allow to {gateway} port {port} proto tcp`)")


def _vm_timeout(curl: str) -> str:
    return (f"see whether Foundry answers on the host: `{curl} -m 4 http://127.0.0.1:{{port}}/v1/models`; if "
            "it hangs there too see foundry.api, else restart the engine")


_LINUX_NATIVE = {
    "docker.start": "start it: `sudo systemctl start docker` (or `sudo dockerd &` without systemd); "
                    f"{_CHECK_CONTEXT}, and that your user may use the socket (group docker)",
    "docker.compose": _LINUX_COMPOSE,
    "container.refused": _BRIDGE_REFUSED,
    "container.timeout": _BRIDGE_FIREWALL,
}
_WINDOWS_DESKTOP = {
    "docker.start": "start Docker Desktop (Start menu, or PowerShell: `Start-Process \"$Env:ProgramFiles\\Docker"
                    "\\Docker\\Docker Desktop.exe\"`) and wait for Engine running; " + _CHECK_CONTEXT,
    "docker.compose": _DESKTOP_COMPOSE,
    "container.refused": _VM_REFUSED,
    "container.timeout": _vm_timeout("curl.exe"),
}
_MACOS_DESKTOP = {
    "docker.start": f"start Docker Desktop: `open -a Docker`, and wait for Engine running; {_CHECK_CONTEXT}",
    "docker.compose": _DESKTOP_COMPOSE,
    "container.refused": _VM_REFUSED,
    "container.timeout": _vm_timeout("curl"),
}

_ENGINE = {
    ("linux", "native"): _LINUX_NATIVE,
    ("linux", "desktop"): {**_LINUX_NATIVE, "docker.compose": _DESKTOP_COMPOSE, "container.refused": _VM_REFUSED,
                           "container.timeout": _vm_timeout("curl"),
                           "docker.start": "start Docker Desktop: `systemctl --user start docker-desktop`; "
                                           + _CHECK_CONTEXT},
    ("linux", "colima"): {**_LINUX_NATIVE, "container.refused": _VM_REFUSED, "container.timeout": _vm_timeout("curl"),
                          "docker.start": "start it: `colima start`, then `docker context use colima`"},
    # OrbStack runs on macOS only: an engine that calls itself so on Linux is treated as a native one
    ("linux", "orbstack"): _LINUX_NATIVE,
    ("linux", "podman"): {**_LINUX_NATIVE,
                          "docker.start": "start Podman's API socket: `systemctl --user start podman.socket`, and "
                                          "`export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock`"},
    ("windows", "native"): {**_WINDOWS_DESKTOP,
                            "docker.start": "start the engine where it runs: Docker Engine in WSL with `wsl -u root "
                                            "service docker start`, or Docker Desktop (Start menu); "
                                            + _CHECK_CONTEXT},
    ("windows", "desktop"): _WINDOWS_DESKTOP,
    # Colima and OrbStack do not run on Windows: an engine named so there is treated as Docker Desktop
    ("windows", "colima"): _WINDOWS_DESKTOP,
    ("windows", "orbstack"): _WINDOWS_DESKTOP,
    ("windows", "podman"): {**_WINDOWS_DESKTOP,
                            "docker.start": "start the Podman machine: `podman machine start` (Podman Desktop's "
                                            "Docker compatibility serves the docker_engine pipe); " + _CHECK_CONTEXT,
                            "docker.compose": "install Compose v2 with Podman Desktop (Settings, Resources, "
                                              "Compose), then `docker compose version`"},
    ("macos", "native"): {**_MACOS_DESKTOP,
                          "docker.start": "macOS runs no Docker engine itself: start one (`open -a Docker`, "
                                          f"`colima start` or `orb start`); {_CHECK_CONTEXT}"},
    ("macos", "desktop"): _MACOS_DESKTOP,
    ("macos", "colima"): {**_MACOS_DESKTOP, "docker.compose": _BREW_COMPOSE,
                          "docker.start": "start it: `colima start`, then `docker context use colima`"},
    ("macos", "orbstack"): {**_MACOS_DESKTOP,
                            "docker.compose": "OrbStack ships Compose v2: update OrbStack, then `docker compose "
                                              "version`",
                            "docker.start": "start OrbStack: `orb start`, then `docker context use orbstack`"},
    ("macos", "podman"): {**_MACOS_DESKTOP, "docker.compose": _BREW_COMPOSE,
                          "docker.start": "start the Podman machine: `podman machine start` (it prints the "
                                          "DOCKER_HOST to use when it cannot serve /var/run/docker.sock); "
                                          + _CHECK_CONTEXT},
}

# The one table: (platform, engine) -> {fix key: text with {placeholders}}
TABLE: dict[tuple[str, str], dict[str, str]] = {
    (platform, engine): {**_FOUNDRY[platform], **_ENGINE[(platform, engine)]}
    for platform in PLATFORMS for engine in ENGINES
}
KEYS = tuple(TABLE[("linux", "native")])


def fix(key: str, platform: str = "linux", engine: str | None = None, cli: str | None = None,
        **values: object) -> str:
    """The fix text for key on this platform and engine; cli: the foundry CLI generation that answered
    ("server", "service") or None (both are named); values fill {model}, {port}, {gateway}."""
    platform = platform if platform in PLATFORMS else "linux"
    engine = engine if engine in ENGINES else fix_engine(None, platform)
    filled = {"model": "phi-4-mini", "port": "<port>", "gateway": "172.17.0.1", **values}
    verbs = {verb: _cli(verb, cli).replace("{model}", str(filled["model"]))
             for verb in ("start", "restart", "load", "logs")}
    return TABLE[(platform, engine)][key].format(**verbs, **filled)
