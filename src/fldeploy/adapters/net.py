"""Listening TCP sockets and their owners, read lean: only the ports asked about get an owner lookup."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
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
    if not os.path.exists("/proc/net/tcp"):
        return _psutil_listeners(ports)
    found: list[Listener] = []
    for path, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            with open(path) as f:
                found += parse_proc_net_tcp(f.read(), family, ports)
        except FileNotFoundError:
            continue
    return found


def _psutil_listeners(ports: set[int] | None) -> list[Listener]:
    import psutil

    out = []
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and (ports is None or c.laddr.port in ports):
            fam = 6 if c.family == socket.AF_INET6 else 4
            out.append(Listener(c.laddr.port, c.laddr.ip, fam, 0, c.pid))
    return out


def socket_owners(inodes: set[int]) -> tuple[dict[int, int], bool]:
    """Map socket inodes to pids by reading /proc/*/fd; second value False if some fds were unreadable."""
    wanted = {f"socket:[{i}]": i for i in inodes if i}
    owners: dict[int, int] = {}
    complete = True
    if not wanted:
        return owners, complete
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fd_dir = f"/proc/{entry.name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            complete = False
            continue
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None:
                owners[inode] = int(entry.name)
        if len(owners) == len(wanted):
            break
    return owners, complete


def process_info(pid: int) -> dict:
    """Name, short command line and user of a process (what psutil can see without root)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name = proc.name()
            try:
                cmd = " ".join(proc.cmdline())
            except psutil.AccessDenied:
                cmd = ""
            try:
                user = proc.username()
            except (psutil.AccessDenied, KeyError):
                user = str(proc.uids().real)
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
        # as servers do: TIME_WAIT leftovers of a stopped server must not make its port look taken
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
