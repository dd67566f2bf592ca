"""Which container engine answers, told apart from its own facts (pure): native Linux Docker, Docker Desktop,
Colima, OrbStack, Rancher Desktop, Podman (on Linux, or in a `podman machine` VM).

The kind decides how containers reach a Foundry on the host: the name they use for the host, whether the
engine provides that name itself (an `extra_hosts: host-gateway` entry would then override it with the VM's own
bridge: colima#277, #902, #949), whether the host's loopback is reachable through the VM's forwarding (so a
loopback-only Foundry needs no relay), and which host processes hold its published ports.

Where each fact's shape is documented or observed (cited in tests/unit/test_engine_kind.py):
  /version Platform.Name "Docker Desktop 4.x.y (build)", /info OperatingSystem "Docker Desktop", Name
  "docker-desktop", Labels ["com.docker.desktop.address=…"]; OrbStack: OperatingSystem "OrbStack", Name
  "orbstack", socket ~/.orbstack/run/docker.sock; Colima: Name "colima" (profile p: "colima-p"), socket
  ~/.colima/<profile>/docker.sock; Rancher Desktop: Name "lima-rancher-desktop", socket ~/.rd/docker.sock;
  Podman: /version Components [{"Name": "Podman Engine"}, …] (observed here, podman 4.3.1)."""
from __future__ import annotations

from typing import Mapping, NamedTuple

DOCKER = "docker"  # the native Linux engine: containers share the host's kernel and network stack
DOCKER_DESKTOP = "docker-desktop"
COLIMA = "colima"
ORBSTACK = "orbstack"
RANCHER_DESKTOP = "rancher-desktop"
PODMAN = "podman"
PODMAN_MACHINE = "podman-machine"
DOCKER_HOST_NAME = "host.docker.internal"
PODMAN_HOST_NAME = "host.containers.internal"


class Engine(NamedTuple):
    kind: str
    name: str  # as users know it
    host_name: str  # the name containers use for the host
    in_vm: bool  # containers run in a VM whose forwarding reaches the host's loopback
    provides_host_name: bool  # the engine resolves host_name itself: no extra_hosts entry
    forwarders: tuple[str, ...]  # host processes holding its published ports (lower case, no .exe)
    known: bool = True  # False: assumed (the engine did not answer, or was not recognised)
    init: bool = True  # has an init binary for `init: true` (docker-init; Podman: catatonit)
    gateways: tuple[str, ...] = ()  # its networks' gateways, where host_name leads (Podman)
    runs_healthchecks: bool | None = None  # False: Podman without systemd never runs them

    @property
    def relays_loopback(self) -> bool:
        """Only the native Linux Docker engine needs the socat relay for a loopback-only Foundry."""
        return self.kind == DOCKER


KINDS = {
    DOCKER: Engine(DOCKER, "Docker Engine", DOCKER_HOST_NAME, False, False, ("docker-proxy",)),
    DOCKER_DESKTOP: Engine(DOCKER_DESKTOP, "Docker Desktop", DOCKER_HOST_NAME, True, True,
                           ("com.docker.backend", "com.docker.vpnkit", "vpnkit", "vpnkit-bridge", "wslrelay")),
    COLIMA: Engine(COLIMA, "Colima", DOCKER_HOST_NAME, True, True, ("ssh", "limactl")),
    ORBSTACK: Engine(ORBSTACK, "OrbStack", DOCKER_HOST_NAME, True, True, ("orbstack", "orbstack helper", "macvmgr")),
    RANCHER_DESKTOP: Engine(RANCHER_DESKTOP, "Rancher Desktop", DOCKER_HOST_NAME, True, True,
                            ("ssh", "limactl", "wslrelay")),
    PODMAN: Engine(PODMAN, "Podman", PODMAN_HOST_NAME, False, True,
                   ("conmon", "rootlessport", "rootlessport-child", "pasta", "pasta.avx2", "slirp4netns")),
    PODMAN_MACHINE: Engine(PODMAN_MACHINE, "Podman machine", PODMAN_HOST_NAME, True, True,
                           ("gvproxy", "win-sshproxy")),
}
# every engine's port forwarders: a port held by one of these is asked of the engine
FORWARDERS = frozenset(name for engine in KINDS.values() for name in engine.forwarders)


def process_name(name: str | None) -> str:
    """A process name compared as the forwarder lists write them: lower case, without Windows' .exe."""
    name = (name or "").strip().lower()
    return name[:-4] if name.endswith(".exe") else name


def is_forwarder(name: str | None) -> bool:
    return process_name(name) in FORWARDERS


def classify(version: Mapping, info: Mapping, host: str | None, on_linux: bool = True) -> tuple[str, bool]:
    """(kind, recognised) from /version, /info and the endpoint (unix:///…/docker.sock, npipe://…)."""
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [] if isinstance(c, Mapping))
    platform = str((version.get("Platform") or {}).get("Name", ""))
    system = str(info.get("OperatingSystem", ""))
    name = str(info.get("Name", "")).lower()
    labels = " ".join(str(label) for label in info.get("Labels") or [])
    kernel = str(info.get("KernelVersion", "")).lower()
    path = (host or "").lower()
    if "podman" in components.lower():
        return (PODMAN_MACHINE if "machine" in path or not on_linux else PODMAN), True
    if "Docker Desktop" in (platform + system) or name == "docker-desktop" or "com.docker.desktop" in labels:
        return DOCKER_DESKTOP, True
    if system == "OrbStack" or name == "orbstack" or "/.orbstack/" in path or "orbstack" in kernel:
        return ORBSTACK, True
    if "rancher-desktop" in name or "rancher desktop" in system.lower() or "/.rd/" in path:
        return RANCHER_DESKTOP, True
    if "/.colima/" in path or "/colima/" in path or name == "colima" or name.startswith("colima-"):
        return COLIMA, True
    # an engine not recognised: on Linux the native one; elsewhere it runs in a VM, as Docker Desktop does
    return (DOCKER, True) if on_linux else (DOCKER_DESKTOP, False)


def engine_of(facts: Mapping | None, on_linux: bool = True) -> Engine:
    """The Engine from docker_engine.engine_facts (or an older-shaped dict with only desktop/podman flags);
    without an answer, the platform's usual engine, marked as assumed."""
    if not facts or not facts.get("reachable"):
        return KINDS[DOCKER if on_linux else DOCKER_DESKTOP]._replace(known=False)
    kind = facts.get("kind") or (PODMAN if facts.get("podman") else
                                 DOCKER_DESKTOP if facts.get("desktop") else DOCKER)
    engine = KINDS.get(kind, KINDS[DOCKER])
    return engine._replace(known=facts.get("recognised", True),
                   init=facts.get("init") is not False, gateways=tuple(facts.get("gateways") or ()),
                   runs_healthchecks=facts.get("runs_healthchecks"))


def engine_notes(engine: Engine) -> list[str]:
    """What `render` and `up` should say about this engine before anything starts."""
    notes = []
    if not engine.init:
        notes.append(f"{engine.name} has no init binary (catatonit): services run without `init: true`, so a "
                     "stop waits for their timeout; install it (`apt-get install catatonit`)")
    if engine.runs_healthchecks is False:
        notes.append(healthcheck_situation(engine))
    return notes


def healthcheck_situation(engine: Engine) -> str:
    """Why healthchecks do or do not run on this engine, and what to do when they cannot."""
    if engine.kind in (PODMAN, PODMAN_MACHINE) and engine.runs_healthchecks is False:
        return ("Podman runs healthchecks from systemd timers and this host has no systemd, so they never run: "
                "services stay 'starting' and `up --wait` cannot finish. Run Podman under systemd, or run each "
                "check yourself while `up` waits (`podman healthcheck run CONTAINER` every few seconds), or use "
                "Docker, which runs them itself")
    if engine.kind in (PODMAN, PODMAN_MACHINE):
        return ("Podman runs healthchecks from systemd timers: check that they run "
                "(`podman healthcheck run CONTAINER` runs one by hand; `podman inspect` shows its log)")
    return f"{engine.name} runs the healthchecks itself: see why one fails with `fldeploy logs SERVICE`"
