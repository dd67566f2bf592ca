"""The Compose document for several Foundry hosts: one Open WebUI connection per host (its name the models'
prefix), a relay per loopback-only local host, or with balance one nginx upstream over every host. Pure.

The balancer is nginx's own upstream module, configured as data: passive health checks (a host that fails
`max_fails` times is left out for `fail_timeout`, then tried again) and `proxy_next_upstream`, which sends a
request a host refused or dropped to the next one. Only `/v1/` is forwarded (never Foundry's `/shutdown` or
`/models/load`)."""
from __future__ import annotations

from dataclasses import dataclass

from .compose_model import Relay, StackSpec, escape, relay_service, secret_ref
from .foundry_hosts import openwebui_env

BALANCER = "foundry-balancer"
BALANCER_PORT = 8080
BALANCER_CONFIG = "foundry-balancer-nginx"
BALANCER_IMAGE = "nginx:1.27-alpine"  # the public image; --build-local builds deploy/nginx on the local base
LOCAL_BALANCER_IMAGE = "fldeploy-local/nginx:1"
HOSTS_KEY = "x-fldeploy-foundry-hosts"  # what `status` and drift read back: each host as given and as used
MAX_FAILS, FAIL_TIMEOUT_S = 1, 10


@dataclass(frozen=True)
class HostPlan:
    name: str
    url: str  # base URL as this machine reaches it
    container_url: str  # OpenAI base URL as containers reach it (ends in /v1)
    model_id: str  # its configured or first loaded model ("" when it did not answer)
    relay: Relay | None = None
    answering: bool = True
    reason: str = ""


def relay_name(host: str) -> str:
    return f"foundry-relay-{host}"


def _hostport(container_url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(container_url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def balancer_config(hosts: list[HostPlan]) -> str:
    """nginx.conf of the balancer. Its only inputs are host:port pairs of validated URLs (core/validate.py:
    a host name or IP, a port), so nothing a user typed can add a directive."""
    servers = "\n".join(f"    server {_hostport(h.container_url)} max_fails={MAX_FAILS} "
                        f"fail_timeout={FAIL_TIMEOUT_S}s;" for h in hosts)
    return f"""worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
  log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr rt=$request_time';
  access_log /dev/stdout upstream;
  client_max_body_size 16m;
  upstream foundry {{
{servers}
  }}
  server {{
    listen {BALANCER_PORT};
    location = /health {{ return 200 "ok\\n"; }}
    location /v1/ {{
      proxy_pass http://foundry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
      proxy_next_upstream_tries {len(hosts)};
      proxy_connect_timeout 2s;
      proxy_read_timeout 600s;
      proxy_buffering off;
    }}
    location / {{ return 404; }}
  }}
}}
"""


def balancer_service(spec: StackSpec, image: str, depends: list[str]) -> dict:
    from .compose_model import _build, _host_access

    # nginx-alpine and Debian's nginx have no curl/python: the shell's /dev/tcp is not in busybox sh either,
    # so the probe is nginx's own configuration test plus its pid
    return {
        "image": image, **_build(spec, BALANCER),
        "restart": "unless-stopped", **({"init": True} if spec.init else {}),
        **_host_access(spec),
        "environment": {"NO_PROXY": "*", "no_proxy": "*"},
        "configs": [{"source": BALANCER_CONFIG, "target": "/etc/nginx/nginx.conf"}],
        "command": ["nginx", "-g", "daemon off;"],
        "healthcheck": {"test": ["CMD-SHELL", "nginx -t -q && kill -0 $$(cat /tmp/nginx.pid)"], "interval": "3s",
                        "timeout": "3s", "retries": 5, "start_period": "10s"},
        **({"depends_on": depends} if depends else {}),
    }


def apply_hosts(doc: dict, spec: StackSpec, hosts: list[HostPlan], balance: bool, balancer_image: str) -> dict:
    """The one-Foundry document turned into the several-hosts one (a new dict; doc is not changed)."""
    doc = {**doc, "services": {k: dict(v) for k, v in doc["services"].items()}}
    services = doc["services"]
    relays = []
    for host in hosts:
        if host.relay:
            name = relay_name(host.name)
            services[name] = relay_service(spec, host.relay)
            relays.append(name)
    if balance:
        services[BALANCER] = balancer_service(spec, balancer_image, relays)
        doc["configs"] = {BALANCER_CONFIG: {"content": escape(balancer_config(hosts))}}
        urls, prefixes, depends = [f"http://{BALANCER}:{BALANCER_PORT}/v1"], [""], [BALANCER]
    else:
        urls, prefixes, depends = [h.container_url for h in hosts], [h.name for h in hosts], relays
    if "open-webui" in services:
        owui = services["open-webui"]
        env = {k: v for k, v in owui["environment"].items() if k not in ("OPENAI_API_BASE_URL", "OPENAI_API_KEY")}
        owui["environment"] = {**openwebui_env([escape(u) for u in urls], prefixes, secret_ref("FOUNDRY_API_KEY")),
                               **env}
        owui.pop("depends_on", None)
        if depends:
            owui["depends_on"] = list(depends)
    if "chainlit" in services:  # the app takes one Foundry: the balancer, else the first host
        chainlit = services["chainlit"]
        first = next((h for h in hosts if h.answering), hosts[0])
        chainlit["environment"] = {**chainlit["environment"], "BASE_URL": escape(urls[0] if balance else
                                                                                 first.container_url)}
        if first.model_id:
            chainlit["environment"]["MODEL"] = escape(first.model_id)
        chainlit.pop("depends_on", None)
        wanted = [BALANCER] if balance else ([relay_name(first.name)] if first.relay else [])
        if wanted:
            chainlit["depends_on"] = wanted
    doc[HOSTS_KEY] = {"balance": balance, "hosts": [
        {"name": h.name, "url": escape(h.url), "container_url": escape(h.container_url),
         "relay": relay_name(h.name) if h.relay else None} for h in hosts]}
    return doc


def read_hosts(doc: dict) -> tuple[tuple[dict, ...], bool]:
    """The hosts a rendered document was made for ('$$' read as '$'), and whether they are balanced."""
    block = doc.get(HOSTS_KEY)
    if not isinstance(block, dict) or not isinstance(block.get("hosts"), list):
        return (), False
    hosts = tuple({k: v.replace("$$", "$") if isinstance(v, str) else v for k, v in h.items()}
                  for h in block["hosts"] if isinstance(h, dict) and isinstance(h.get("name"), str))
    return hosts, bool(block.get("balance"))
