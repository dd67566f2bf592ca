#!/usr/bin/env python3
"""fldeploy benchmark: one run, one table of figures (median, min, max) and ratios against anchors.

    python bench/run.py            # any Python 3.9+; it drives the project's .venv by path

Figures:
  1. `fldeploy --help` cold start vs bare `python -c pass` (the venv's interpreter)
  2. `fldeploy ports --json` vs `ss -ltnp` and `lsof -nP -iTCP -sTCP:LISTEN` with 200 and 2,000
     listening loopback sockets (held by a helper subprocess), plus `fldeploy ports <held port>`
  3. `fldeploy doctor --json` healthy (embedded demo Foundry) vs dead (hung Foundry, no Docker)

It never asserts on targets: it prints each figure, its target and whether it is met.
Everything it starts (helper process, hung socket, embedded Foundry, temp dirs) is torn down on exit,
Ctrl-C and SIGTERM included. All traffic it causes goes to 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import (  # noqa: E402
    as_installed,
    FLDEPLOY, PY, ROWS, TARGETS, Interrupted, Resources, Series, _on_signal, base_env, measure, note, ratio_row, row,
    section, target)

HELP_RUNS = 15
PORTS_RUNS = 9
DOCTOR_RUNS = 5
LISTENER_COUNTS = (200, 2000)

# --------------------------------------------------------------------------------------------- 1. --help

def bench_help(res: Resources) -> None:
    env = base_env(res)
    cwd = res.mkdtemp("cwd")
    bare, helps = measure([("python -c pass (venv interpreter)", [PY, "-c", "pass"]),
                           ("fldeploy --help", [FLDEPLOY, "--help"])], HELP_RUNS, env, cwd)
    section("1. cold start                                         n  median ms    min ms    max ms")
    row(bare)
    row(helps)
    r = ratio_row("ratio --help / bare python", helps, bare)
    target("--help < 10x bare python", r, 10, "x")


# --------------------------------------------------------------------------------------------- 2. ports

LISTENER_HELPER = r"""
import json, resource, socket, sys
n = int(sys.argv[1])
need = n + 128
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < need:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need, hard), hard))
        if hard != resource.RLIM_INFINITY and hard < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))   # works as root only
    except (ValueError, OSError):
        pass
socks = []
try:
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(s)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
except OSError as e:
    print(json.dumps({"error": str(e), "opened": len(socks)}), flush=True)
    sys.exit(1)
print(json.dumps({"ports": [s.getsockname()[1] for s in socks]}), flush=True)
sys.stdin.read()   # hold them until the bench closes our stdin (or dies)
"""


def start_listeners(res: Resources, n: int) -> tuple[subprocess.Popen, list[int]]:
    helper = subprocess.Popen([PY, "-c", LISTENER_HELPER, str(n)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, start_new_session=True)

    def stop() -> None:
        try:
            helper.stdin.close()
        except OSError:
            pass
        try:
            helper.wait(3)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        helper.stdout.close()

    res.add(f"stop listener helper pid {helper.pid}", stop)
    line = helper.stdout.readline().decode()
    doc = json.loads(line) if line.strip() else {"error": "helper exited", "opened": 0}
    if "error" in doc:
        raise RuntimeError(f"listener helper could not open {n} sockets: {doc['error']} "
                           f"(opened {doc.get('opened')})")
    return helper, doc["ports"]


def bench_ports(res: Resources) -> None:
    env = base_env(res, FLDEPLOY_STATE_DIR=res.mkdtemp("state-ports"))  # no embedded Foundry port
    cwd = res.mkdtemp("cwd")
    have_ss, have_lsof = shutil.which("ss"), shutil.which("lsof")
    section("2. port scan (listening TCP sockets on 127.0.0.1)      n  median ms    min ms    max ms")
    for n in LISTENER_COUNTS:
        total = sum(1 for _ in open("/proc/net/tcp")) - 1 if os.path.exists("/proc/net/tcp") else -1
        helper, ports = start_listeners(res, n)
        held = ports[len(ports) // 2]
        cmds = [(f"[{n}] fldeploy ports --json", [FLDEPLOY, "ports", "--json"]),
                (f"[{n}] fldeploy ports {held} --json (held port)", [FLDEPLOY, "ports", str(held), "--json"])]
        if have_ss:
            cmds.append((f"[{n}] ss -ltnp", ["ss", "-ltnp"]))
        if have_lsof:
            cmds.append((f"[{n}] lsof -nP -iTCP -sTCP:LISTEN", ["lsof", "-nP", "-iTCP", "-sTCP:LISTEN"]))
        series = measure(cmds, PORTS_RUNS, env, cwd)
        after = sum(1 for _ in open("/proc/net/tcp")) - 1 if total >= 0 else -1
        by = {s.label.split("] ", 1)[1].split(" ")[0] + (" held" if "held" in s.label else ""): s
              for s in series}
        fl, fl_held = by["fldeploy"], by["fldeploy held"]
        ss_s, lsof_s = by.get("ss"), by.get("lsof")
        for s in series:
            row(s)
        if ss_s:
            ratio_row(f"[{n}] ratio ports / ss", fl, ss_s)
        if lsof_s:
            r = ratio_row(f"[{n}] ratio ports / lsof", fl, lsof_s)
            ratio_row(f"[{n}] ratio ports <held> / lsof", fl_held, lsof_s)
            if n == 2000:
                target("ports <= lsof at 2,000 listeners", r, 1, "x")
            elif n == 200:
                target("ports within 3x lsof at 200 listeners", r, 3, "x")
        else:
            note("lsof not installed: no lsof anchor")
        # sanity: the held-port run did resolve the owner (the helper), so that path was measured
        try:
            doc = json.loads(fl_held.last_stdout)
            entry = next(p for p in doc["data"]["ports"] if p.get("port") == held)
            holders = entry.get("holders") or []
            pids = [h.get("pid") for h in holders]
            procs = [(h.get("process") or {}).get("name") for h in holders]
            ok = helper.pid in pids
            note(f"held port {held}: state={entry.get('state')}, holder pids={pids} {procs} "
                 f"({'owner resolved: the helper' if ok else 'helper NOT found as owner'})")
        except Exception as exc:
            note(f"held port {held}: could not read the JSON ({exc.__class__.__name__})")
        note(f"/proc/net/tcp rows: {total} before, {after} with the helper")
        res.release(f"stop listener helper pid {helper.pid}")

    # what a port scan cannot go below: the imports every `fldeploy ports` pays before scanning
    floor = measure([("import fldeploy.cli", [PY, "-c", "import fldeploy.cli"]),
                     ("import fldeploy.cli + typer._adapters (pydantic)",
                      [PY, "-c", "import fldeploy.cli, typer._adapters"])], PORTS_RUNS, env, cwd)
    section("2b. import floor of a subcommand (no listeners held)   n  median ms    min ms    max ms")
    for s in floor:
        row(s)
    note("typer parses every subcommand's arguments through pydantic TypeAdapters (typer._adapters); "
         "--help does not")


# --------------------------------------------------------------------------------------------- 3. doctor

class HungServer:
    """Listens on 127.0.0.1 and accepts, but never reads or answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="hung-server", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def _pid_cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def start_foundry(res: Resources, env: dict, cwd: str, state_dir: str) -> tuple[dict | None, str]:
    """`fldeploy foundry start --demo --json`; registers `fldeploy foundry stop` (+ a pid-checked kill)."""

    def stop() -> None:
        subprocess.run([FLDEPLOY, "foundry", "stop", "--json"], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, start_new_session=True)
        # belt and braces: the runtime we spawned, recognised by our temp state dir on its command line
        try:
            with open(os.path.join(state_dir, "foundry", "foundry.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        if state_dir.encode() in _pid_cmdline(pid):
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(pid, sig)  # it runs in its own session: pgid == pid
                except (ProcessLookupError, PermissionError):
                    return
                end = time.monotonic() + wait
                while time.monotonic() < end and state_dir.encode() in _pid_cmdline(pid):
                    time.sleep(0.1)

    res.add("fldeploy foundry stop", stop)
    t0 = time.perf_counter()
    done = subprocess.run([FLDEPLOY, "foundry", "start", "--demo", "--json", "--timeout", "90"], env=env,
                          cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    elapsed = (time.perf_counter() - t0) * 1000
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        return None, f"foundry start printed no JSON (exit {done.returncode}): {done.stderr.decode()[-200:]}"
    if doc.get("exit_code") != 0:
        errs = "; ".join(e.get("message", "") for e in doc.get("errors", []))
        return None, f"foundry start failed (exit {doc.get('exit_code')}): {errs}"
    return doc["data"], f"foundry start --demo took {elapsed:.0f} ms; url {doc['data'].get('url')}"


def doctor_notes(s: Series) -> None:
    try:
        doc = json.loads(s.last_stdout)
    except ValueError:
        note("doctor printed no JSON")
        return
    data = doc.get("data") or {}
    summary = data.get("summary") or {}
    note("summary " + " ".join(f"{k}={v}" for k, v in summary.items())
         + f"; status {doc.get('status')}, exit {doc.get('exit_code')}")
    bad = [f"{c['id']}={c['status']}" for c in data.get("checks", []) if c.get("status") not in ("ok", "skip")]
    if bad:
        note("not ok: " + ", ".join(bad))
    foundry = data.get("foundry") or {}
    cands = foundry.get("candidates") or []
    if cands:
        note("foundry candidates: " + ", ".join(f"{c.get('url')} ({c.get('source')}: {c.get('answer')})"
                                                 for c in cands))
        foreign = [c.get("url") for c in cands
                   if not any(h in (c.get("url") or "") for h in ("//127.0.0.1:", "//[::1]:", "//localhost:"))]
        if foreign:
            note(f"WARNING: doctor probed non-loopback URLs: {foreign}")


def bench_doctor(res: Resources) -> None:
    cwd = res.mkdtemp("cwd")
    section("3. doctor                                             n  median ms    min ms    max ms")

    # healthy: an embedded demo Foundry of our own
    state = res.mkdtemp("state-healthy")
    env = base_env(res, FLDEPLOY_STATE_DIR=state, FLDEPLOY_MODEL_CACHE_DIR=res.mkdtemp("model-cache"))
    info, msg = start_foundry(res, env, cwd, state)
    note(msg)
    if info is not None:
        (healthy,) = measure([("doctor --json, healthy", [FLDEPLOY, "doctor", "--json"])], DOCTOR_RUNS, env, cwd)
        row(healthy)
        doctor_notes(healthy)
        target("doctor < 1.5 s healthy", healthy.median, 1500, " ms")
    else:
        target("doctor < 1.5 s healthy", None, 1500, " ms")
    t0 = time.perf_counter()
    res.release("fldeploy foundry stop")  # our Foundry must not be found by the 'dead' runs
    note(f"foundry stop took {(time.perf_counter() - t0) * 1000:.0f} ms")

    # dead: Foundry hangs, Docker socket missing, no state
    hung = HungServer()
    res.add("close hung server", hung.close)
    env = base_env(res, FLDEPLOY_STATE_DIR=res.mkdtemp("state-dead"),
                   FLDEPLOY_FOUNDRY_URL=f"http://127.0.0.1:{hung.port}",
                   DOCKER_HOST="unix:///nonexistent/docker.sock")
    (dead,) = measure([("doctor --json, Foundry hung + Docker down", [FLDEPLOY, "doctor", "--json"])],
                      DOCTOR_RUNS, env, cwd)
    row(dead)
    doctor_notes(dead)
    note(f"hung server on 127.0.0.1:{hung.port} accepted {len(hung.conns)} connections, answered none")
    target("doctor < 3 s with Foundry hung + Docker down", dead.median, 3000, " ms")


# --------------------------------------------------------------------------------------------- main

def main() -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    if not os.access(FLDEPLOY, os.X_OK):
        print(f"no fldeploy at {FLDEPLOY}: create the venv first", file=sys.stderr)
        return 2
    as_installed()
    res = Resources()
    t0 = time.monotonic()
    interrupted = None
    try:
        bench_help(res)
        bench_ports(res)
        bench_doctor(res)
    except (KeyboardInterrupt, Interrupted) as exc:
        interrupted = exc.__class__.__name__ if isinstance(exc, KeyboardInterrupt) else str(exc)
    finally:
        res.close()

    ver = subprocess.run([PY, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    print(f"fldeploy bench — {platform.node()} {platform.system()} {platform.release()}, "
          f"{os.cpu_count()} CPUs, venv python {ver.stdout.strip()}; medians over interleaved runs, "
          f"1 warm-up discarded; times in ms (wall clock, fork+exec included)")
    print("\n".join(ROWS))
    print("")
    print("targets")
    w = max([len(t[0]) for t in TARGETS] + [10])
    for name, measured, limit, verdict in TARGETS:
        print(f"  {name:<{w}}  measured {measured:>10}   target <= {limit:<8}  {verdict}")
    print(f"\nwhole run {time.monotonic() - t0:.1f} s" + (f"; INTERRUPTED ({interrupted}), partial figures"
                                                          if interrupted else ""))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
