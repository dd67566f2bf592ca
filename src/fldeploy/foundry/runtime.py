"""The embedded Foundry Local process: `python -m fldeploy.foundry.runtime <spec.json>`.

Runs the real Foundry Local runtime (foundry-local-sdk 2.x) with its OpenAI-compatible web service and
reports through a JSON state file: {"status": "starting|downloading|running|failed|stopped", ...}.
Stops on SIGTERM/SIGINT (Ctrl-Break/Ctrl-C on Windows) or when the spec's stop file appears, the one request a
process started detached on Windows can receive. POST /shutdown is never used: in SDK 2.2.1 it wedges the
process.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import cast

from ..adapters.platform import exit_signals


def write_state(path: str, doc: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({**doc, "pid": os.getpid(), "updated_at": time.time()}, f)
    os.replace(tmp, path)


def serve(spec: dict) -> int:
    state_path = spec["state_file"]
    base = {"model": spec["model"], "urls_requested": spec["urls"], "demo": spec.get("demo", False),
            "log": spec.get("log")}

    def report(status: str, **extra) -> None:
        write_state(state_path, {**base, "status": status, **extra})

    def fail(message: str, fix: str, code: int = 5) -> int:
        report("failed", error=message, fix=fix, exit_code=code)
        print(f"fldeploy foundry: {message}", file=sys.stderr, flush=True)
        return 1

    report("starting")
    catalog_url = spec.get("catalog_url")
    if spec.get("demo"):
        from . import demo
        try:
            demo.prepare(spec["cache_dir"], spec["demo_build_dir"])
        except ImportError as exc:
            return fail(f"the demo model cannot be built: {exc}", "pip install 'fldeploy[demo]'", 3)
        _, catalog_url = demo.start_catalog()
    try:
        from foundry_local_sdk import Configuration, FoundryLocalManager, LogLevel
    except ImportError:
        return fail("foundry-local-sdk is not installed", "pip install 'fldeploy[foundry]'", 3)

    cfg = Configuration(
        app_name="fldeploy", app_data_dir=spec["app_dir"], model_cache_dir=spec["cache_dir"],
        # a StrEnum, which mypy knows from Python 3.11 on only (the SDK needs 3.11)
        logs_dir=spec["logs_dir"], log_level=cast(LogLevel, LogLevel.WARNING),
        web=Configuration.WebService(urls=";".join(spec["urls"])),  # ';' separates several listen URLs
        catalog_urls=[(catalog_url, None)] if catalog_url else None,
        disable_nonessential_telemetry=True,
    )
    try:
        FoundryLocalManager.initialize(cfg)
        manager = FoundryLocalManager.instance
        if manager is None:
            return fail("Foundry Local did not initialise", f"see {spec.get('log')}")
        catalog = manager.get_catalog()
        name = spec["model"]
        model = catalog.get_model_variant(name) if ":" in name else catalog.get_model(name)
        if model is None:
            aliases = sorted({m.alias for m in catalog.list_models()})
            listed = ", ".join(aliases[:15]) or "none (is the catalog reachable?)"
            return fail(f"model {name!r} is not in the catalog; the catalog lists: {listed}",
                        "pass a listed alias with --model, or --catalog-url for a private catalog", 3)
        if not model.is_cached:
            report("downloading", progress=0.0, model_id=model.id)
            model.download(lambda pct: report("downloading", progress=round(pct, 1), model_id=model.id))
        model.load()
        manager.start_web_service()
    except Exception as exc:  # the native runtime raises FoundryLocalException for every failure
        text = str(exc)
        if "Address already in use" in text:
            return fail(f"a listen address is taken: {', '.join(spec['urls'])}",
                        "pick another port with --port", 4)
        return fail(f"Foundry Local failed to start: {text[:300]}", f"see {spec.get('log')}")

    report("running", urls=list(manager.urls or []), model_id=model.id, alias=model.alias, started_at=time.time())
    stop = threading.Event()
    for sig in exit_signals():
        signal.signal(sig, lambda *_: stop.set())
    stop_file = spec.get("stop_file")
    while not stop.wait(0.5):
        if stop_file and os.path.exists(stop_file):
            break
    try:
        manager.stop_web_service()
        model.unload()
    finally:
        manager.close()  # native teardown, ~3.5 s
        report("stopped")
    return 0


if __name__ == "__main__":
    with open(sys.argv[1]) as spec_file:
        sys.exit(serve(json.load(spec_file)))
