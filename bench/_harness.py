"""Harness of bench/run.py: resources torn down on any exit, timed series, and the printed table."""
from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PY = os.path.join(VENV_BIN, "python")
FLDEPLOY = os.path.join(VENV_BIN, "fldeploy")
SERIES_BUDGET_S = 12.0   # a series stops early (after >= 3 rounds) once it has used this much time
RUN_TIMEOUT_S = 30.0     # one command; a timeout is reported, not waited out

# Settings that would make fldeploy's behaviour depend on the caller's shell.
SCRUB_ENV = ("BASE_URL", "MODEL", "API_KEY", "FLDEPLOY_CONFIG")


def as_installed() -> None:
    """Bytecode for fldeploy's sources, as an installed wheel has: an editable install under
    PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run and time the compiler."""
    subprocess.run([PY, "-m", "compileall", "-q", os.path.join(ROOT, "src", "fldeploy")],
                   stdout=subprocess.DEVNULL, check=False)


class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


# --------------------------------------------------------------------------------------------- resources

class Resources:
    """Everything the bench starts, torn down in reverse order exactly once."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, object]] = []
        self.tmp_root = tempfile.mkdtemp(prefix="fldeploy-bench-")
        self.add("remove temp dir", lambda: shutil.rmtree(self.tmp_root, ignore_errors=True))

    def add(self, what: str, fn) -> None:
        self._undo.append((what, fn))

    def release(self, what: str) -> None:
        """Undo one resource now (e.g. stop Foundry before the 'everything dead' doctor runs)."""
        for i in range(len(self._undo) - 1, -1, -1):
            if self._undo[i][0] == what:
                _, fn = self._undo.pop(i)
                old = signal.signal(signal.SIGINT, signal.SIG_IGN)
                try:
                    fn()
                finally:
                    signal.signal(signal.SIGINT, old)
                return

    def mkdtemp(self, name: str) -> str:
        path = os.path.join(self.tmp_root, name)
        os.makedirs(path, exist_ok=True)
        return path

    def close(self) -> None:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup short
        try:
            while self._undo:
                what, fn = self._undo.pop()
                try:
                    fn()
                except Exception as exc:  # keep cleaning up the rest
                    print(f"cleanup: {what} failed: {exc}", file=sys.stderr)
        finally:
            signal.signal(signal.SIGINT, old)


def base_env(res: Resources, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLDEPLOY_") and k not in SCRUB_ENV}
    env["XDG_CONFIG_HOME"] = res.mkdtemp("xdg-config")  # no user fldeploy.yaml
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------- timing

class Series:
    def __init__(self, label: str) -> None:
        self.label = label
        self.times: list[float] = []     # ms
        self.codes: set = set()
        self.timeouts = 0
        self.last_stdout = ""

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def time_once(argv: list[str], env: dict, cwd: str, series: Series) -> None:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        series.timeouts += 1
        series.codes.add("timeout")
        return
    series.times.append((time.perf_counter() - start) * 1000)
    series.codes.add(done.returncode)
    series.last_stdout = done.stdout.decode(errors="replace")


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def measure(cmds: list[tuple[str, list[str]]], runs: int, env: dict, cwd: str,
            warmup: int = 1) -> list[Series]:
    """Interleave the commands round by round (so drift hits all alike); one untimed warm-up round."""
    progress(", ".join(label for label, _ in cmds))
    out = [Series(label) for label, _ in cmds]
    scratch = Series("warmup")
    for _ in range(warmup):
        for _, argv in cmds:
            time_once(argv, env, cwd, scratch)
    started = time.monotonic()
    for i in range(runs):
        for s, (_, argv) in zip(out, cmds):
            time_once(argv, env, cwd, s)
        if i >= 2 and time.monotonic() - started > SERIES_BUDGET_S:
            break
    return out


# --------------------------------------------------------------------------------------------- table

ROWS: list[str] = []
TARGETS: list[tuple[str, str, str, str]] = []


def fmt(v: float | None, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.1f}{unit}"


def row(s: Series, remark: str = "") -> None:
    if not s.times:
        ROWS.append(f"  {s.label:<50} {0:>3}  {'n/a':>9} {'':>9} {'':>9}  {remark or 'no completed run'}"
                    + (f" ({s.timeouts} timed out)" if s.timeouts else ""))
        return
    codes = ",".join(str(c) for c in sorted(s.codes, key=str))
    extra = f"exit {codes}" + (f"; {s.timeouts} timed out" if s.timeouts else "")
    ROWS.append(f"  {s.label:<50} {s.n:>3}  {s.median:>9.1f} {min(s.times):>9.1f} {max(s.times):>9.1f}  "
                f"{extra}{'; ' + remark if remark else ''}")


def ratio_row(label: str, num: Series, den: Series) -> float | None:
    r = num.median / den.median if num.median and den.median else None
    ROWS.append(f"  {label:<50} {'':>3}  {fmt(r, 'x'):>9}")
    return r


def section(title: str) -> None:
    ROWS.append("")
    ROWS.append(title)


def target(name: str, measured: float | None, limit: float, unit: str) -> None:
    if measured is None:
        TARGETS.append((name, "n/a", f"{limit:g}{unit}", "UNKNOWN"))
        return
    shown = f"{measured:.2f}{unit}" if unit == "x" else f"{measured:.0f}{unit}"
    TARGETS.append((name, shown, f"{limit:g}{unit}", "met" if measured <= limit else "NOT MET"))


def note(text: str) -> None:
    ROWS.append(f"    - {text}")


