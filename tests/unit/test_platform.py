"""The platform adapter's choices for Windows, macOS and Linux, taken on this Linux host by setting PLATFORM:
what it would pass to the OS (flags, socket options, signals), and what it does where an OS lacks a call
(os.fchmod, Process.uids) or writes another code page."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
from types import SimpleNamespace

import psutil
import pytest

from fldeploy.adapters import platform
from fldeploy.foundry.discovery import _looks_like_foundry
from fldeploy.foundry.embedded import RUNTIME_MODULE

pytestmark = pytest.mark.unit


@pytest.fixture
def on(monkeypatch):
    def force(name: str) -> None:
        monkeypatch.setattr(platform, "PLATFORM", name)
    return force


class RecordingSocket:
    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))


class WindowsProcess:
    """What psutil.Process offers on Windows: username(), and no uids()."""

    def __init__(self, user: str | Exception) -> None:
        self.user = user

    def username(self) -> str:
        if isinstance(self.user, Exception):
            raise self.user
        return self.user


class PosixProcess(WindowsProcess):
    def uids(self):
        return SimpleNamespace(real=1001, effective=1001, saved=1001)


@pytest.mark.parametrize("name, expected", [("win32", "windows"), ("darwin", "macos"), ("linux", "linux")])
def test_kind(on, name, expected):
    on(name)
    assert platform.kind() == expected


def test_file_modes_are_a_noop_with_a_note_on_windows(on):
    on("win32")
    # -1 is no file: nothing may be called on it where POSIX modes mean nothing
    assert platform.chmod_private(-1) == platform.WINDOWS_MODES_NOTE
    assert platform.set_mode("C:\\Users\\jane\\stack\\.env", 0o600) == platform.WINDOWS_MODES_NOTE


@pytest.mark.parametrize("name", ["linux", "darwin"])
def test_file_modes_are_set_on_posix(on, name):
    on(name)
    with pytest.raises(OSError):
        platform.chmod_private(-1)  # really asks the OS (and a bad descriptor is refused)


def test_detached_start_on_windows_uses_a_new_process_group_without_console(on):
    on("win32")
    calls = []

    class Recorder:
        pid = 4242

        def __init__(self, argv, **options):
            calls.append((argv, options))

    argv = ["C:\\Python311\\python.exe", "-m", RUNTIME_MODULE, "C:\\Users\\jane\\fldeploy\\foundry\\spec.json"]
    assert platform.start_detached(argv, os.devnull, {"X": "1"}, popen=Recorder) == 4242
    (passed, options), = calls
    assert passed == argv
    assert options["creationflags"] == 0x00000200 | 0x00000008  # CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS
    assert "start_new_session" not in options  # ignored on Windows
    assert options["stdin"] == subprocess.DEVNULL and options["stderr"] == subprocess.STDOUT
    assert options["env"] == {"X": "1"} and options["close_fds"] is True


@pytest.mark.parametrize("name", ["linux", "darwin"])
def test_detached_start_on_posix_uses_a_new_session(on, name):
    on(name)
    assert platform.detached_options() == {"start_new_session": True}


def test_exit_request_is_ctrl_break_on_windows_and_sigterm_on_posix(on):
    on("win32")
    assert platform.exit_request() == 1  # CTRL_BREAK_EVENT, wincon.h
    for name in ("linux", "darwin"):
        on(name)
        assert platform.exit_request() == signal.SIGTERM


def test_windows_bind_is_exclusive_and_never_reuses(on):
    on("win32")
    sock = RecordingSocket()
    platform.exclusive_bind_options(sock)  # type: ignore[arg-type]
    assert sock.options == [(socket.SOL_SOCKET, platform.SO_EXCLUSIVEADDRUSE, 1)]
    assert all(option != socket.SO_REUSEADDR for _, option, _ in sock.options)


@pytest.mark.parametrize("name", ["linux", "darwin"])
def test_posix_bind_reuses_time_wait_addresses(on, name):
    on(name)
    sock = RecordingSocket()
    platform.exclusive_bind_options(sock)  # type: ignore[arg-type]
    assert sock.options == [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]


def test_windows_process_without_uids_reports_its_user_or_nothing(on):
    on("win32")
    assert platform.process_user(WindowsProcess("DESKTOP-1\\jane")) == "DESKTOP-1\\jane"
    assert platform.process_user(WindowsProcess(psutil.AccessDenied(4))) is None  # SYSTEM's: no uid fallback
    assert platform._owner_id(WindowsProcess("DESKTOP-1\\jane")) == "DESKTOP-1\\jane"


def test_posix_process_falls_back_to_its_uid(on):
    on("darwin")
    assert platform.process_user(PosixProcess(psutil.AccessDenied(4))) == "1001"
    assert platform._owner_id(PosixProcess("jane")) == "1001"


def test_current_user_on_windows_comes_from_psutil(on):
    on("win32")
    assert platform.current_user() == psutil.Process().username()


def test_no_proc_on_macos_and_windows_even_where_it_exists(on):
    for name in ("darwin", "win32"):
        on(name)
        assert platform.procfs("net", "tcp") is None


def test_missing_proc_root_means_no_proc(on, monkeypatch):
    on("linux")
    monkeypatch.setattr(platform, "PROC_ROOT", "/nonexistent/proc")
    assert platform.procfs() is None and platform.procfs("net", "tcp") is None


def test_console_text_never_fails_on_foundry_output():
    said = "🟢 Model management service is running on http://127.0.0.1:5273/openai/status\r\n⏳ loading\r\n"
    data = said.encode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        data.decode("cp1252")  # what text=True does on a western Windows: ⏳ has the byte 0x8F, undefined there
    assert platform.console_text(data) == said.replace("\r\n", "\n")
    assert platform.console_text(b"caf\xe9 \x81") == "caf\ufffd \ufffd"  # not UTF-8: replaced, never an error
    assert platform.console_text(None) == platform.console_text(b"") == ""


def test_console_safe_replaces_what_cp1252_cannot_show():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252", errors="strict")
    platform.console_safe(stream)
    stream.write("C:\\Users\\Łukasz ✓ café\n")
    stream.flush()
    assert raw.getvalue() == "C:\\Users\\?ukasz ? café\n".encode("cp1252")


def test_windows_command_line_keeps_paths_with_spaces_whole():
    argv = ["C:\\Program Files\\Python311\\python.exe", "-m", RUNTIME_MODULE,
            "C:\\Users\\Jane Doe\\AppData\\Local\\fldeploy\\foundry\\spec.json"]
    assert subprocess.list2cmdline(argv) == (
        '"C:\\Program Files\\Python311\\python.exe" -m fldeploy.foundry.runtime '
        '"C:\\Users\\Jane Doe\\AppData\\Local\\fldeploy\\foundry\\spec.json"')


@pytest.mark.parametrize("name, cmdline, expected", [
    ("Inference.Service.Agent.exe", [], True),
    ("foundry.exe", ["C:\\Program Files\\WindowsApps\\Microsoft.FoundryLocal_0.8\\foundry.exe", "service"], True),
    ("python.exe", ["C:\\Users\\Łukasz\\fldeploy\\.venv\\Scripts\\python.exe", "-m", RUNTIME_MODULE,
                    "C:\\Users\\Łukasz\\AppData\\Local\\fldeploy\\foundry\\spec.json"], True),
    ("python.exe", ["C:\\tools\\web\\server.py"], False),
    ("explorer.exe", ["C:\\Windows\\explorer.exe"], False),
])
def test_windows_process_paths_are_read_as_windows_paths(name, cmdline, expected):
    assert _looks_like_foundry(name, cmdline) is expected
