"""The stack for Docker Swarm as plain data (`docker stack deploy -c swarm.yaml STACK`), built from the Compose
model's services. Pure.

Open WebUI runs N replicas on PostgreSQL (+pgvector) and Redis: DATABASE_URL, REDIS_URL, WEBSOCKET_MANAGER=redis,
one WEBUI_SECRET_KEY, UVICORN_WORKERS=1, VECTOR_DB=pgvector, one uploads volume, and migrations by one instance
only (ENABLE_DB_MIGRATIONS; Open WebUI 0.12.4 takes no lock: open_webui/env.py, config.py `if
ENABLE_DB_MIGRATIONS: run_migrations()`), so `up` deploys one replica that migrates first, then N that do not.
`docker stack deploy` ignores build/container_name/restart, reads no .env (secrets are Docker secrets, made from
files). Service VIPs and the ingress mesh need IPVS in the kernel, which not every host has (this test bed does
not: `No route to host` to a VIP, nothing answers on an ingress port), so no service has a VIP (endpoint_mode
dnsrr) and one nginx gateway per node publishes the front ends in host mode and spreads requests over the
replicas (`tasks.SERVICE` lists them; a refused connection goes to the next one)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .compose_model import (CHAINLIT_PORT_IN_CONTAINER, OPENWEBUI_PORT_IN_CONTAINER, WEBGPU_PORT_IN_CONTAINER,
                            StackSpec, chainlit_service, openwebui_service, relay_service,
                            webgpu_demo_service)

STACK_FILE = "swarm.yaml"
SECRETS_DIR = "secrets"
DB_USER = DB_NAME = "openwebui"
# secret key (file name under secrets/) -> (service, variable it becomes inside the container)
SECRET_TARGETS = {
    "WEBUI_SECRET_KEY": (("open-webui", "WEBUI_SECRET_KEY"),),
    "OPENWEBUI_ADMIN_PASSWORD": (("open-webui", "WEBUI_ADMIN_PASSWORD"),),
    "FOUNDRY_API_KEY": (("open-webui", "OPENAI_API_KEY"), ("chainlit", "API_KEY")),
    "DATABASE_URL": (("open-webui", "DATABASE_URL"),),
    "POSTGRES_PASSWORD": (("postgres", "POSTGRES_PASSWORD"),),
    "CHAINLIT_AUTH_SECRET": (("chainlit", "CHAINLIT_AUTH_SECRET"),),
    "CHAINLIT_ADMIN_PASSWORD": (("chainlit", "CHAINLIT_ADMIN_PASSWORD"),),
}
# Docker secrets are files in /run/secrets; these images read their settings from the environment. The entrypoint
# turns each secret file named like a variable into that variable, then runs the image's command: fixed code,
# no value of ours in it (and no `$`, which `docker stack deploy` would interpolate).
SECRETS_TO_ENV = (
    "import os, re, sys\n"
    "d = '/run/secrets'\n"
    "for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:\n"
    "    if re.fullmatch('[A-Z][A-Z0-9_]*', n):\n"
    "        with open(os.path.join(d, n), encoding='utf-8') as f:\n"
    "            os.environ[n] = f.read().rstrip('\\r\\n')\n"
    "os.execvp(sys.argv[1], sys.argv[1:])\n")
OPENWEBUI_COMMAND = ["open-webui", "serve", "--host", "0.0.0.0", "--port", str(OPENWEBUI_PORT_IN_CONTAINER)]
CHAINLIT_COMMAND = ["chainlit", "run", "app.py", "--host", "0.0.0.0", "--port", str(CHAINLIT_PORT_IN_CONTAINER),
                    "--headless"]
# the services whose image may be built here, from a deploy/ context
BUILT = ("open-webui", "chainlit", "webgpu-demo", "foundry-relay", "postgres", "redis", "gateway")


@dataclass(frozen=True)
class SwarmSpec:
    stack: StackSpec  # the Compose model's spec: services, ports, images, Foundry URL, volume, admin
    replicas: int
    migrate: bool  # True: the first phase, one replica that runs the migrations
    postgres_image: str
    redis_image: str
    secret_files: dict = field(default_factory=dict)  # key of SECRET_TARGETS -> file path
    secret_names: dict = field(default_factory=dict)  # key -> swarm secret name (versioned by content)
    host_gateway: str | None = None  # where host.docker.internal points (the bridge gateway)
    gateway_image: str = "nginx:1.27-alpine"
    gateway_config_file: str = ""  # gateway_config() written out, and its swarm config name (versioned)
    gateway_config_name: str = ""

    @property
    def postgres_volume(self) -> str:
        return f"{self.stack.volume}-postgres"


def stack_name(project: str) -> str:
    """The stack (namespace) name: the Compose project name, already [a-z0-9_-]."""
    return project


def service_name(stack: str, service: str) -> str:
    return f"{stack}_{service}"


def secret_name(stack: str, key: str, digest: str) -> str:
    """Swarm secrets cannot change: a new value is a new secret, named by the stack, the key and its content."""
    return f"{stack}_{key.lower()}_{digest[:12]}"


def database_url(password: str, host: str = "postgres") -> str:
    return f"postgresql://{DB_USER}:{password}@{host}:5432/{DB_NAME}"


GATEWAY_CONFIG = "gateway.conf"
GATEWAY_PORTS = {"open-webui": 8080, "chainlit": 8081, "webgpu-demo": 8082}  # where the gateway listens, inside


def front_ends(spec: SwarmSpec) -> list[tuple[str, int, int, int]]:
    """(service, published port, gateway port, service port) of each front end."""
    ports = {"open-webui": (spec.stack.openwebui_port, OPENWEBUI_PORT_IN_CONTAINER),
             "chainlit": (spec.stack.chainlit_port, CHAINLIT_PORT_IN_CONTAINER),
             "webgpu-demo": (spec.stack.webgpu_demo_port, WEBGPU_PORT_IN_CONTAINER)}
    return [(name, ports[name][0], GATEWAY_PORTS[name], ports[name][1])
            for name in GATEWAY_PORTS if name in spec.stack.services]


def gateway_config(spec: SwarmSpec) -> str:
    """nginx server blocks (conf.d): each front end's replicas found through Swarm's DNS every 2 s, websockets
    passed through, a refused connection (a replica just killed) retried on the next replica."""
    lines = ["# generated by fldeploy: the swarm stack's gateway", "resolver 127.0.0.11 valid=2s ipv6=off;",
             "map $http_upgrade $fldeploy_connection { default upgrade; '' close; }"]
    for name, _, listen, port in front_ends(spec):
        lines += ["server {", f"    listen {listen};", "    client_max_body_size 100m;", "    location / {",
                  f"        set $fldeploy_upstream tasks.{name};",
                  f"        proxy_pass http://$fldeploy_upstream:{port};",
                  "        proxy_http_version 1.1;",
                  "        proxy_set_header Upgrade $http_upgrade;",
                  "        proxy_set_header Connection $fldeploy_connection;",
                  "        proxy_set_header Host $http_host;",
                  "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                  "        proxy_buffering off;", "        proxy_read_timeout 3600s;",
                  "        proxy_connect_timeout 3s;",
                  "        proxy_next_upstream error timeout non_idempotent;", "    }", "}"]
    return "\n".join(lines) + "\n"


def gateway(spec: SwarmSpec) -> dict:
    return {
        "image": spec.gateway_image,
        "ports": [{"target": listen, "published": published, "protocol": "tcp", "mode": "host"}
                  for _, published, listen, _ in front_ends(spec)],
        "configs": [{"source": "gateway", "target": "/etc/nginx/conf.d/fldeploy-swarm.conf"}],
        "deploy": {"mode": "global", "endpoint_mode": "dnsrr", "restart_policy": _restart()},
        "depends_on": [name for name, *_ in front_ends(spec)],
    }


def _secrets_of(spec: SwarmSpec, service: str) -> list[dict]:
    return [{"source": key.lower(), "target": var}
            for key, targets in SECRET_TARGETS.items() for svc, var in targets
            if svc == service and key in spec.secret_names]


def _swarm_service(service: dict, deploy: dict) -> dict:
    """A Compose service made fit for `docker stack deploy`: no build/restart/container_name, secrets out of
    the environment, no published port (the gateway publishes), no VIP."""
    out = {k: v for k, v in service.items() if k not in ("build", "restart", "container_name", "ports", "depends_on")}
    if "environment" in out:
        out["environment"] = {k: v for k, v in out["environment"].items()
                              if not (isinstance(v, str) and v.startswith("${"))}
    out["deploy"] = {**deploy, "endpoint_mode": "dnsrr"}
    return out


def _host_access(spec: SwarmSpec, service: dict) -> dict:
    if not service.get("extra_hosts"):
        return service
    if spec.host_gateway:  # tasks on an overlay network: name the gateway itself
        return {**service, "extra_hosts": [f"host.docker.internal:{spec.host_gateway}"]}
    return service


def _restart(delay: str = "3s") -> dict:
    return {"condition": "any", "delay": delay}


def openwebui(spec: SwarmSpec) -> dict:
    replicas = 1 if spec.migrate else spec.replicas
    svc = _swarm_service(openwebui_service(spec.stack), {
        "replicas": replicas,
        "update_config": {"parallelism": 1, "order": "start-first", "failure_action": "pause"},
        "restart_policy": _restart()})
    svc["environment"].update({
        "REDIS_URL": "redis://redis:6379/0", "WEBSOCKET_MANAGER": "redis", "ENABLE_WEBSOCKET_SUPPORT": "true",
        "UVICORN_WORKERS": "1", "VECTOR_DB": "pgvector",
        "ENABLE_DB_MIGRATIONS": "true" if spec.migrate else "false",
    })
    svc["entrypoint"] = ["python3", "-c", SECRETS_TO_ENV]
    svc["command"] = list(OPENWEBUI_COMMAND)
    svc["secrets"] = _secrets_of(spec, "open-webui")
    svc["depends_on"] = ["postgres", "redis"]
    return _host_access(spec, svc)


def chainlit(spec: SwarmSpec) -> dict:
    svc = _swarm_service(chainlit_service(spec.stack), {"replicas": 1, "restart_policy": _restart()})
    svc["entrypoint"] = ["python3", "-c", SECRETS_TO_ENV]
    svc["command"] = list(CHAINLIT_COMMAND)
    svc["secrets"] = _secrets_of(spec, "chainlit")
    return _host_access(spec, svc)


def webgpu_demo(spec: SwarmSpec) -> dict:
    return _swarm_service(webgpu_demo_service(spec.stack), {"replicas": 1, "restart_policy": _restart()})


def relay(spec: SwarmSpec) -> dict:
    """The loopback relay: Swarm has no network_mode, but a service may join the node's `host` network; one
    task per node (global)."""
    assert spec.stack.relay is not None
    svc = {k: v for k, v in relay_service(spec.stack, spec.stack.relay).items()
           if k not in ("build", "restart", "network_mode", "security_opt")}
    svc["networks"] = ["hostnet"]
    svc["deploy"] = {"mode": "global", "endpoint_mode": "dnsrr", "restart_policy": _restart()}
    return svc


def postgres(spec: SwarmSpec) -> dict:
    return {
        "image": spec.postgres_image,
        "environment": {"POSTGRES_USER": DB_USER, "POSTGRES_DB": DB_NAME,
                        "POSTGRES_PASSWORD_FILE": "/run/secrets/POSTGRES_PASSWORD"},
        "secrets": _secrets_of(spec, "postgres"),
        "volumes": [f"{spec.postgres_volume}:/var/lib/postgresql/data"],
        "healthcheck": {"test": ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", DB_USER, "-d", DB_NAME],
                        "interval": "3s", "timeout": "5s", "retries": 20, "start_period": "60s"},
        "stop_grace_period": "30s",
        # never two PostgreSQL on one data folder: the old task stops before a new one starts
        "deploy": {"replicas": 1, "endpoint_mode": "dnsrr", "update_config": {"order": "stop-first"},
                   "restart_policy": _restart()},
    }


def redis(spec: SwarmSpec) -> dict:
    return {
        "image": spec.redis_image,
        "command": ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"],
        "healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "3s", "timeout": "3s", "retries": 20},
        "deploy": {"replicas": 1, "endpoint_mode": "dnsrr", "restart_policy": _restart()},
    }


def stack_document(spec: SwarmSpec) -> dict:
    """The stack file: PostgreSQL, Redis and the front ends; secrets from files, versioned by content."""
    services: dict[str, dict] = {}
    if spec.stack.relay:
        services["foundry-relay"] = relay(spec)
    if "open-webui" in spec.stack.services:
        services["postgres"] = postgres(spec)
        services["redis"] = redis(spec)
        services["open-webui"] = openwebui(spec)
    if "chainlit" in spec.stack.services:
        services["chainlit"] = chainlit(spec)
    if "webgpu-demo" in spec.stack.services:
        services["webgpu-demo"] = webgpu_demo(spec)
    if front_ends(spec):
        services["gateway"] = gateway(spec)
    used = {s["source"] for svc in services.values() for s in svc.get("secrets", [])}
    doc: dict = {"version": "3.8", "services": services}
    if front_ends(spec):
        doc["configs"] = {"gateway": {"name": spec.gateway_config_name, "file": spec.gateway_config_file}}
    if "open-webui" in spec.stack.services:
        doc["volumes"] = {spec.stack.volume: {"name": spec.stack.volume},
                          spec.postgres_volume: {"name": spec.postgres_volume}}
    doc["secrets"] = {key.lower(): {"name": spec.secret_names[key], "file": spec.secret_files[key]}
                      for key in SECRET_TARGETS if key.lower() in used}
    if spec.stack.relay:
        doc["networks"] = {"hostnet": {"external": True, "name": "host"}}
    doc["x-fldeploy"] = {"stack": stack_name(spec.stack.project), "replicas": spec.replicas,
                         "phase": "migrate" if spec.migrate else "scaled",
                         "published": {name: port for name, port, *_ in front_ends(spec)}}
    return doc


def build_document(spec: SwarmSpec, contexts: dict[str, str]) -> dict:
    """The images of the stack that are built here, as a Compose file for `docker compose build` (Swarm
    builds nothing)."""
    images = {"open-webui": spec.stack.openwebui_image, "chainlit": spec.stack.chainlit_image,
              "webgpu-demo": spec.stack.webgpu_demo_image, "postgres": spec.postgres_image,
              "redis": spec.redis_image, "gateway": spec.gateway_image}
    if spec.stack.relay:
        images["foundry-relay"] = spec.stack.relay.image
    wanted = set(spec.stack.services) | ({"postgres", "redis"} if "open-webui" in spec.stack.services else set())
    wanted |= {"foundry-relay"} if spec.stack.relay else set()
    wanted |= {"gateway"} if front_ends(spec) else set()
    services = {}
    for name in BUILT:
        if name in wanted and name in contexts:
            build: dict = {"context": contexts[name]}
            if spec.stack.base_image:
                build["args"] = {"BASE_IMAGE": spec.stack.base_image}
            if spec.stack.ca_file:
                build["secrets"] = ["host_ca"]
            services[name] = {"image": images[name], "build": build}
    doc: dict = {"services": services}
    if spec.stack.ca_file and services:
        doc["secrets"] = {"host_ca": {"file": spec.stack.ca_file}}
    return doc
