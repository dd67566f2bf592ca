"""Hold a listening TCP socket in its own process: `python -m tests.support.hold_port HOST PORT [--v6only]`.

Prints 'ready <port>' once listening, then waits until killed. Used to give `fldeploy ports` a real,
foreign process (pid, name, command line) on a real socket.
"""
import socket
import sys
import time


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if "--v6only" in sys.argv else 0)
    sock.bind((host, port))
    sock.listen(8)
    print(f"ready {sock.getsockname()[1]}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
