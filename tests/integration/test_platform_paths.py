"""The macOS and Windows paths for real on this Linux host: no /proc, psutil refusing the system-wide socket
list (as on macOS without root), a console in cp1252, a locale that is not UTF-8, processes started, asked to
stop and killed, a command found on PATH the Windows way."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from fldeploy import settings
from fldeploy.adapters import net, platform, proc
from fldeploy.commands import ports as ports_verb

from ..support.fixtures import ROOT, isolated_env, run_fldeploy, start_foundry, stop_foundry
from ..support.servers import free_port


def _deny_system_wide_list(kind: str = "inet") -> list:
    # psutil documents this for macOS (https://psutil.readthedocs.io, net_connections: "On macOS ...
    # psutil.AccessDenied is always raised unless running as root"); Linux has no way to make it happen
    raise psutil.AccessDenied()


def _ports_settings() -> settings.Settings:
    return settings.load({"openwebui_port": str(free_port()), "chainlit_port": str(free_port())}, env={})


def _port_status(result, port: int) -> dict:
    return next(p for p in result.data["ports"] if p["port"] == port)


def test_without_proc_listeners_and_owners_come_from_psutil(monkeypatch, tmp_path, hold_port):
    monkeypatch.setattr(platform, "PROC_ROOT", str(tmp_path / "no-proc"))
    pid, port = hold_port("127.0.0.1")
    found, notes = net.scan_listeners({port})
    assert found == [net.Listener(port, "127.0.0.1", 4, 0, pid)] and notes == []
    assert net.socket_owners({12345}) == ({}, False)
    held = _port_status(ports_verb.run(_ports_settings(), [port]), port)
    assert held["state"] == "held" and held["holders"][0]["pid"] == pid
    assert held["holders"][0]["process"]["name"].startswith("python")


def test_macos_refusal_falls_back_to_each_process(monkeypatch, hold_port):
    monkeypatch.setattr(platform, "PLATFORM", "darwin")
    monkeypatch.setattr(psutil, "net_connections", _deny_system_wide_list)
    pid, port = hold_port("127.0.0.1")
    pid6, port6 = hold_port("::1", v6only=True)
    found, notes = net.scan_listeners({port, port6})
    assert sorted((l.port, l.address, l.pid) for l in found) == sorted([(port, "127.0.0.1", pid),
                                                                         (port6, "::1", pid6)])
    assert all("sudo" not in note for note in notes)  # root: only a sandbox can hide a process from it
    result = ports_verb.run(_ports_settings(), [port])
    assert _port_status(result, port)["holders"][0]["pid"] == pid


def test_files_are_written_where_modes_do_not_exist(monkeypatch, tmp_path):
    # Windows on Python 3.10-3.12 has no os.fchmod: render, up, secrets rotate and doctor --bundle write this way
    from fldeploy.services import bundle
    from fldeploy.stack import files

    monkeypatch.setattr(platform, "PLATFORM", "win32")
    monkeypatch.delattr(os, "fchmod")
    files.atomic_write(tmp_path / ".env", "KEY=value\n", 0o600)
    bundle._place(str(tmp_path / "support.tar.gz"), b"archive", force=False)
    assert (tmp_path / ".env").read_text() == "KEY=value\n"
    assert (tmp_path / "support.tar.gz").read_bytes() == b"archive"


@pytest.mark.parametrize("args, codes", [(["doctor"], {0, 1}), (["foundry", "status"], {1}), (["config"], {0})])
def test_real_cli_on_a_cp1252_console(fl, args, codes):
    run = fl(*args, PYTHONIOENCODING="cp1252:strict", timeout=60)
    assert "Traceback" not in run.err and "UnicodeEncodeError" not in run.err, run.err
    assert run.code in codes, (run.out, run.err)


def test_ports_on_a_cp1252_console_names_the_holder(fl, hold_port):
    pid, port = hold_port("127.0.0.1")
    for lean in ("", "1"):  # the lean path and the typer path
        run = fl("ports", str(port), PYTHONIOENCODING="cp1252:strict", FLDEPLOY_NO_LEAN_PATH=lean)
        assert "Traceback" not in run.err, run.err
        assert run.code == 0 and str(pid) in run.out


def test_user_profile_outside_cp1252(tmp_path):
    # C:\Users\Łukasz: Ł is not in cp1252, the code page of a western Windows when output is redirected
    env = {**isolated_env(tmp_path / "Łukasz"), "PYTHONIOENCODING": "cp1252:strict"}
    run = run_fldeploy("config", env=env, timeout=60)
    assert "Traceback" not in run.err, run.err


# what `foundry service status` prints (Foundry Local CLI reference; tests/support/fake_foundry_cli.py), as the
# UTF-8 bytes a console receives, with Windows line ends and an hourglass (its 0x8F is undefined in cp1252)
FOUNDRY_SAYS = "🟢 Model management service is running on http://127.0.0.1:5273/openai/status\r\n⏳ ready\r\n"
# an ASCII locale decodes as strictly as cp1252 does on Windows: Python's UTF-8 coercion and mode kept off
NOT_UTF8 = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


def _foundry_printing_emoji(bin_dir: pathlib.Path) -> pathlib.Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    octal = "".join(f"\\{byte:03o}" for byte in FOUNDRY_SAYS.encode("utf-8"))
    path = bin_dir / "foundry"
    path.write_text(f"#!/bin/sh\nprintf '{octal}'\n")
    path.chmod(0o755)
    return path


def test_foundry_cli_emoji_under_a_locale_that_is_not_utf8(tmp_path):
    foundry = _foundry_printing_emoji(tmp_path / "bin")
    probe = ("import json, subprocess, sys\n"
             "from fldeploy.adapters import proc\n"
             "try:\n"
             "    subprocess.run([sys.argv[1], 'service', 'status'], capture_output=True, text=True)\n"
             "    plain = 'decoded'\n"
             "except UnicodeDecodeError:\n"
             "    plain = 'UnicodeDecodeError'\n"
             "done = proc.run([sys.argv[1], 'service', 'status'], 10)\n"
             "print(json.dumps({'text_mode': plain, 'ok': done.ok, 'stdout': done.stdout}))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(foundry)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **NOT_UTF8, "PYTHONIOENCODING": "cp1252:strict"})
    answer = json.loads(done.stdout)
    assert answer["text_mode"] == "UnicodeDecodeError"  # the finding, reproduced
    assert answer["ok"] and answer["stdout"] == FOUNDRY_SAYS.replace("\r\n", "\n")


def test_doctor_under_a_locale_that_is_not_utf8(fl, tmp_path):
    _foundry_printing_emoji(tmp_path / "bin")
    run = fl("doctor", "--json", PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
             PYTHONIOENCODING="cp1252:strict", timeout=60, **NOT_UTF8)
    assert "Traceback" not in run.err, run.err
    notes = " ".join(run.json["data"]["foundry"]["notes"])
    assert "UnicodeDecodeError" not in notes and "codec" not in notes


def _sleeper(tmp_path: pathlib.Path, on_sigterm: str, stop_file: pathlib.Path | None = None) -> list[str]:
    """A process that says it is ready once its SIGTERM handler is set, then waits for stop_file (if any)."""
    code = ("import os, pathlib, signal, sys, time\n"
            f"signal.signal(signal.SIGTERM, signal.{on_sigterm})\n"
            "pathlib.Path(sys.argv[1]).write_text('ready')\n"
            "while not (len(sys.argv) > 2 and os.path.exists(sys.argv[2])):\n"
            "    time.sleep(0.05)\n")
    ready = tmp_path / f"ready-{time.monotonic_ns()}"
    return [sys.executable, "-c", code, str(ready)] + ([str(stop_file)] if stop_file else [])


def _wait_ready(argv: list[str]) -> None:
    ready = next(arg for arg in argv if os.path.basename(arg).startswith("ready-"))
    deadline = time.monotonic() + 30
    while not os.path.exists(ready):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)


@pytest.fixture
def detached(tmp_path):
    started: list[int] = []

    def start(argv: list[str]) -> int:
        pid = platform.start_detached(argv, str(tmp_path / "child.log"))
        started.append(pid)
        _wait_ready(argv)
        return pid

    yield start
    for pid in started:
        if platform.alive(pid):
            psutil.Process(pid).kill()
        platform.reap(pid)


def test_detached_process_runs_in_its_own_session(detached, tmp_path):
    pid = detached(_sleeper(tmp_path, "SIG_DFL"))
    assert platform.alive(pid) and os.getsid(pid) == pid and platform.owner_matches(pid) is True


def test_stop_asks_then_reports_a_clean_exit(detached, tmp_path):
    pid = detached(_sleeper(tmp_path, "SIG_DFL"))
    assert platform.stop(pid, 5) is True and not platform.alive(pid)


def test_stop_kills_what_does_not_listen(detached, tmp_path):
    pid = detached(_sleeper(tmp_path, "SIG_IGN"))
    waited: list[float] = []
    assert platform.stop(pid, 0.5, waited.append) is False and waited
    assert not platform.alive(pid)


def test_stop_kills_the_children_too(detached, tmp_path):
    # on Windows a venv's python.exe is a launcher: the code runs in its child
    launcher = ("import signal, subprocess, sys\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "subprocess.run(sys.argv[1:])\n")
    pid = detached([sys.executable, "-c", launcher, *_sleeper(tmp_path, "SIG_IGN")])
    children = psutil.Process(pid).children()
    assert children
    assert platform.stop(pid, 0.5) is False
    assert not platform.alive(pid) and not any(platform.alive(c.pid) for c in children)


def test_stop_file_reaches_a_process_that_no_signal_reaches(detached, tmp_path):
    # Windows: a detached process has no console, so CTRL_BREAK_EVENT cannot reach it; the stop file can
    stop_file = tmp_path / "stop-requested"
    pid = detached(_sleeper(tmp_path, "SIG_IGN", stop_file))
    assert platform.stop(pid, 5, ask=lambda: stop_file.write_text("stop\n")) is True


def test_the_embedded_runtime_stops_on_its_stop_file_alone(tmp_path, tiny_model, catalog_url):
    # what reaches it on Windows, where it runs detached without a console: no signal at all here
    foundry = start_foundry(tmp_path, tiny_model, catalog_url)
    state_dir = tmp_path / "state" / "foundry"
    try:
        (state_dir / "stop-requested").write_text("stop\n")
        deadline = time.monotonic() + 30
        while platform.alive(foundry.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not platform.alive(foundry.pid)
        assert json.loads((state_dir / "state.json").read_text())["status"] == "stopped"
    finally:
        stop_foundry(foundry)


def test_a_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not platform.alive(child.pid)
    platform.reap(child.pid)
    assert not platform.alive(child.pid) and platform.owner_matches(child.pid) is None


def test_can_bind_is_false_on_a_taken_port(hold_port):
    pid, port = hold_port("127.0.0.1")
    assert not net.can_bind("127.0.0.1", port)
    assert net.can_bind("127.0.0.1", free_port())


def test_commands_are_resolved_on_path_on_windows_only(monkeypatch, tmp_path):
    tool = tmp_path / "npm"
    tool.write_text("#!/bin/sh\necho packed\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert platform.command(["npm", "pack"]) == ["npm", "pack"]
    monkeypatch.setattr(platform, "PLATFORM", "win32")
    assert platform.command(["npm", "pack"]) == [str(tool), "pack"]  # on Windows: C:\...\nodejs\npm.CMD
    assert platform.command(["not-installed"]) == ["not-installed"]
    assert proc.run(["npm"], 10).stdout == "packed\n"


def test_vendoring_without_npm_says_so(tmp_path):
    script = tmp_path / "deploy" / "webgpu-demo" / "vendor_ort.py"
    script.parent.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "webgpu-demo" / "vendor_ort.py", script)
    done = subprocess.run([sys.executable, str(script)], env={"PATH": str(tmp_path / "empty")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "npm not found on PATH" in done.stderr and "Traceback" not in done.stderr
