"""The Docker Engine API, found the way the docker CLI finds it, spoken with the standard library's
http.client over its socket.

`ports` and `doctor` ask the engine a few questions; the Docker SDK would cost them ~300 ms of imports
(requests, urllib3, …) and httpx ~90 ms (its package imports its own CLI, rich and click, when they are
installed, as typer installs them), so they go through here. http.client never reads proxy variables, so the
engine is never asked through a proxy. Only transports it cannot speak (a Windows named pipe, ssh://) fall
back to the SDK, lazily."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping, NamedTuple

DEFAULT_POSIX = "unix:///var/run/docker.sock"
DEFAULT_WINDOWS = "npipe:////./pipe/docker_engine"


class Endpoint(NamedTuple):
    host: str  # as the docker CLI writes it: unix:///…, tcp://…, npipe:////./pipe/…, ssh://…
    source: str  # DOCKER_HOST, "context NAME", or "the platform default"
    tls_dir: str | None = None  # ca.pem, cert.pem, key.pem of a TLS endpoint
    verify_tls: bool = True


class EngineError(Exception):
    """The engine could not be asked: not running, no permission, a broken context. Short text for users."""


def docker_config_dir(env: Mapping[str, str]) -> str:
    return env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _current_context(env: Mapping[str, str], config_dir: str) -> str:
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    try:
        with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return "default"
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else "default"


def locate(env: Mapping[str, str] | None = None, platform: str | None = None) -> Endpoint:
    """DOCKER_HOST, else the current context (DOCKER_CONTEXT or config.json's currentContext), else the
    platform default: the docker CLI's order (docs.docker.com/engine/manage-resources/contexts/)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if env.get("DOCKER_HOST"):
        tls = env.get("DOCKER_CERT_PATH") if env.get("DOCKER_TLS_VERIFY") else None
        return Endpoint(env["DOCKER_HOST"], "DOCKER_HOST", tls, bool(tls))
    config_dir = docker_config_dir(env)
    name = _current_context(env, config_dir)
    if name != "default":
        # the CLI keeps a context under the sha256 of its name
        import hashlib  # only for a named context: ports and doctor start ~6 ms sooner without it

        digest = hashlib.sha256(name.encode()).hexdigest()
        meta_file = os.path.join(config_dir, "contexts", "meta", digest, "meta.json")
        try:
            with open(meta_file, encoding="utf-8") as f:
                docker = json.load(f)["Endpoints"]["docker"]
            host = docker["Host"]
        except (OSError, ValueError, KeyError, TypeError):
            raise EngineError(f"the docker context {name!r} is selected but {meta_file} is missing or broken "
                              "(`docker context ls` lists the contexts)") from None
        tls_dir = os.path.join(config_dir, "contexts", "tls", digest, "docker")
        return Endpoint(host, f"context {name}", tls_dir if os.path.isdir(tls_dir) else None,
                        not docker.get("SkipTLSVerify", False))
    default = DEFAULT_WINDOWS if platform == "win32" else DEFAULT_POSIX
    return Endpoint(default, "the platform default")


def _connection(endpoint: Endpoint, timeout: float):
    import http.client

    if endpoint.host.startswith(("tcp://", "http://", "https://")):
        address = endpoint.host.split("://", 1)[1].rstrip("/")
        if endpoint.tls_dir or endpoint.host.startswith("https://"):
            import ssl

            cafile = os.path.join(endpoint.tls_dir, "ca.pem") if endpoint.tls_dir else None
            context = ssl.create_default_context(cafile=cafile)
            if not endpoint.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if endpoint.tls_dir:
                context.load_cert_chain(os.path.join(endpoint.tls_dir, "cert.pem"),
                                        os.path.join(endpoint.tls_dir, "key.pem"))
            return http.client.HTTPSConnection(address, timeout=timeout, context=context)
        return http.client.HTTPConnection(address, timeout=timeout)
    return None  # npipe://, ssh://: the SDK speaks them


def _sdk_get(endpoint: Endpoint, path: str, timeout: float) -> Any:
    import docker

    client = docker.APIClient(base_url=endpoint.host, timeout=int(max(timeout, 1)))
    try:
        answers = {"/version": client.version, "/info": client.info, "/containers/json": client.containers}
        return answers[path]()
    finally:
        client.close()


def get(path: str, timeout: float, endpoint: Endpoint | None = None) -> Any:
    """GET an Engine API path (unversioned: the engine answers with its own API version) as JSON."""
    endpoint = endpoint or locate()
    try:
        if endpoint.host.startswith("unix://"):
            status, body = _get_over_unix_socket(endpoint.host[len("unix://"):], path, timeout)
        else:
            connection = _connection(endpoint, timeout)
            if connection is None:
                return _sdk_get(endpoint, path, timeout)
            try:
                connection.request("GET", path, headers={"Host": "docker"})
                resp = connection.getresponse()
                status, body = resp.status, resp.read()
            finally:
                connection.close()
    except Exception as exc:  # connection refused, no socket, permission denied, timeout, SDK errors
        raise EngineError(_short(exc, endpoint)) from None
    if status != 200:
        raise EngineError(f"{endpoint.host} answered HTTP {status} to {path}: {body[:160].decode(errors='replace')}")
    try:
        return json.loads(body)
    except ValueError:
        raise EngineError(f"{endpoint.host} is not a Docker engine: {body[:120]!r}") from None


def _get_over_unix_socket(socket_path: str, path: str, timeout: float) -> tuple[int, bytes]:
    """One HTTP/1.0 GET on the engine's socket (http.client would cost `ports` ~20 ms of imports): the engine
    answers a 1.0 request without chunking and closes the connection, so the body is all that follows."""
    from . import platform

    sock = platform.unix_stream_socket()
    try:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    finally:
        sock.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        raise OSError(f"not an HTTP answer: {head[:80]!r}")
    return int(status_line[1]), body


def _short(exc: Exception, endpoint: Endpoint) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return f"permission denied on {endpoint.host} (the user is not in the docker group?)"
    if isinstance(exc, FileNotFoundError) or "No such file" in text:
        return f"no engine socket at {endpoint.host}"
    return f"{endpoint.host}: {text[:200]}"
