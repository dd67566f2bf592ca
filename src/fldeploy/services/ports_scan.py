"""Who holds each port the stack needs: listeners, their processes, and the containers the engine (Docker,
Podman, a VM engine) says publish them: its Engine API, not the holder's process name, tells the stack's own."""
from __future__ import annotations

from ..adapters import net
from ..core.urls import url_port
from ..core.ports import PortStatus, asked_of_engine, attach_containers, classify, needed_ports


def foundry_port(settings) -> int | None:
    """Foundry's port without discovery: the configured URL, else the embedded Foundry fldeploy runs."""
    if settings.foundry_url:
        return url_port(settings.foundry_url)
    from ..foundry import embedded

    url = embedded.running_url(embedded.read_state(settings))
    return url_port(url) if url else None


def scan(settings, extra: list[int], with_foundry: bool = True) -> tuple[list[PortStatus], list[str]]:
    chosen = {name.strip() for name in settings.services.split(",")}  # only the front ends to be deployed
    needs = needed_ports(settings.openwebui_port if "open-webui" in chosen else None,
                         settings.chainlit_port if "chainlit" in chosen else None,
                         foundry_port(settings) if with_foundry else None, extra,
                         settings.webgpu_demo_port if "webgpu-demo" in chosen else None)
    wanted = {n.port for n in needs}
    every, notes = net.scan_listeners()  # one read: the ports asked about and those free alternatives avoid
    taken = {l.port for l in every} | wanted
    found = [l for l in every if l.port in wanted]
    if not found:
        return [classify(n, [], settings.project, taken) for n in needs], notes
    owners, complete = net.socket_owners({l.inode for l in found if l.pid is None})
    holders: dict[int, dict[int | None, dict]] = {}
    for l in found:
        pid = l.pid or owners.get(l.inode)
        holder = holders.setdefault(l.port, {}).setdefault(pid, {"pid": pid, "addresses": []})
        holder["addresses"].append(l.address)
    infos = {pid: net.process_info(pid) for by_pid in holders.values() for pid in by_pid if pid}
    for by_pid in holders.values():
        for pid, holder in by_pid.items():
            holder["addresses"].sort()
            holder["process"] = infos.get(pid) if pid else None
    engine_ports = asked_of_engine(holders)
    if engine_ports:
        from ..adapters import docker_engine

        containers, error = docker_engine.containers_by_host_port(engine_ports, settings.check_timeout)
        if error:
            notes.append(f"could not ask the engine which container holds {sorted(engine_ports)}: {error}")
        attach_containers(holders, containers)
    if not complete and any(None in by_pid for by_pid in holders.values()):
        notes.append("some sockets belong to processes fldeploy may not inspect: run as root to name them")
    return [classify(n, list(holders.get(n.port, {}).values()), settings.project, taken) for n in needs], notes
