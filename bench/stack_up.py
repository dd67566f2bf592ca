#!/usr/bin/env python3
"""`fldeploy up` against raw `docker compose up -d --wait` on the same rendered files, fresh volume and warm,
plus Open WebUI's first-boot time and the image sizes. Uses the offline demo Foundry and locally built images
(base fldeploy-local/debian:bookworm, as scripts/setup.sh --local-base makes it); cleans up after itself.
Usage: python bench/stack_up.py"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FL = [sys.executable, "-m", "fldeploy"]


def timed(argv, env, cwd=None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return time.perf_counter() - start, done


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fldeploy-stack-bench-"))
    project = f"flbench{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLDEPLOY_")}
    env.update(FLDEPLOY_STATE_DIR=str(work / "state"), FLDEPLOY_MODEL_CACHE_DIR=str(work / "models"),
               XDG_CONFIG_HOME=str(work / "config"), FLDEPLOY_STACK_DIR=str(work / "stack"),
               FLDEPLOY_PROJECT=project, FLDEPLOY_VOLUME=f"{project}-data", FLDEPLOY_BUILD_LOCAL="1",
               FLDEPLOY_BASE_IMAGE="fldeploy-local/debian:bookworm", FLDEPLOY_OPENWEBUI_PORT="13300",
               FLDEPLOY_CHAINLIT_PORT="13301")
    compose = ["docker", "compose", "-p", project]
    stack = str(work / "stack")
    try:
        timed(FL + ["foundry", "start", "--demo", "--port", "15373"], env)
        timed(FL + ["render"], env)
        timed(compose + ["build"], env, stack)  # images cached: not part of the comparison
        raw_fresh, _ = timed(compose + ["up", "-d", "--wait"], env, stack)
        timed(compose + ["down", "--volumes"], env, stack)
        fl_fresh, done = timed(FL + ["up", "--json"], env)
        fresh = json.loads(done.stdout)["data"]["timings"]
        raw_warm = statistics.median(timed(compose + ["up", "-d", "--wait"], env, stack)[0] for _ in range(5))
        warm_runs = [json.loads(timed(FL + ["up", "--json"], env)[1].stdout)["data"]["timings"] for _ in range(5)]
        fl_warm = statistics.median(r["total_s"] for r in warm_runs)
        fl_warm_compose = statistics.median(r["compose_up_s"] for r in warm_runs)
        fl_warm_check = statistics.median(r["check_s"] for r in warm_runs)
        sizes = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"],
                               capture_output=True, text=True).stdout.split("\n")
        print("stack up: fldeploy up vs raw `docker compose up -d --wait` on the same files (seconds)")
        print(f"  fresh volume: raw compose {raw_fresh:.2f} | fldeploy up {fl_fresh:.2f} "
              f"(preflight {fresh['preflight_s']:.2f}, compose {fresh['compose_up_s']:.2f}, "
              f"end-to-end check {fresh['check_s']:.2f})")
        print(f"  warm (nothing changed, median of 5): raw compose {raw_warm:.2f} | fldeploy up {fl_warm:.2f} "
              f"(compose {fl_warm_compose:.2f}, end-to-end check {fl_warm_check:.2f})")
        ratio = fl_warm_compose / raw_warm
        print(f"  target: fldeploy's compose step <= 1.1x raw, plus the check: {ratio:.2f}x -> "
              f"{'met' if ratio <= 1.1 else 'NOT MET'}")
        print(f"  Open WebUI first boot (fresh volume, raw compose until healthy): {raw_fresh:.2f} s")
        print("image sizes:")
        for line in sizes:
            if line.startswith(("fldeploy", "ghcr.io/open-webui")):
                print(f"  {line}")
    finally:
        subprocess.run(compose + ["down", "--volumes"], cwd=stack, capture_output=True)
        subprocess.run(FL + ["foundry", "stop"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
