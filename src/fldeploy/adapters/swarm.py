"""Docker Swarm through the docker CLI (`docker swarm`, `docker stack`, `docker service`), all through proc:
argument lists, never a shell string."""
from __future__ import annotations

import json
from pathlib import Path

from . import proc


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def swarm_state(timeout: float) -> tuple[str, bool, str]:
    """(LocalNodeState: inactive|active|pending|error|locked, is a manager, error text when docker failed)."""
    done = proc.run(["docker", "info", "--format", "{{json .Swarm}}"], timeout)
    if not done.ok:
        why = "the docker CLI is missing" if done.missing else (done.stderr or done.stdout).strip()[-300:]
        return "", False, why or "docker info failed"
    try:
        info = json.loads(done.stdout.strip() or "{}")
    except ValueError:
        return "", False, f"docker info answered {done.stdout.strip()[:200]!r}"
    return str(info.get("LocalNodeState") or ""), bool(info.get("ControlAvailable")), ""


def swarm_init(advertise_addr: str, timeout: float = 60) -> proc.Completed:
    return proc.run(["docker", "swarm", "init", "--advertise-addr", advertise_addr], timeout)


def stack_deploy(stack_file: Path, stack: str, timeout: float) -> proc.Completed:
    """Deploy or update; local images are used as they are (no registry is asked for their digest)."""
    return proc.run(["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(stack_file),
                     stack], timeout)


def stack_rm(stack: str, timeout: float = 120) -> proc.Completed:
    return proc.run(["docker", "stack", "rm", stack], timeout)


def stack_services(stack: str, timeout: float = 30) -> list[dict]:
    """Rows of `docker stack services`: Name, Replicas ('2/2'), Image, Ports, Mode. [] when there is none."""
    done = proc.run(["docker", "service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
                     "--format", "{{json .}}"], timeout)
    return _json_lines(done.stdout) if done.ok else []


def tasks_stopping(stack: str, timeout: float = 30) -> int:
    """Tasks Swarm is replacing that still run (an update's old containers): requests may still reach them."""
    done = proc.run(["docker", "stack", "ps", stack, "--filter", "desired-state=shutdown", "--format",
                     "{{.CurrentState}}"], timeout)
    return sum(1 for line in done.stdout.splitlines() if line.startswith("Running")) if done.ok else 0


def service_spec(service: str, timeout: float = 30) -> dict | None:
    """The service's image and environment as deployed, or None when it does not exist."""
    done = proc.run(["docker", "service", "inspect", service, "--format",
                     "{{json .Spec.TaskTemplate.ContainerSpec}}"], timeout)
    if not done.ok:
        return None
    try:
        spec = json.loads(done.stdout.strip() or "{}")
    except ValueError:
        return None
    env = dict(item.split("=", 1) for item in spec.get("Env") or [] if "=" in item)
    return {"image": str(spec.get("Image", "")).split("@")[0], "env": env}


def containers(service: str, timeout: float = 30) -> list[dict]:
    """The running containers of a service on this node: ID, Names, Status ('Up 5s (healthy)'), Image."""
    done = proc.run(["docker", "ps", "--filter", f"label=com.docker.swarm.service.name={service}",
                     "--format", "{{json .}}"], timeout)
    return _json_lines(done.stdout) if done.ok else []


def stack_leftovers(stack: str, timeout: float = 30) -> list[str]:
    """Containers and networks of a removed stack still going away (`docker stack rm` returns at once)."""
    label = f"label=com.docker.stack.namespace={stack}"
    found = proc.run(["docker", "ps", "-aq", "--filter", label], timeout)
    nets = proc.run(["docker", "network", "ls", "-q", "--filter", label], timeout)
    return found.stdout.split() + nets.stdout.split()


def image_id(image: str, timeout: float = 30) -> str | None:
    done = proc.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout)
    return done.stdout.strip() or None if done.ok else None


def container_image_id(container: str, timeout: float = 30) -> str | None:
    done = proc.run(["docker", "inspect", "--format", "{{.Image}}", container], timeout)
    return done.stdout.strip() or None if done.ok else None


def exec_argv(container: str, *argv: str) -> list[str]:
    return ["docker", "exec", container, *argv]


def volume_rm(volume: str, timeout: float = 60) -> proc.Completed:
    return proc.run(["docker", "volume", "rm", volume], timeout)


def logs_argv(service: str, follow: bool, tail: int) -> list[str]:
    return ["docker", "service", "logs", "--tail", str(tail), *(["--follow"] if follow else []), service]


def scale(service: str, replicas: int, timeout: float = 60) -> proc.Completed:
    return proc.run(["docker", "service", "scale", "--detach", f"{service}={replicas}"], timeout)


def exec_to_file(container: str, argv: list[str], path: Path, timeout: float) -> tuple[bool, str]:
    """`docker exec CONTAINER argv...` with its (binary) output written to path: a temp file in the same folder
    (0600), fsynced, renamed; never a half file. (ok, error text)."""
    import os
    import subprocess
    import tempfile

    from . import platform

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        platform.set_mode(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            done = subprocess.run(platform.command(["docker", "exec", container, *argv]), stdout=out,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
            out.flush()
            os.fsync(out.fileno())
        if done.returncode != 0:
            os.remove(tmp)
            return False, platform.console_text(done.stderr).strip()[-300:]
        os.replace(tmp, path)
        return True, ""
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def exec_from_file(container: str, argv: list[str], path: Path, timeout: float) -> tuple[bool, str]:
    """`docker exec -i CONTAINER argv...` reading path on its standard input. (ok, error text)."""
    import subprocess

    from . import platform

    with open(path, "rb") as source:
        done = subprocess.run(platform.command(["docker", "exec", "-i", container, *argv]), stdin=source,
                              capture_output=True, timeout=timeout)
    return done.returncode == 0, platform.console_text(done.stderr or done.stdout).strip()[-300:]
