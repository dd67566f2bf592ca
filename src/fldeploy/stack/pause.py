"""Open WebUI stopped while its data volume is copied (its SQLite database must not change under the copy),
and started again, healthy, afterwards. A stop that fails, or a start that fails, is said, never swallowed."""
from __future__ import annotations

from ..errors import ExitCode, FldeployError

SERVICE = "open-webui"
STOP_TIMEOUT = 180.0
RESTART_TIMEOUT = 900.0
LIVE_STATES = ("running", "restarting", "paused")


class OpenWebUIPause:
    def __init__(self, compose, project: str, command: str) -> None:
        self.compose, self.project, self.command = compose, project, command
        self.was_running = False

    def stop(self, progress, nothing_done: str) -> None:
        """Stop Open WebUI when it runs; raise (saying what state it is in) when it cannot be stopped."""
        from ..adapters import proc, volume

        # asked of the engine, not of Compose: a Compose that cannot load the stack must not read as "stopped"
        self.was_running = volume.service_state(self.project, SERVICE) in LIVE_STATES
        if not self.was_running:
            return
        progress("stopping Open WebUI for a consistent copy")
        try:
            done = proc.run(self.compose.argv("stop", SERVICE), STOP_TIMEOUT)
        except KeyboardInterrupt:
            done = None
        still_running = volume.service_state(self.project, SERVICE) in LIVE_STATES
        if done is not None and done.ok and not still_running:
            return
        why = "interrupted" if done is None else output(done)
        now = "it still runs" if still_running else restarted(self.resume(progress))
        raise FldeployError(f"could not stop Open WebUI for a consistent copy ({why}): {nothing_done}; {now}",
                            "fix what makes `docker compose stop open-webui` fail in the stack folder "
                            f"({self.compose.dir}), then run `fldeploy {self.command}` again",
                            ExitCode.INTERRUPTED if done is None else ExitCode.CHECK_FAILED, f"{self.command}.pause")

    def resume(self, progress) -> str | None:
        """None when Open WebUI is back (or was not running), else why it is not."""
        from ..adapters import proc

        if not self.was_running:
            return None
        progress("starting Open WebUI again")
        try:
            done = proc.run(self.compose.argv("up", "--detach", "--wait", "--no-deps", SERVICE), RESTART_TIMEOUT)
        except KeyboardInterrupt:
            return "interrupted while it was starting"
        return None if done.ok else output(done)

    def after(self, err: FldeployError, progress) -> FldeployError:
        """err, once Open WebUI was started again, saying whether it runs (call it after every helper is gone)."""
        problem = self.resume(progress)
        if not self.was_running:
            return err
        if problem is None:
            return FldeployError(f"{err.message}; Open WebUI runs again", err.fix, err.exit_code, err.code)
        return FldeployError(f"{err.message}; {restarted(problem)}", f"run `fldeploy up`; {err.fix}".rstrip("; "),
                             err.exit_code, err.code)


def output(done) -> str:
    if done.timed_out:
        return "timed out"
    text = " / ".join(line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip())
    return text[-300:] or f"exit status {done.returncode}"


def restarted(problem: str | None) -> str:
    return "Open WebUI runs again" if problem is None else f"Open WebUI did not start again ({problem})"
