"""`fldeploy foundry expose` as plain data (pure): the checked inputs, nginx's configuration as a tree of
directives rendered with strict quoting, and the Compose document that runs it.

The proxy forwards only `/v1/` (Foundry's OpenAI routes) and only with `Authorization: Bearer <key>`; the key
is compared by nginx (a case-sensitive regex in a `map`), never logged (the log format names no header) and
never forwarded (the upstream request carries no Authorization). Everything else answers 404, other methods
403. The URI sent to Foundry is nginx's normalised one (`proxy_pass` with a URI part): `/shutdown/../v1/x`
reaches Foundry as `/v1/x`, `/v1/../shutdown` never leaves nginx.

The key is not in compose.yaml: the configuration names `${FOUNDRY_EXPOSE_KEY}`, which Compose fills from the
project's .env (mode 0600), so the one copy of the key is that file."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Union

from ..errors import ExitCode, FldeployError

DEFAULT_PORT = 5280
KEY_VAR = "FOUNDRY_EXPOSE_KEY"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,256}", re.ASCII)  # secrets.token_urlsafe's alphabet
PUBLIC_IMAGE = "nginx:1.27-alpine"
LOCAL_IMAGE = "fldeploy-local/nginx:1"  # deploy/nginx on the local base; the balancer builds the same image
SERVICE = "proxy"
CONFIG = "foundry-expose-nginx"
CONFIG_PATH = "/etc/fldeploy-expose/nginx.conf"
PORT_IN_CONTAINER = 8080
UNPRIVILEGED_USER = ("nobody", "65534")  # in Debian and in Alpine; numeric ids trip dockerd 20.10's config copy
_PLACEHOLDER = "@FLDEPLOY_EXPOSE_KEY@"
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", re.ASCII)
_BARE = re.compile(r"[A-Za-z0-9_./:@=()\[\]$-]+", re.ASCII)  # an nginx argument that needs no quotes

Node = Union["Directive", "Block"]


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    name: str
    args: tuple[str, ...]
    body: tuple[Node, ...]


@dataclass(frozen=True)
class ExposeSpec:
    address: str  # a checked IP address (listen_address)
    port: int  # a checked port
    upstream_host: str  # where the proxy reaches Foundry: an IP or a host name (checked)
    upstream_port: int
    host_network: bool  # nginx in the host's network namespace (native Linux engines), else published
    image: str
    build_context: str | None = None
    base_image: str | None = None
    extra_hosts: tuple[str, ...] = ()


def _usage(message: str, fix: str) -> FldeployError:
    return FldeployError(message, fix, ExitCode.USAGE, "expose.invalid")


def listen_address(text: str) -> str:
    """An IP address to listen on, exactly as given (no spaces, no names, no zone): its canonical text."""
    try:
        if "%" in text:  # Python accepts any text after % as an IPv6 zone
            raise ValueError(text)
        return str(ipaddress.ip_address(text))
    except (ValueError, TypeError):
        raise _usage(f"--address {text!r} is not an IP address",
                     "give the address other machines reach this one at, e.g. --address 192.168.1.20 "
                     "(0.0.0.0: every interface)") from None


def listen_port(value: object, host_network: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _usage(f"--port {value!r} is not a port number (1-65535)", f"e.g. --port {DEFAULT_PORT}")
    if host_network and value < 1024:
        raise _usage(f"--port {value}: the proxy runs unprivileged in the host network, where ports below 1024 "
                     "need root", f"use a port from 1024 up, e.g. --port {DEFAULT_PORT}")
    return value


def upstream_host(text: str) -> str:
    try:
        if "%" not in text:
            return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(text):
        return text
    raise _usage(f"Foundry's host {text!r} is neither an IP address nor a host name",
                 "point --foundry-url at Foundry Local, e.g. http://127.0.0.1:5273")


def check_key(key: str, where: str) -> str:
    if not KEY_PATTERN.fullmatch(key or ""):
        raise FldeployError(f"the expose key in {where} is not one fldeploy made (32+ of A-Z a-z 0-9 _ -)",
                            f"delete {where} and run `fldeploy foundry expose` again: it makes a new key (then "
                            "copy it to the front-end machines)", ExitCode.CONFIG, "expose.key")
    return key


def key_in(text: str) -> str | None:
    """The expose key in a file's text: the bare key on its one line, or the KEY_VAR= line of an expose .env."""
    from .compose_model import parse_dotenv

    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    key = parse_dotenv(text).get(KEY_VAR, "") if any("=" in line for line in lines) else \
        (lines[0] if len(lines) == 1 else "")
    return key if KEY_PATTERN.fullmatch(key) else None


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def url_of(address: str, port: int) -> str:
    """The proxy's base URL as clients on this host reach it (a wildcard address: its loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)
    return f"http://{hostport(host, port)}"


def _quote(arg: str) -> str:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in arg):
        raise ValueError(f"control character in an nginx argument: {arg!r}")
    if _BARE.fullmatch(arg):
        return arg
    return "'" + arg.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(nodes: tuple[Node, ...], depth: int = 0) -> str:
    """nginx configuration text: every word (a map entry's source too) bare when it is a plain token, else
    single-quoted with \\ and ' escaped; a control character is refused (it could end a directive)."""
    pad, out = "  " * depth, []
    for node in nodes:
        head = " ".join(_quote(word) for word in (node.name, *node.args))
        if isinstance(node, Block):
            out.append(f"{pad}{head} {{\n{render(node.body, depth + 1)}{pad}}}\n")
        else:
            out.append(f"{pad}{head};\n")
    return "".join(out)


def _error(status: int, message: str, kind: str) -> Directive:
    return Directive("return", (str(status), f'{{"error":{{"message":"{message}","type":"{kind}","code":"{kind}"}}}}'))


def nginx_config(spec: ExposeSpec) -> tuple[Node, ...]:
    listen = hostport(spec.address, spec.port) if spec.host_network else str(PORT_IN_CONTAINER)
    temp = tuple(Directive(f"{kind}_temp_path", (f"/tmp/{kind}",))
                 for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # writable without root
    v1 = Block("location", ("/v1/",), (
        Block("limit_except", ("GET", "POST"), (Directive("deny", ("all",)),)),  # chats and models need no more
        Block("if", ("($fldeploy_key_ok", "=", "0)"), (
            Directive("add_header", ("WWW-Authenticate", 'Bearer realm="fldeploy"', "always")),
            _error(401, "missing or wrong API key (Authorization: Bearer KEY)", "invalid_api_key"))),
        Directive("proxy_pass", ("http://foundry/v1/",)),  # with a URI part: nginx sends the normalised URI
        Directive("proxy_http_version", ("1.1",)),
        Directive("proxy_set_header", ("Connection", "")),
        Directive("proxy_set_header", ("Authorization", "")),  # the key stops here
        Directive("proxy_buffering", ("off",)),  # streamed chat answers pass as they come
        Directive("proxy_read_timeout", ("600s",)),
    ))
    # a backslash is a path separator to some servers (Windows' HTTP.sys): '/v1/..\\shutdown' never passes
    backslash = Block("location", ("~", "\\\\"), (_error(400, "a backslash in the path", "invalid_request"),))
    # a map's plain strings match case-insensitively (checked with nginx 1.22): the regex (~) is exact
    key_map = Block("map", ("$http_authorization", "$fldeploy_key_ok"), (
        Directive("default", ("0",)), Directive(f"~^Bearer {_PLACEHOLDER}$", ("1",))))
    return (
        Directive("daemon", ("off",)), Directive("worker_processes", ("1",)), Directive("pid", ("/tmp/nginx.pid",)),
        Directive("error_log", ("stderr", "warn")),
        Block("events", (), (Directive("worker_connections", ("256",)),)),
        Block("http", (), (
            *temp,
            Directive("server_tokens", ("off",)), Directive("default_type", ("application/json",)),
            # no header, no user, no query string: the key never reaches the log
            Directive("log_format", ("fldeploy", '$remote_addr [$time_iso8601] "$request_method $uri" $status '
                                     "$body_bytes_sent $request_time")),
            Directive("access_log", ("/dev/stdout", "fldeploy")),
            Directive("client_max_body_size", ("32m",)),  # audio transcriptions
            key_map,
            Block("upstream", ("foundry",), (
                Directive("server", (hostport(spec.upstream_host, spec.upstream_port),)),
                Directive("keepalive", ("8",)))),
            Block("server", (), (Directive("listen", (listen,)),
                                 Block("location", ("/",), (_error(404, "not found: only the OpenAI API under "
                                                                   "/v1/ is exposed", "not_found"),)),
                                 backslash, v1)),
        )),
    )


def compose_content(spec: ExposeSpec) -> str:
    """The configuration as a Compose config's content: nginx's $ written $$, the key a reference to .env."""
    text = render(nginx_config(spec)).replace("$", "$$")
    assert text.count(_PLACEHOLDER) == 1
    return text.replace(_PLACEHOLDER, "${" + KEY_VAR + ":?run fldeploy foundry expose}")


def compose_document(spec: ExposeSpec, project: str) -> dict:
    """nginx, unprivileged: as nobody with no capabilities, the configuration copied in (owner nobody, 0400)
    by Compose, so no host folder is shared with the engine (Docker Desktop needs no file sharing)."""
    user, uid = UNPRIVILEGED_USER
    service: dict = {
        "image": spec.image,
        "restart": "unless-stopped",
        "user": user,
        "entrypoint": ["nginx", "-e", "stderr", "-c", CONFIG_PATH],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "configs": [{"source": CONFIG, "target": CONFIG_PATH, "uid": uid, "gid": uid, "mode": 0o400}],
    }
    if spec.build_context:
        service["build"] = {"context": spec.build_context,
                            **({"args": {"BASE_IMAGE": spec.base_image}} if spec.base_image else {})}
    if spec.host_network:
        service["network_mode"] = "host"
    else:
        service["ports"] = [f"{hostport(spec.address, spec.port)}:{PORT_IN_CONTAINER}"]
        if spec.extra_hosts:
            service["extra_hosts"] = list(spec.extra_hosts)
    return {"name": project, "services": {SERVICE: service},
            "configs": {CONFIG: {"content": compose_content(spec)}}}
