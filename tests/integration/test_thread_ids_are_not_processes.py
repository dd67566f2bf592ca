"""Linux answers /proc/<id> for a thread id too (not listed, but readable, with the whole process's command
line and owner). fldeploy reads /proc itself (psutil's import is too slow for `ports`), so a thread id must
never pass for a process: a stale state file whose pid was reused as a thread id of another runtime would
otherwise be reported running, and stopped."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from fldeploy.adapters import platform

THREADS = "import threading, time, sys; [threading.Thread(target=time.sleep, args=(60,), daemon=True).start() " \
          "for _ in range(3)]; print('ready', flush=True); time.sleep(60)"


@pytest.fixture
def threaded():
    """A process of this user with threads, its command line naming the embedded runtime's module."""
    child = subprocess.Popen([sys.executable, "-c", THREADS, "fldeploy.foundry.runtime"], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "ready"
    tids = [int(t) for t in os.listdir(f"/proc/{child.pid}/task") if int(t) != child.pid]
    yield child, tids
    child.kill()
    child.wait()


def test_a_thread_id_is_not_a_live_process(threaded):
    child, tids = threaded
    assert platform.alive(child.pid) and platform.owner_matches(child.pid) is True
    for tid in tids:
        assert platform.alive(tid) is False
        assert platform.owner_matches(tid) is None
        assert platform.cmdline(tid) is None
        assert platform.proc_process(tid)["gone"] is True


def test_a_state_file_naming_a_thread_is_not_a_running_foundry(threaded, fl, tmp_path):
    child, tids = threaded
    state_dir = tmp_path / "state"
    (state_dir / "foundry").mkdir(parents=True)
    (state_dir / "foundry" / "state.json").write_text(json.dumps(
        {"pid": tids[0], "status": "running", "urls": ["http://127.0.0.1:1"], "started": time.time()}))
    status = fl("foundry", "status", "--json", FLDEPLOY_STATE_DIR=str(state_dir))
    assert status.json["data"]["running"] is False, status.out
    stop = fl("foundry", "stop", "--json", FLDEPLOY_STATE_DIR=str(state_dir))
    assert stop.code == 0 and stop.json["data"]["changed"] is False, stop.out
    assert child.poll() is None, "the process owning that thread was not signalled"
