"""The one subprocess wrapper, and small helpers for processes fldeploy starts in the background."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass


@dataclass
class Completed:
    argv: list[str]
    returncode: int | None  # None: did not finish (missing or timed out)
    stdout: str = ""
    stderr: str = ""
    missing: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(argv: list[str], timeout: float, env: dict | None = None, input: str | None = None) -> Completed:
    """Run a command, never raising for the expected failures: missing binary, timeout, non-zero exit."""
    import subprocess

    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        return Completed(argv, None, missing=True)
    except PermissionError as e:
        return Completed(argv, None, stderr=str(e), missing=True)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Completed(argv, None, stdout=out, timed_out=True)
    return Completed(argv, proc.returncode, proc.stdout, proc.stderr)


def spawn_detached(argv: list[str], log_path: str, env: dict | None = None) -> int:
    """Start a process in its own session, output appended to log_path; returns its pid."""
    import subprocess

    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, close_fds=True)
    return proc.pid


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def terminate(pid: int, grace: float, on_wait=None) -> bool:
    """SIGTERM, wait up to grace seconds (calling on_wait(elapsed)), then SIGKILL. True if it exited."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    start = time.monotonic()
    while time.monotonic() - start < grace:
        reap(pid)
        if not pid_alive(pid):
            return True
        if on_wait:
            on_wait(time.monotonic() - start)
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    reap(pid)
    return False


def stream(argv: list[str], timeout: float, on_line, cwd: str | None = None, env: dict | None = None) -> Completed:
    """Run a command, handing each output line (stdout and stderr merged) to on_line as it comes."""
    import subprocess
    import threading

    try:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace")
    except FileNotFoundError:
        return Completed(argv, None, missing=True)
    lines: list[str] = []

    def pump() -> None:
        assert child.stdout is not None  # opened with stdout=PIPE
        for line in child.stdout:
            line = line.rstrip()
            if line:
                lines.append(line)
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait(10)
        reader.join(1)
        return Completed(argv, None, "\n".join(lines), timed_out=True)
    reader.join(5)
    return Completed(argv, child.returncode, "\n".join(lines))
