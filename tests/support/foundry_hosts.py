"""Real Foundry Local runtimes as separate hosts on loopback addresses of their own (127.0.0.2, 127.0.0.3, ...):
the runtime fldeploy embeds (`python -m fldeploy.foundry.runtime`), serving the offline tiny model, each with its
own folders; started and stopped by the test (SIGTERM, as `fldeploy foundry stop` does)."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from fldeploy.foundry import demo

from .fixtures import ROOT
from .servers import free_port

READY_S = 60


@dataclass
class Host:
    address: str
    port: int
    root: pathlib.Path
    proc: subprocess.Popen | None = None
    model_id: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self, tiny_model: str, catalog_url: str) -> "Host":
        cache = self.root / "models"
        demo.install_into_cache(tiny_model, str(cache))
        for sub in ("app", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        state = self.root / "state.json"
        if state.exists():
            state.unlink()
        spec = {"model": demo.ALIAS, "demo": False, "urls": [self.url], "catalog_url": catalog_url,
                "cache_dir": str(cache), "app_dir": str(self.root / "app"), "logs_dir": str(self.root / "logs"),
                "demo_build_dir": str(self.root / "build"), "state_file": str(state),
                "log": str(self.root / "foundry.log"), "stop_file": str(self.root / "stop")}
        (self.root / "spec.json").write_text(json.dumps(spec))
        log = open(self.root / "foundry.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "fldeploy.foundry.runtime", str(self.root / "spec.json")],
                                     cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if state.exists():
                doc = json.loads(state.read_text() or "{}")
                if doc.get("status") == "running":
                    self.model_id = doc.get("model_id") or ""
                    return self
                if doc.get("status") == "failed":
                    break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"Foundry on {self.url} did not start: {(self.root / 'foundry.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def hosts_on_loopback(root: pathlib.Path, *addresses: str) -> list[Host]:
    return [Host(address, free_port(), root / address) for address in addresses]
