"""Everything that differs between Windows, macOS and Linux, in one place: starting, stopping and watching a
background process, file modes, who owns a process, how a test bind is made, Linux's /proc, console text.

Every function reads PLATFORM (sys.platform unless a test sets another) and PROC_ROOT, so the tests take the
Windows and macOS paths on Linux. A branch whose calls exist on one OS only also tests sys.platform, which mypy
reads: `mypy --platform win32|darwin|linux` then checks each path against that OS's standard library. psutil
does the job wherever it already does it the same way on every OS."""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any, Callable

PLATFORM = sys.platform
PROC_ROOT = "/proc"

# Windows constants, named here so that every platform (and its tests) can use them
CREATE_NEW_PROCESS_GROUP = 0x00000200  # winbase.h
DETACHED_PROCESS = 0x00000008  # winbase.h
CTRL_BREAK_EVENT = 1  # wincon.h
SO_EXCLUSIVEADDRUSE = -5  # winsock2.h: (int)(~SO_REUSEADDR), SO_REUSEADDR being 4 there

# docker, foundry and npm write UTF-8 whatever the console's code page (cp1252 on a western Windows)
CONSOLE_ENCODING = "utf-8"
WINDOWS_MODES_NOTE = ("file modes are POSIX only: on Windows the file keeps the access rules (ACL) of its folder, "
                      "by default your user profile's, which other users cannot read")

def is_windows() -> bool:
    return PLATFORM == "win32"


def is_macos() -> bool:
    return PLATFORM == "darwin"


def kind() -> str:
    """windows, macos or linux (any other POSIX system behaves as Linux here, less /proc)."""
    return "windows" if is_windows() else "macos" if is_macos() else "linux"


# --- files ---------------------------------------------------------------------------------------------------

def set_mode(target: int | str | os.PathLike[str], mode: int) -> str | None:
    """POSIX permission bits for an open file descriptor or a path. None when set; on Windows, where the bits
    mean nothing (only read-only exists), nothing is changed and the note saying so is returned."""
    if is_windows() or sys.platform == "win32":
        return WINDOWS_MODES_NOTE
    if isinstance(target, int):
        os.fchmod(target, mode)
    else:
        os.chmod(target, mode)
    return None


def chmod_private(target: int | str | os.PathLike[str]) -> str | None:
    """Owner read/write only (0600): secrets, support bundles."""
    return set_mode(target, 0o600)


# --- processes -----------------------------------------------------------------------------------------------

def _owner_id(process: Any) -> str:
    if is_windows() or sys.platform == "win32":  # psutil has no uids() on Windows
        return str(process.username())
    return str(process.uids().real)


class _NotAProcess(Exception):
    """/proc/<n> answers for a thread id too (not listed, but readable): a thread is never a process here."""


def _proc_status(pid: int) -> dict[str, str]:
    """The fields of /proc/<pid>/status; _NotAProcess when pid is a thread of another process or gone, OSError
    (PermissionError) when it may not be read."""
    if pid <= 0:
        raise _NotAProcess(pid)
    try:
        with open(os.path.join(PROC_ROOT, str(pid), "status"), encoding="utf-8", errors="replace") as f:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        raise _NotAProcess(pid) from None
    if fields.get("Tgid", "").strip() != str(pid):  # psutil's pid_exists makes the same test
        raise _NotAProcess(pid)
    return fields


def owner_matches(pid: int) -> bool | None:
    """Whether pid runs as the user running fldeploy; None when that cannot be read (gone, access denied)."""
    if procfs() is not None and sys.platform != "win32":
        try:
            uid = _proc_status(pid).get("Uid", "").split()
        except (_NotAProcess, OSError):
            return None
        return int(uid[0]) == os.getuid() if uid else None
    import psutil

    try:
        return _owner_id(psutil.Process(pid)) == _owner_id(psutil.Process())
    except psutil.Error:
        return None


def process_user(process: Any) -> str | None:
    """Who runs a psutil process: the user name, else (POSIX) the numeric uid; None when it cannot be read."""
    import psutil

    try:
        return str(process.username())
    except (psutil.AccessDenied, KeyError):
        pass
    except psutil.NoSuchProcess:
        return None
    if is_windows() or sys.platform == "win32":
        return None
    try:
        return str(process.uids().real)
    except psutil.Error:
        return None


def proc_process(pid: int) -> dict | None:
    """Name, command line and user of a process read from Linux's /proc as psutil reads them (name: comm, or
    the command's base name when comm is cut at 15 characters); None where there is no /proc. `ports` uses it
    because psutil's import alone costs it ~20 ms."""
    root = procfs()
    if root is None or sys.platform == "win32":
        return None
    import pwd

    try:
        status = _proc_status(pid)
        name, argv = _proc_name_argv(pid)
        uid = int(status["Uid"].split()[0]) if status.get("Uid") else None
    except (_NotAProcess, FileNotFoundError, ProcessLookupError):
        return {"pid": pid, "name": None, "cmdline": None, "user": None, "gone": True}
    except PermissionError:
        return {"pid": pid, "name": None, "cmdline": None, "user": None, "hidden": True}
    try:
        user = pwd.getpwuid(uid).pw_name if uid is not None else None
    except KeyError:
        user = str(uid)
    return {"pid": pid, "name": name, "cmdline": " ".join(argv)[:120], "user": user}


def proc_processes() -> list[dict] | None:
    """pid, name and argv of every process in /proc (name as psutil gives it); None where there is no /proc."""
    root = procfs()
    if root is None:
        return None
    table = []
    for entry in os.scandir(root):
        if entry.name.isdigit():
            try:
                name, argv = _proc_name_argv(int(entry.name))
            except OSError:
                continue
            table.append({"pid": int(entry.name), "name": name, "cmdline": argv})
    return table


def cmdline(pid: int) -> list[str] | None:
    """A process's arguments; None when it is gone or may not be read."""
    if procfs() is not None and sys.platform != "win32":
        try:
            _proc_status(pid)  # a thread id is not a process
        except (_NotAProcess, OSError):
            return None
        return _proc_argv(pid)
    import psutil

    try:
        return list(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return None


def _proc_name_argv(pid: int) -> tuple[str, list[str]]:
    """A process's name as psutil gives it (comm, or the command's base name when comm is cut at 15
    characters) and its arguments; OSError when comm cannot be read."""
    with open(os.path.join(PROC_ROOT, str(pid), "comm"), encoding="utf-8", errors="replace") as f:
        name = f.read().rstrip("\n")
    argv = _proc_argv(pid) or []
    if len(name) >= 15 and argv and os.path.basename(argv[0]).startswith(name):
        name = os.path.basename(argv[0])
    return name, argv


def _proc_argv(pid: int) -> list[str] | None:
    try:
        with open(os.path.join(PROC_ROOT, str(pid), "cmdline"), "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def current_user() -> str:
    if is_windows() or sys.platform == "win32":
        import psutil

        try:
            return str(psutil.Process().username())
        except psutil.Error:
            return os.environ.get("USERNAME", "?")
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def detached_options() -> dict[str, Any]:
    """Popen arguments that keep a background process running after fldeploy and its terminal are gone."""
    if is_windows():
        # start_new_session is ignored on Windows: without these the process dies with the console it started in
        return {"creationflags": CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS}
    return {"start_new_session": True}


def start_detached(argv: list[str], log: str, env: dict[str, str] | None = None,
                   popen: Callable[..., Any] | None = None) -> int:
    """Start argv in the background, its output appended to the file log; returns its pid."""
    import subprocess

    with open(log, "ab") as out:
        child = (popen or subprocess.Popen)(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, close_fds=True, **detached_options())
    return int(child.pid)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child not yet reaped counts as gone)."""
    if pid > 0 and procfs() is not None:
        try:
            return not _proc_status(pid).get("State", "").startswith("Z")
        except _NotAProcess:
            return False
        except OSError:
            return True  # there, but not ours to read
    import psutil

    if pid <= 0 or not psutil.pid_exists(pid):
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def reap(pid: int) -> None:
    """Collect the exit status of a child that ended (POSIX zombies); nothing to do on Windows."""
    if is_windows() or sys.platform == "win32":
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def exit_request() -> int:
    """What asks a process to exit cleanly: SIGTERM on POSIX; CTRL_BREAK_EVENT to its process group on Windows,
    received only by a process that shares fldeploy's console (GenerateConsoleCtrlEvent's rule)."""
    return CTRL_BREAK_EVENT if is_windows() else int(signal.SIGTERM)


def exit_signals() -> tuple[int, ...]:
    """The signals a process of ours stops on: what exit_request sends, and Ctrl-C."""
    if sys.platform == "win32":
        return (signal.SIGINT, signal.SIGBREAK)
    return (signal.SIGTERM, signal.SIGINT)


def stop(pid: int, grace: float, on_wait: Callable[[float], None] | None = None,
         ask: Callable[[], None] | None = None) -> bool:
    """Ask pid to exit, wait up to grace seconds (calling on_wait(elapsed)), then kill it and its children
    (SIGKILL on POSIX, TerminateProcess on Windows). True if it exited by itself.

    ask: the caller's own way to ask (e.g. a stop file the process watches), called before the OS request.
    A process started detached on Windows has no console, so CTRL_BREAK_EVENT cannot reach it: ask can."""
    import psutil

    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    if ask is not None:
        ask()
    try:
        process.send_signal(exit_request())
    except psutil.NoSuchProcess:
        return True
    except (psutil.AccessDenied, OSError):
        pass  # not ours to signal, or no console to carry CTRL_BREAK_EVENT: it may still exit when asked
    start = time.monotonic()
    while time.monotonic() - start < grace:
        reap(pid)
        if not alive(pid):
            return True
        if on_wait:
            on_wait(time.monotonic() - start)
        time.sleep(0.1)
    try:
        # its children too: on Windows a venv's python.exe is a launcher whose child runs the code
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        family = [process]
    for member in family:
        try:
            member.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    psutil.wait_procs(family, timeout=5)  # gone (and reaped, if ours) before anyone looks again
    return False


# --- sockets -------------------------------------------------------------------------------------------------

def exclusive_bind_options(sock: socket.socket) -> None:
    """Options for a test bind that must fail wherever a server's bind would fail."""
    if is_windows():
        # with SO_REUSEADDR, Windows lets a bind succeed on a port another process listens on
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_EXCLUSIVEADDRUSE", SO_EXCLUSIVEADDRUSE), 1)
    else:
        # as servers do on POSIX: TIME_WAIT leftovers of a stopped server must not make its port look taken
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def unix_stream_socket() -> socket.socket:
    """A Unix domain stream socket; Windows' Python has none (its Docker engine is a named pipe)."""
    if is_windows() or sys.platform == "win32":
        raise OSError("Unix sockets are not available on Windows: use npipe:// or tcp:// for DOCKER_HOST")
    return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)


def procfs(*parts: str) -> str | None:
    """A path under Linux's /proc (PROC_ROOT) when it exists; None on macOS, Windows and without /proc, where
    the callers ask psutil instead."""
    if not PLATFORM.startswith("linux"):
        return None
    path = os.path.join(PROC_ROOT, *parts)
    return path if os.path.exists(path) else None


# --- console -------------------------------------------------------------------------------------------------

def console_text(data: bytes | None) -> str:
    """A command's output as text: UTF-8 with any undecodable byte replaced (never an error, whatever the
    console's code page), line ends as \\n."""
    if not data:
        return ""
    return data.decode(CONSOLE_ENCODING, errors="replace").replace("\r\n", "\n")


def command(argv: list[str]) -> list[str]:
    """argv with its program resolved on PATH on Windows, where CreateProcess finds only .exe files and tools
    such as npm are npm.cmd; unchanged elsewhere, or when the program is not found (the run reports it)."""
    if not is_windows() or not argv or os.path.dirname(argv[0]):
        return argv
    import shutil

    found = shutil.which(argv[0])
    return [found, *argv[1:]] if found else argv


def console_safe(stream: Any) -> None:
    """Let a text stream whose code page cannot show a character (cp1252 on Windows when output is redirected)
    print it replaced instead of raising UnicodeEncodeError; a UTF-8 stream is left alone."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and encoding != "utf8":
        reconfigure(errors="replace")
