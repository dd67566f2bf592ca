"""`ports` asks the kernel for listening sockets over sock_diag netlink (as `ss` does) and falls back to
/proc/net/tcp: both readings of the real kernel must name the same sockets, IPv4 and IPv6."""
from __future__ import annotations

import socket

from fldeploy.adapters import net, platform, sock_diag


def _key(listeners):
    return sorted((l.family, l.port, l.address, l.inode) for l in listeners)


def test_netlink_and_proc_agree_on_real_sockets(monkeypatch):
    v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        v4.bind(("127.0.0.1", 0))
        v6.bind(("::1", 0))
        v4.listen()
        v6.listen()
        ports = {v4.getsockname()[1], v6.getsockname()[1]}
        from_netlink = net.scan_listeners(ports)[0]
        assert sock_diag.listening(4) is not None, "this kernel answers sock_diag"
        monkeypatch.setattr(platform, "PROC_ROOT", "/proc/.")  # the same /proc, read as files
        from_proc = net.scan_listeners(ports)[0]
    finally:
        v4.close()
        v6.close()
    assert _key(from_netlink) == _key(from_proc)
    assert {(l.family, l.address) for l in from_netlink} == {(4, "127.0.0.1"), (6, "::1")}
    assert all(l.inode for l in from_netlink)


def test_without_netlink_the_proc_files_answer(monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        monkeypatch.setattr(sock_diag, "listening", lambda family: None)
        assert [l.port for l in net.scan_listeners({port})[0]] == [port]
