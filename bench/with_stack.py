#!/usr/bin/env python3
"""fldeploy's speed with the user's stack up, each figure beside its anchor, in one run.

    python bench/with_stack.py     # after ./scripts/quickstart (or any `fldeploy up`); uses your settings

Figures (the targets of the issue that asked for them):
  1. `fldeploy ports --json` vs `lsof -nP -iTCP -sTCP:LISTEN` at this host's listener count, and with
     2,000 more listeners held on 127.0.0.1             target: <= 3x lsof, and <= 1x lsof at 2,000
  2. `fldeploy doctor --json` on the healthy stack       target: < 1.5 s; per-check durations listed
  3. `fldeploy up` with nothing to change vs `docker compose up -d --wait` on the same files
                                                         target: <= 1.2 s
It changes nothing: `up` on an unchanged stack renders the same files and Compose leaves the containers.
It never asserts on targets; everything it starts is torn down on exit. All traffic goes to 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import (  # noqa: E402
    as_installed,
    FLDEPLOY, ROWS, TARGETS, Resources, measure, note, ratio_row, row, section, target)
from run import start_listeners  # noqa: E402

RUNS = 7


def stack_dir(env: dict) -> str | None:
    done = subprocess.run([FLDEPLOY, "status", "--json"], env=env, capture_output=True, text=True, timeout=120)
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        return None
    data = doc.get("data") or {}
    healthy = data.get("services") and doc.get("exit_code") == 0
    return data.get("stack_dir") if healthy else None


def bench_ports(res: Resources, env: dict, cwd: str) -> None:
    section("1. ports with the stack up                           n  median ms    min ms    max ms")
    for label, extra in (("usual", 0), ("+2,000", 2000)):
        helper = None
        if extra:
            helper, _ = start_listeners(res, extra)
        fl, lsof = measure([(f"[{label}] fldeploy ports --json", [FLDEPLOY, "ports", "--json"]),
                            (f"[{label}] lsof -nP -iTCP -sTCP:LISTEN", ["lsof", "-nP", "-iTCP", "-sTCP:LISTEN"])],
                           RUNS, env, cwd)
        row(fl)
        row(lsof)
        ratio = ratio_row(f"[{label}] ratio ports / lsof", fl, lsof)
        target("ports <= 3x lsof, stack up" if not extra else "ports <= 1x lsof at +2,000, stack up", ratio,
               1 if extra else 3, "x")
        if helper:
            res.release(f"stop listener helper pid {helper.pid}")


def bench_doctor(env: dict, cwd: str) -> None:
    section("2. doctor on the healthy stack                       n  median ms    min ms    max ms")
    (doctor,) = measure([("fldeploy doctor --json", [FLDEPLOY, "doctor", "--json"])], RUNS, env, cwd)
    row(doctor)
    target("doctor on a healthy full stack < 1.5 s", doctor.median, 1500, " ms")
    try:
        checks = json.loads(doctor.last_stdout)["data"]["checks"]
        summary = ", ".join(f"{c['id']} {c['status']} {c.get('duration_ms', 0):.0f} ms" for c in checks)
        note(f"last run, per check: {summary}")
    except (ValueError, KeyError):
        note("could not read doctor's JSON")


def bench_up(env: dict, cwd: str, folder: str) -> None:
    section("3. up with nothing to change                         n  median ms    min ms    max ms")
    project = json.loads(subprocess.run(["docker", "compose", "--project-directory", folder, "config", "--format",
                                         "json"], capture_output=True, text=True, env=env).stdout)["name"]
    up, raw = measure([("fldeploy up --json (unchanged stack)", [FLDEPLOY, "up", "--json"]),
                       ("docker compose up -d --wait (anchor)",
                        ["docker", "compose", "--project-directory", folder, "-p", project, "up", "-d", "--wait"])],
                      5, env, cwd)
    row(up)
    row(raw)
    ratio_row("ratio up / raw compose up", up, raw)
    target("up with nothing to change <= 1.2 s", up.median, 1200, " ms")
    try:
        timings = json.loads(up.last_stdout)["data"]["timings"]
        note(f"last up: {timings}")
    except (ValueError, KeyError):
        note("could not read up's JSON")


def main() -> int:
    env = dict(os.environ, NO_COLOR="1")
    cwd = os.getcwd()
    folder = stack_dir(env)
    if not folder:
        print("no healthy stack: run ./scripts/quickstart (or fldeploy up) first", file=sys.stderr)
        return 2
    as_installed()
    res = Resources()
    try:
        bench_ports(res, env, cwd)
        bench_doctor(env, cwd)
        bench_up(env, cwd, folder)
    finally:
        res.close()
    print(f"fldeploy with the stack up ({folder}); load average {os.getloadavg()[0]:.2f} at the end")
    print("\n".join(ROWS))
    print("\ntargets")
    for name, measured, limit, verdict in TARGETS:
        print(f"  {name:<48} {measured:>10} (target {limit}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
