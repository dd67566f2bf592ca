"""`fldeploy up` on a terminal shows each service's progress (build, start, health) with its elapsed time, as
Compose's own display does, and leaves that board on screen: read from a real terminal (tmux)."""
from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import pytest

from ..support.fixtures import FLDEPLOY
from ..support.stack import make_stack, remove_stack

# runs argv on the terminal and writes how it ended to a file: tmux's own pane-dead status can lag behind the
# pane's end, and is empty when the process died of a signal
RECORD_EXIT = ("import subprocess, sys\n"
               "code = subprocess.call(sys.argv[2:])\n"
               "open(sys.argv[1], 'w').write(str(code))\n")
WAIT_TIMEOUT = 300  # `up`'s own; the test waits longer, so a slow stack shows up as up's message on screen


@pytest.mark.timeout(WAIT_TIMEOUT + 300)
def test_up_on_a_terminal_shows_each_service_with_state_and_time(tmp_path, stack_images, foundry):
    stack = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url, FLDEPLOY_WAIT_TIMEOUT=str(WAIT_TIMEOUT))
    config = tmp_path / "tmux.conf"
    config.write_text("set -g remain-on-exit on\n")
    exit_file = tmp_path / "exit-code"
    # a tmux server of the test's own; the command is argv (no shell), its environment given with -e
    tmux = ["tmux", "-L", f"flt{uuid.uuid4().hex[:8]}", "-f", str(config)]
    env_args = [arg for name, value in stack.env.items() if name.startswith(("FLDEPLOY_", "XDG_", "HOME", "DOCKER"))
                for arg in ("-e", f"{name}={value}")]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "50", *env_args,
                    sys.executable, "-c", RECORD_EXIT, str(exit_file), *FLDEPLOY, "up"], check=True, env=stack.env)
    try:
        deadline = time.monotonic() + WAIT_TIMEOUT + 240
        while time.monotonic() < deadline and not exit_file.exists():
            time.sleep(1)
        time.sleep(0.5)  # the exit code is written after the last output: let tmux draw it
        screen = subprocess.run([*tmux, "capture-pane", "-p", "-S", "-"], capture_output=True, text=True).stdout
        containers = stack.compose("ps", "--all", "--format", "{{.Service}} {{.Status}}").stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        remove_stack(stack)
    code = exit_file.read_text() if exit_file.exists() else "none: still running"
    assert code == "0", f"up exited {code}:\n{screen}\ncontainers:\n{containers}"
    for service in ("open-webui", "chainlit"):
        assert re.search(rf"^ {service}\s+healthy\s+\d+\.\ds\s*$", screen, re.MULTILINE), screen
    assert "Open in your browser:" in screen
