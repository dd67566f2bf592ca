"""`fldeploy up` on a terminal shows each service's progress (build, start, health) with its elapsed time, as
Compose's own display does, and leaves that board on screen: read from a real terminal (tmux)."""
from __future__ import annotations

import re
import subprocess
import time
import uuid

from ..support.fixtures import FLDEPLOY
from ..support.stack import make_stack, remove_stack


def test_up_on_a_terminal_shows_each_service_with_state_and_time(tmp_path, stack_images, foundry):
    stack = make_stack(tmp_path, FLDEPLOY_FOUNDRY_URL=foundry.url)
    config = tmp_path / "tmux.conf"
    config.write_text("set -g remain-on-exit on\n")
    # a tmux server of the test's own; the command is argv (no shell), its environment given with -e
    tmux = ["tmux", "-L", f"flt{uuid.uuid4().hex[:8]}", "-f", str(config)]
    env_args = [arg for name, value in stack.env.items() if name.startswith(("FLDEPLOY_", "XDG_", "HOME", "DOCKER"))
                for arg in ("-e", f"{name}={value}")]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "50", *env_args, *FLDEPLOY, "up"],
                   check=True, env=stack.env)
    try:
        deadline, status = time.monotonic() + 900, ""
        while time.monotonic() < deadline:
            status = subprocess.run([*tmux, "display-message", "-p", "#{pane_dead} #{pane_dead_status}"],
                                    capture_output=True, text=True).stdout.split()
            if len(status) == 2 and status[0] == "1":  # tmux may show the pane dead before its exit status
                break
            time.sleep(1)
        screen = subprocess.run([*tmux, "capture-pane", "-p", "-S", "-"], capture_output=True, text=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        remove_stack(stack)
    assert status == ["1", "0"], f"up exited {status}:\n{screen}"
    for service in ("open-webui", "chainlit"):
        assert re.search(rf"^ {service}\s+healthy\s+\d+\.\ds\s*$", screen, re.MULTILINE), screen
    assert "Open in your browser:" in screen
