"""Listening TCP sockets and their owners, read lean: only the ports asked about get an owner lookup."""
from __future__ import annotations

import os
import socket
from typing import Any, NamedTuple

from . import platform

_LISTEN = "0A"


class Listener(NamedTuple):
    port: int
    address: str
    family: int  # 4 or 6
    inode: int = 0
    pid: int | None = None


def _decode_v4(hex_addr: str) -> str:
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_addr)[::-1])


def _decode_v6(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    # /proc prints the address as four host-order (little-endian) 32-bit words
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def parse_proc_net_tcp(text: str, family: int, ports: set[int] | None = None) -> list[Listener]:
    """Listeners from the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6)."""
    decode = _decode_v4 if family == 4 else _decode_v6
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN:
            continue
        hex_addr, hex_port = fields[1].split(":")
        port = int(hex_port, 16)
        if ports is not None and port not in ports:
            continue
        found.append(Listener(port, decode(hex_addr), family, int(fields[9])))
    return found


def listeners(ports: set[int] | None = None) -> list[Listener]:
    """Every listening TCP socket of this network namespace (optionally only on the given ports)."""
    return scan_listeners(ports)[0]


def scan_listeners(ports: set[int] | None = None) -> tuple[list[Listener], list[str]]:
    """The listeners, and notes on the sockets this user may not see (macOS without root: other users')."""
    if platform.procfs("net", "tcp") is None:  # macOS, Windows, no /proc
        return _psutil_listeners(ports)
    found: list[Listener] = []
    if platform.PROC_ROOT == "/proc":  # the kernel's own answer; a test's PROC_ROOT is read as files
        from . import sock_diag

        answers = [sock_diag.listening(family) for family in (4, 6)]
        if None not in answers:
            return [Listener(port, address, family, inode) for family, answer in zip((4, 6), answers)
                    for port, address, inode in answer or [] if ports is None or port in ports], []
    for name, family in (("tcp", 4), ("tcp6", 6)):
        path = platform.procfs("net", name)
        if path is None:
            continue
        try:
            with open(path) as f:
                found += parse_proc_net_tcp(f.read(), family, ports)
        except FileNotFoundError:
            continue
    return found, []


def _listening(connection: Any, ports: set[int] | None) -> Listener | None:
    import psutil

    address = connection.laddr
    if connection.status != psutil.CONN_LISTEN or not address or (ports is not None and address.port not in ports):
        return None
    return Listener(address.port, address.ip, 6 if connection.family == socket.AF_INET6 else 4, 0,
                    getattr(connection, "pid", None))


def _psutil_listeners(ports: set[int] | None) -> tuple[list[Listener], list[str]]:
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return _listeners_per_process(ports)
    return [found for c in connections if (found := _listening(c, ports))], []


def _listeners_per_process(ports: set[int] | None) -> tuple[list[Listener], list[str]]:
    """The sockets of each process this user may inspect; a wanted port that answers on loopback with no
    visible owner is listed without one (never guessed), and a note names the users whose sockets are hidden."""
    import psutil

    found: list[Listener] = []
    hidden_users: set[str] = set()
    for process in psutil.process_iter(["username"]):
        try:
            connections = process.net_connections(kind="tcp")
        except psutil.AccessDenied:
            hidden_users.add(process.info.get("username") or f"pid {process.pid}")
            continue
        except psutil.NoSuchProcess:
            continue
        found += [listener._replace(pid=process.pid) for c in connections if (listener := _listening(c, ports))]
    if not hidden_users:
        return found, []
    seen = {listener.port for listener in found}
    found += [listener for port in sorted((ports or set()) - seen) if (listener := _answering(port))]
    users = ", ".join(sorted(hidden_users)[:5]) + (", ..." if len(hidden_users) > 5 else "")
    me = platform.current_user()
    return found, [f"{me} may not read the sockets of processes run by {users}: a port they hold shows no owner"
                   + ("" if me == "root" else " (run as root, e.g. with sudo, to name it)")]


def _answering(port: int) -> Listener | None:
    """A listener on port that accepts a connection on loopback, owner unknown."""
    for address, family in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        try:
            with socket.create_connection((address, port), timeout=0.3):
                return Listener(port, address, 6 if family == socket.AF_INET6 else 4)
        except OSError:
            continue
    return None


def socket_owners(inodes: set[int]) -> tuple[dict[int, int], bool]:
    """Map socket inodes to pids by reading /proc/*/fd; second value False if some fds were unreadable.

    Processes are read smallest first: the holders asked about (docker-proxy, Foundry) have a few dozen fds,
    while a process holding thousands of sockets would cost a readlink each before the search could stop."""
    wanted = {f"socket:[{i}]": i for i in inodes if i}
    owners: dict[int, int] = {}
    if not wanted:
        return owners, True
    proc_root = platform.procfs()
    if proc_root is None:  # no /proc: the listeners came from psutil, with their pids
        return owners, False
    complete = True
    processes = []
    for entry in os.scandir(proc_root):
        if not entry.name.isdigit():
            continue
        fd_dir = f"{proc_root}/{entry.name}/fd"
        try:
            processes.append((len(fds := os.listdir(fd_dir)), int(entry.name), fd_dir, fds))
        except PermissionError:
            complete = False
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            continue
    for _, pid, fd_dir, fds in sorted(processes):
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None:
                owners[inode] = pid
        if len(owners) == len(wanted):
            break
    return owners, complete


def processes() -> list[dict]:
    """pid, name and command line (a list) of every process this user can see: /proc on Linux (psutil's import
    alone costs `doctor` and `up` ~20 ms), psutil elsewhere."""
    table = platform.proc_processes()
    if table is not None:
        return table
    import psutil

    return [dict(p.info) for p in psutil.process_iter(["pid", "name", "cmdline"])]


def listening_of(pid: int) -> dict[int, list[str]] | None:
    """{port: addresses} a process listens on; None when this user may not read its sockets."""
    fd_dir = platform.procfs(str(pid), "fd")
    if fd_dir is not None:
        try:
            links = [os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)]
        except PermissionError:
            return None
        except OSError:
            return {}
        inodes = {int(link[8:-1]) for link in links if link.startswith("socket:[")}
        by_port: dict[int, list[str]] = {}
        for listener in listeners():
            if listener.inode in inodes:
                by_port.setdefault(listener.port, []).append(listener.address)
        return by_port
    import psutil

    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    except psutil.NoSuchProcess:
        return {}
    found: dict[int, list[str]] = {}
    for c in conns:
        if c.status == psutil.CONN_LISTEN:
            found.setdefault(c.laddr.port, []).append(c.laddr.ip)
    return found


def process_info(pid: int) -> dict:
    """Name, short command line and user of a process (what psutil can see without root)."""
    from_proc = platform.proc_process(pid)
    if from_proc is not None:
        return from_proc
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name = proc.name()
            try:
                cmd = " ".join(proc.cmdline())
            except psutil.AccessDenied:
                cmd = ""
            user = platform.process_user(proc)
    except psutil.NoSuchProcess:
        return {"pid": pid, "name": None, "cmdline": None, "user": None, "gone": True}
    except psutil.AccessDenied:
        return {"pid": pid, "name": None, "cmdline": None, "user": None, "hidden": True}
    return {"pid": pid, "name": name, "cmdline": cmd[:120], "user": user}


def interface_ipv4(name: str) -> str | None:
    import psutil

    for addr in psutil.net_if_addrs().get(name, []):
        if addr.family == socket.AF_INET:
            return addr.address
    return None


def local_addresses() -> set[str]:
    import psutil

    out = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}
    for addrs in psutil.net_if_addrs().values():
        out.update(a.address.split("%")[0] for a in addrs if a.family in (socket.AF_INET, socket.AF_INET6))
    return out


def can_bind(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        platform.exclusive_bind_options(s)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
