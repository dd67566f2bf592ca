"""Listening sockets read from the text of /proc/net/tcp and /proc/net/tcp6 (no real /proc access)."""
from __future__ import annotations

import pytest

from fldeploy.adapters.net import Listener, parse_proc_net_tcp

pytestmark = pytest.mark.unit

TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
              "timeout inode")
TCP6_HEADER = ("  sl  local_address                         remote_address                        st "
               "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
ZERO6 = "0" * 32


def row4(sl: int, local: str, remote: str, state: str, inode: int) -> str:
    return (f"  {sl:>2}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000  1000        0 "
            f"{inode} 1 0000000000000000 100 0 0 10 0")


def row6(sl: int, local: str, remote: str, state: str, inode: int) -> str:
    return (f"  {sl:>2}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 "
            f"{inode} 1 0000000000000000 100 0 0 10 0")


TCP = "\n".join([
    TCP_HEADER,
    row4(0, "0100007F:0BB8", "00000000:0000", "0A", 41001),   # 127.0.0.1:3000 LISTEN
    row4(1, "00000000:1F90", "00000000:0000", "0A", 41002),   # 0.0.0.0:8080 LISTEN
    row4(2, "010011AC:1499", "00000000:0000", "0A", 41003),   # 172.17.0.1:5273 LISTEN
    row4(3, "0100007F:0BB8", "0100007F:D2F0", "01", 41004),   # 127.0.0.1:3000 ESTABLISHED
    row4(4, "0100007F:1499", "0100007F:C350", "06", 0),       # TIME_WAIT on 5273
    "",
]) + "\n"

TCP6 = "\n".join([
    TCP6_HEADER,
    row6(0, "00000000000000000000000001000000:1499", f"{ZERO6}:0000", "0A", 52001),  # [::1]:5273
    row6(1, f"{ZERO6}:0BB8", f"{ZERO6}:0000", "0A", 52002),                          # [::]:3000
    row6(2, "000080FE000000000000000001000000:1F91", f"{ZERO6}:0000", "0A", 52003),     # [fe80::1]:8081
    row6(3, "00000000000000000000000001000000:0BB8", "00000000000000000000000001000000:E000", "01", 52004),
]) + "\n"


def test_ipv4_listeners_only_listen_state_decoded():
    assert parse_proc_net_tcp(TCP, 4) == [
        Listener(3000, "127.0.0.1", 4, 41001),
        Listener(8080, "0.0.0.0", 4, 41002),
        Listener(5273, "172.17.0.1", 4, 41003),
    ]


def test_ipv6_listeners_decoded():
    got = parse_proc_net_tcp(TCP6, 6)
    assert [(l.port, l.address, l.family, l.inode) for l in got] == [
        (5273, "::1", 6, 52001),
        (3000, "::", 6, 52002),
        (8081, "fe80::1", 6, 52003),
    ]


@pytest.mark.parametrize("ports, expected", [
    ({3000}, [(3000, "127.0.0.1")]),
    ({5273, 9999}, [(5273, "172.17.0.1")]),
    ({9999}, []),
    (set(), []),
])
def test_filter_by_ports(ports, expected):
    assert [(l.port, l.address) for l in parse_proc_net_tcp(TCP, 4, ports)] == expected


def test_established_connection_on_a_wanted_port_is_not_a_listener():
    got = parse_proc_net_tcp(TCP, 4, {3000})
    assert [l.inode for l in got] == [41001]


def test_header_only_and_blank_text():
    assert parse_proc_net_tcp(TCP_HEADER + "\n", 4) == []
    assert parse_proc_net_tcp("", 6) == []


def test_pid_is_not_known_from_proc_net_alone():
    got = parse_proc_net_tcp(TCP6, 6, {5273})
    assert len(got) == 1 and got[0].pid is None and got[0].inode == 52001
