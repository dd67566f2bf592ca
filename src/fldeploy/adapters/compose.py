"""Docker Compose v2 for one rendered stack folder: one method per verb, all through proc."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..core import compose_events
from . import proc


class Compose:
    def __init__(self, project_dir: Path, project: str) -> None:
        self.dir = Path(project_dir)
        self.project = project

    def argv(self, *args: str) -> list[str]:
        # compose.yaml and, when present, compose.override.yaml are found in the folder, as with plain compose
        return ["docker", "compose", "--project-directory", str(self.dir), "-p", self.project, *args]

    def up(self, wait_timeout: float, progress, build: bool = False) -> proc.Completed:
        """progress gets a ServiceEvent for each service state Compose reports, other lines as text."""
        args = ["up", "--detach", "--wait", "--wait-timeout", str(int(wait_timeout)), "--remove-orphans"]
        if build:
            args.append("--build")
        # the outer timeout covers image builds and pulls, which --wait-timeout does not
        def on_line(line: str) -> None:
            progress(compose_events.parse(line, self.project) or f"compose: {line[:150]}")

        # the plain progress lines the board reads, whatever the user's COMPOSE_PROGRESS / COMPOSE_ANSI say
        env = {**os.environ, "COMPOSE_PROGRESS": "plain", "COMPOSE_ANSI": "never"}
        return proc.stream(self.argv(*args), wait_timeout + 1800, on_line, cwd=str(self.dir), env=env)

    def down(self, volumes: bool, timeout: float = 120) -> proc.Completed:
        return proc.run(self.argv("down", "--remove-orphans", *(["--volumes"] if volumes else [])), timeout)

    def ps(self, timeout: float = 30) -> list[dict]:
        done = proc.run(self.argv("ps", "--all", "--format", "json"), timeout)
        if not done.ok:
            return []
        text = done.stdout.strip()
        if text.startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def logs_argv(self, service: str | None, follow: bool, tail: int) -> list[str]:
        args = ["logs", "--tail", str(tail), *(["--follow"] if follow else [])]
        return self.argv(*args, *([service] if service else []))
