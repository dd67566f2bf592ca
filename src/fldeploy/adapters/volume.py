"""Open WebUI's data volume through the Docker SDK: its name checked and its existence asked, its files
streamed out of and into helper containers made from the stack's image, staged data swapped in by a fixed
script (no user data in any command), and every helper removed, on Ctrl-C too, by the code that made it."""
from __future__ import annotations

import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ..errors import ConfigError, ExitCode, FldeployError
from .docker_engine import PROJECT_LABEL, SERVICE_LABEL

HELPER_LABEL = "io.fldeploy.helper"
HELPER_PROJECT_LABEL = "io.fldeploy.project"
VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MOUNT = "/data"
API_TIMEOUT = 300
CHUNK = 1 << 20
# Runs inside a helper as root with the volume at /data; its only arguments are names fldeploy made.
# Moves the current data aside, the staged data in, and everything back when a rename fails.
SWAP_SCRIPT = r"""
import os, shutil, sys
mode, stage, previous = sys.argv[1:4]
os.chdir("/data")
if mode == "discard":
    shutil.rmtree(stage, ignore_errors=True)
    sys.exit(0)
os.mkdir(previous, 0o700)
moved, placed = [], []
try:
    for name in sorted(set(os.listdir(".")) - {stage, previous}):
        os.rename(name, os.path.join(previous, name))
        moved.append(name)
    for name in sorted(os.listdir(stage)):
        os.rename(os.path.join(stage, name), name)
        placed.append(name)
except OSError as exc:
    try:
        for name in reversed(placed):
            os.rename(name, os.path.join(stage, name))
        for name in reversed(moved):
            os.rename(os.path.join(previous, name), name)
        os.rmdir(previous)
    except OSError as undo:
        print(f"rollback failed: {undo} (after: {exc})", flush=True)
        sys.exit(4)
    shutil.rmtree(stage, ignore_errors=True)
    print(f"rolled back: {exc}", flush=True)
    sys.exit(3)
os.rmdir(stage)
print("swapped", flush=True)
shutil.rmtree(previous, ignore_errors=True)
"""
SWAPPED, ROLLED_BACK, ROLLBACK_FAILED = 0, 3, 4


def _client(timeout: float = API_TIMEOUT) -> Any:
    import docker

    return docker.from_env(timeout=timeout)


def _unreachable(exc: Exception) -> FldeployError:
    return FldeployError(f"Docker failed: {str(exc)[:300]}", "check that dockerd runs (`fldeploy doctor`)",
                         ExitCode.UNREACHABLE, "backup.docker")


def check_volume_name(name: str) -> None:
    if not VOLUME_NAME.fullmatch(name):
        raise ConfigError(f"the volume setting {name!r} is not a Docker volume name (a path would be a host folder)",
                          "set FLDEPLOY_VOLUME (or 'volume:' in fldeploy.yaml) to the name of Open WebUI's data "
                          "volume, e.g. open-webui-data: letters, digits, '_', '.', '-'", "backup.volume_name")


def check_volume_exists(name: str) -> None:
    import docker

    try:
        _client(30).volumes.get(name)
    except docker.errors.NotFound:
        raise FldeployError(f"there is no Docker volume named {name}: nothing was done",
                            "check the volume setting against `docker volume ls`, or run `fldeploy up` to create it",
                            ExitCode.CHECK_FAILED, "backup.no_volume") from None
    except docker.errors.DockerException as exc:
        raise _unreachable(exc) from None


def service_state(project: str, service: str) -> str | None:
    """The state of the stack's container of service ('running', 'exited', ...), None when there is none."""
    import docker

    try:
        found = _client(30).containers.list(all=True, filters={"label": [f"{PROJECT_LABEL}={project}",
                                                                          f"{SERVICE_LABEL}={service}"]})
    except docker.errors.DockerException as exc:
        raise _unreachable(exc) from None
    states = [c.status for c in found]
    return next((s for s in ("running", "restarting", "paused") if s in states), states[0] if states else None)


@dataclass
class Helper:
    container: Any
    name: str

    @contextmanager
    def read(self) -> Iterator[Iterator[bytes]]:
        """The volume as Docker's tar stream (members 'data', 'data/webui.db', ...). The stream is closed on the
        way out: the engine keeps the container locked (not even removable) while a reader holds it open."""
        api = self.container.client.api
        response = api.get(f"{api.base_url}/v{api.api_version}/containers/{self.container.id}/archive",
                           params={"path": MOUNT}, stream=True, timeout=API_TIMEOUT)
        try:
            if response.status_code != 200:
                raise FldeployError(f"Docker could not read the volume: HTTP {response.status_code} "
                                    f"{response.text[:200]}", "see `fldeploy doctor`", ExitCode.CHECK_FAILED,
                                    "backup.read")
            yield response.iter_content(CHUNK)
        finally:
            response.close()

    def write(self, chunks: Iterable[bytes]) -> None:
        """Unpack a tar stream into the volume (as root; the stream must be sanitized already)."""
        self.container.put_archive(MOUNT, chunks)

    def run(self, timeout: float) -> tuple[int, str]:
        """Start the helper's fixed command and wait for it: exit status and output."""
        self.container.start()
        status = self.container.wait(timeout=timeout).get("StatusCode", -1)
        return status, self.container.logs().decode(errors="replace").strip()


@contextmanager
def helper(image: str, volume: str, project: str, purpose: str, read_only: bool,
           command: list[str] | None = None) -> Iterator[Helper]:
    """A container of image with volume at /data, created (started only by run()), removed on the way out,
    before anything else happens (Ctrl-C included)."""
    import docker
    from docker.types import Mount

    name = f"{project}-fldeploy-{purpose}-{secrets.token_hex(3)}"
    try:
        client = _client()
        # an image Compose built carries its project and service labels, and a container inherits them: blanked,
        # or Compose (and service_state) would take the helper for the stack's Open WebUI
        inherited = {key: "" for key in client.images.get(image).labels or {} if key.startswith("com.docker.compose.")}
        container = client.containers.create(
            image, entrypoint=["python3", "-c", SWAP_SCRIPT], command=command or ["none", "", ""], name=name,
            labels={**inherited, HELPER_LABEL: purpose, HELPER_PROJECT_LABEL: project}, user="0:0",
            network_disabled=True, mounts=[Mount(MOUNT, volume, type="volume", read_only=read_only, no_copy=True)])
    except docker.errors.ImageNotFound:
        _remove(name)
        raise FldeployError(f"the Open WebUI image {image} is not on this machine", "run `fldeploy up` first",
                            ExitCode.CHECK_FAILED, "backup.image") from None
    except BaseException as exc:
        _remove(name)
        if isinstance(exc, docker.errors.DockerException):
            raise _unreachable(exc) from None
        raise
    try:
        yield Helper(container, name)
    finally:
        _remove(name)


def _remove(name: str) -> None:
    """Force-remove a helper by name with a fresh client (the interrupted one may hold a broken stream);
    a second Ctrl-C waits until it is gone."""
    import docker

    interrupted, failure = False, ""
    for _ in range(3):
        try:
            _client(60).containers.get(name).remove(force=True)
            failure = ""
            break
        except docker.errors.NotFound:
            failure = ""
            break
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:  # DockerException, a timeout of requests: try again, then say so
            failure = str(exc)[:200] or type(exc).__name__
            time.sleep(0.5)
    if interrupted:
        raise KeyboardInterrupt
    if failure:
        raise FldeployError(f"could not remove the helper container {name} ({failure})",
                            f"remove it: `docker rm -f {name}`", ExitCode.CHECK_FAILED, "backup.helper")
