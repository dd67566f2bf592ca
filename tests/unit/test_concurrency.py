"""Bounded effects: a task that hangs is reported as TimedOut and never holds the process's exit (an executor's
worker thread would: `up` printed its result and then did not end)."""
from __future__ import annotations

import subprocess
import sys
import time

from fldeploy.concurrency import Failed, Started, TimedOut, gather


def test_started_gives_the_value_or_the_failure():
    assert Started(lambda: 42).result(5) == 42
    failed = Started(lambda: 1 / 0).result(5)
    assert isinstance(failed, Failed) and isinstance(failed.error, ZeroDivisionError)


def test_a_hung_task_times_out_and_the_process_still_exits_at_once():
    script = ("import time\n"
              "from fldeploy.concurrency import Started, gather\n"
              "print(Started(lambda: time.sleep(60)).result(0.2))\n"
              "print(gather({'hung': lambda: time.sleep(60)}, 0.2))\n")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["TimedOut(seconds=0.2)", "{'hung': TimedOut(seconds=0.2)}"]
    assert time.monotonic() - start < 20  # not the 60 s the tasks would take


def test_gather_reports_each_task_by_name():
    out = gather({"ok": lambda: "yes", "bad": lambda: int("x")}, 5)
    assert out["ok"] == "yes" and isinstance(out["bad"], Failed) and not isinstance(out["ok"], TimedOut)
