"""The one subprocess wrapper: output decoded the same way on every OS, the expected failures as values.
Background processes (start, stop, liveness) are in platform.py."""
from __future__ import annotations

from dataclasses import dataclass

from . import platform


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
        proc = subprocess.run(platform.command(argv), capture_output=True, timeout=timeout, env=env,
                              input=input.encode("utf-8") if input is not None else None,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        return Completed(argv, None, missing=True)
    except PermissionError as e:
        return Completed(argv, None, stderr=str(e), missing=True)
    except subprocess.TimeoutExpired as e:
        out = platform.console_text(e.stdout) if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Completed(argv, None, stdout=out, timed_out=True)
    return Completed(argv, proc.returncode, platform.console_text(proc.stdout), platform.console_text(proc.stderr))


def stream(argv: list[str], timeout: float, on_line, cwd: str | None = None, env: dict | None = None) -> Completed:
    """Run a command, handing each output line (stdout and stderr merged) to on_line as it comes."""
    import subprocess
    import threading

    try:
        child = subprocess.Popen(platform.command(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        return Completed(argv, None, missing=True)
    lines: list[str] = []

    def pump() -> None:
        assert child.stdout is not None  # opened with stdout=PIPE
        for raw in child.stdout:
            line = platform.console_text(raw).rstrip()
            if line:
                lines.append(line)
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:  # it did not stop when asked
            child.kill()
            child.wait()
        reader.join(1)
        return Completed(argv, None, "\n".join(lines), timed_out=True)
    reader.join(5)
    return Completed(argv, child.returncode, "\n".join(lines))


def passthrough(argv: list[str]) -> int | None:
    """Run argv on this terminal (its output is the user's to read); its exit code, None when it is missing.
    Ctrl-C reaches the child too (same process group); we wait for it to finish and report 130."""
    import subprocess

    try:
        child = subprocess.Popen(platform.command(argv))
    except FileNotFoundError:
        return None
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.wait()
        return 130
