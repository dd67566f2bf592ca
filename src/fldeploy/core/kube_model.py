"""The Kubernetes target as plain data: a kustomize base (file name -> objects) built from a KubeSpec. Pure.

Secrets never appear in these objects: kustomize's secretGenerator builds the Secret from secrets.env (mode
0600 on disk) and the pods refer to its keys by name."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .compose_model import MARKER

HEADER = (f"{MARKER} {{version}}: `fldeploy render --target kubernetes` rewrites this file. Change it in an "
          "overlay (a kustomization that lists this folder under resources), or remove this line to keep fldeploy "
          "from overwriting the file.\n")
KUSTOMIZATION, SECRET_ENV = "kustomization.yaml", "secrets.env"
SECRET_NAME = "fldeploy-secrets"
COMPONENT_FILES = ("open-webui.yaml", "postgres.yaml", "redis.yaml", "chainlit.yaml", "webgpu-demo.yaml",
                   "ingress.yaml")
POSTGRES_IMAGE = "pgvector/pgvector:pg16"  # PostgreSQL with the vector extension Open WebUI's VECTOR_DB needs
REDIS_IMAGE = "redis:7.4"
POSTGRES_DB = POSTGRES_USER = "openwebui"
APP_PORT = 8080  # Open WebUI, the Chainlit app and the demo all listen on 8080 in their containers
DATA_DIR = "/app/backend/data"


@dataclass(frozen=True)
class KubeSpec:
    services: tuple[str, ...]
    replicas: int
    foundry_api_url: str  # as pods reach Foundry, ending in /v1
    model_id: str
    openwebui_image: str
    chainlit_image: str
    webgpu_demo_image: str
    admin_email: str
    chainlit_port: int  # the local port `kubectl port-forward` uses: the Chainlit app accepts only those pages
    external_database: bool = False  # DATABASE_URL given by the user: no PostgreSQL in the cluster
    external_redis: bool = False
    ingress_host: str | None = None
    secrets_digest: str = ""  # of secrets.env: the migration Job's pod refers to the Secret, whose name follows it
    postgres_image: str = POSTGRES_IMAGE
    redis_image: str = REDIS_IMAGE


def labels(name: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "fldeploy"}


def secret_env(name: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}


def plain_env(values: dict[str, str]) -> list[dict]:
    return [{"name": k, "value": v} for k, v in values.items()]


def http_probes(path: str, startup_seconds: int) -> dict:
    get = {"httpGet": {"path": path, "port": "http"}}
    return {"startupProbe": {**get, "periodSeconds": 5, "failureThreshold": max(startup_seconds // 5, 1)},
            "readinessProbe": {**get, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3},
            "livenessProbe": {**get, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4}}


def resources(cpu: str, memory: str, memory_limit: str) -> dict:
    return {"resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}}


def service(name: str, port: int, target: int | str, headless: bool = False, **extra) -> dict:
    spec: dict = {"selector": labels(name), "ports": [{"name": "http" if not headless else name, "port": port,
                                                       "targetPort": target}], **extra}
    if headless:  # a StatefulSet's governing Service: its DNS name resolves to the one pod
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels(name)}, "spec": spec}


# no pod talks to the Kubernetes API: its service account token stays out of every container
NO_API_TOKEN = {"automountServiceAccountToken": False}


def deployment(name: str, replicas: int, container: dict, volumes: list[dict] | None = None) -> dict:
    pod: dict = {**NO_API_TOKEN, "containers": [{"name": name, **container}]}
    if volumes:
        pod["volumes"] = volumes
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels(name)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels(name)},
                     "template": {"metadata": {"labels": labels(name)}, "spec": pod}}}


def openwebui_env(spec: KubeSpec, migrate: bool) -> list[dict]:
    """Open WebUI's settings for several replicas: one PostgreSQL (also the vector store), one Redis for the
    websockets, one secret key, one worker per pod; only the migration Job migrates (no lock in its code)."""
    return [
        *plain_env({"OPENAI_API_BASE_URL": spec.foundry_api_url, "ENABLE_OLLAMA_API": "false",
                    "WEBUI_AUTH": "true", "WEBUI_ADMIN_EMAIL": spec.admin_email, "WEBUI_ADMIN_NAME": "fldeploy admin",
                    "VECTOR_DB": "pgvector", "WEBSOCKET_MANAGER": "redis", "ENABLE_WEBSOCKET_SUPPORT": "true",
                    "UVICORN_WORKERS": "1", "ENABLE_DB_MIGRATIONS": "true" if migrate else "false"}),
        secret_env("OPENAI_API_KEY", "FOUNDRY_API_KEY"), secret_env("WEBUI_SECRET_KEY", "WEBUI_SECRET_KEY"),
        secret_env("WEBUI_ADMIN_PASSWORD", "OPENWEBUI_ADMIN_PASSWORD"),
        secret_env("DATABASE_URL", "DATABASE_URL"), secret_env("REDIS_URL", "REDIS_URL"),
    ]


def migration_job(spec: KubeSpec) -> dict:
    """Open WebUI migrates when open_webui.config is imported with ENABLE_DB_MIGRATIONS=true: this Job does that
    once. A Job's pod template cannot change, so its name follows what the template holds (the image, the
    Secret's hashed name): an upgrade runs a new Job, and migrating an up-to-date database again changes nothing."""
    digest = hashlib.sha256(f"{spec.openwebui_image}\0{spec.secrets_digest}".encode()).hexdigest()[:10]
    name = f"open-webui-migrate-{digest}"
    container = {"name": "migrate", "image": spec.openwebui_image,
                 "command": ["python3", "-c", "import open_webui.config"], "env": openwebui_env(spec, migrate=True),
                 "volumeMounts": [{"name": "scratch", "mountPath": DATA_DIR}], **resources("100m", "512Mi", "2Gi")}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels("open-webui")},
            "spec": {"backoffLimit": 10,  # retried until PostgreSQL answers
                     "template": {"metadata": {"labels": labels("open-webui-migrate")},
                                  "spec": {**NO_API_TOKEN, "restartPolicy": "OnFailure", "containers": [container],
                                           "volumes": [{"name": "scratch", "emptyDir": {}}]}}}}


def openwebui_objects(spec: KubeSpec) -> list[dict]:
    container = {"image": spec.openwebui_image, "ports": [{"name": "http", "containerPort": APP_PORT}],
                 "env": openwebui_env(spec, migrate=False), **http_probes("/health", 600),
                 **resources("250m", "768Mi", "2Gi"), "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}]}
    # uploads are shared by every replica: several pods need a volume many nodes can mount at once
    access = "ReadWriteMany" if spec.replicas > 1 else "ReadWriteOnce"
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "open-webui-data", "labels": labels("open-webui")},
             "spec": {"accessModes": [access], "resources": {"requests": {"storage": "10Gi"}}}}
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "open-webui-data"}}]
    # socket.io may start with HTTP polling: its requests must reach the pod that opened the session
    svc = service("open-webui", 80, "http", sessionAffinity="ClientIP")
    return [deployment("open-webui", spec.replicas, container, volumes), svc, claim, migration_job(spec)]


def stateful_set(name: str, image: str, port: int, container: dict, mount: str, storage: str) -> dict:
    ports = [{"name": name, "containerPort": port}]
    pod = {**NO_API_TOKEN, "containers": [{"name": name, "image": image, "ports": ports, **container,
                                           "volumeMounts": [{"name": "data", "mountPath": mount}]}]}
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "labels": labels(name)},
            "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": labels(name)},
                     "template": {"metadata": {"labels": labels(name)}, "spec": pod},
                     "volumeClaimTemplates": [claim]}}


def only_open_webui(name: str, port: int) -> dict:
    """A NetworkPolicy: the database (or Redis) takes connections from Open WebUI's pods and its migration Job
    only (where the cluster's network enforces NetworkPolicies), never from any other pod of the cluster."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-from-open-webui", "labels": labels(name)},
            "spec": {"podSelector": {"matchLabels": labels(name)}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": labels("open-webui")}},
                                           {"podSelector": {"matchLabels": labels("open-webui-migrate")}}],
                                  "ports": [{"protocol": "TCP", "port": port}]}]}}


def exec_probes(command: list[str]) -> dict:
    run = {"exec": {"command": command}}
    return {"readinessProbe": {**run, "periodSeconds": 5, "timeoutSeconds": 3},
            "livenessProbe": {**run, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4}}


def postgres_objects(spec: KubeSpec) -> list[dict]:
    ready = ["pg_isready", "-U", POSTGRES_USER, "-d", POSTGRES_DB]
    container = {"env": [*plain_env({"POSTGRES_DB": POSTGRES_DB, "POSTGRES_USER": POSTGRES_USER,
                                     # a subfolder: a fresh volume's root may hold lost+found, which initdb refuses
                                     "PGDATA": "/var/lib/postgresql/data/pgdata"}),
                         secret_env("POSTGRES_PASSWORD", "POSTGRES_PASSWORD")],
                 **exec_probes(ready), **resources("100m", "256Mi", "1Gi")}
    return [stateful_set("postgres", spec.postgres_image, 5432, container, "/var/lib/postgresql/data", "10Gi"),
            service("postgres", 5432, "postgres", headless=True), only_open_webui("postgres", 5432)]


def redis_objects(spec: KubeSpec) -> list[dict]:
    # $(REDIS_PASSWORD) is expanded by Kubernetes from the container's env; the probe's redis-cli reads the
    # password from REDISCLI_AUTH, never from its arguments
    container = {"args": ["--appendonly", "yes", "--requirepass", "$(REDIS_PASSWORD)"],
                 "env": [secret_env("REDIS_PASSWORD", "REDIS_PASSWORD"), secret_env("REDISCLI_AUTH", "REDIS_PASSWORD")],
                 **exec_probes(["sh", "-c", "redis-cli --no-auth-warning ping | grep -q PONG"]),
                 **resources("50m", "64Mi", "256Mi")}
    return [stateful_set("redis", spec.redis_image, 6379, container, "/data", "1Gi"),
            service("redis", 6379, "redis", headless=True), only_open_webui("redis", 6379)]


def chainlit_objects(spec: KubeSpec) -> list[dict]:
    # opened through `kubectl port-forward svc/chainlit PORT:80`: the browser's Origin names that local port
    origins = ",".join(f"http://{host}:{spec.chainlit_port}" for host in ("127.0.0.1", "localhost"))
    env = [*plain_env({"BASE_URL": spec.foundry_api_url, "MODEL": spec.model_id, "ALLOW_ORIGINS": origins,
                       "PUBLIC": "false"}),
           secret_env("API_KEY", "FOUNDRY_API_KEY"), secret_env("CHAINLIT_AUTH_SECRET", "CHAINLIT_AUTH_SECRET"),
           secret_env("CHAINLIT_ADMIN_PASSWORD", "CHAINLIT_ADMIN_PASSWORD")]
    # one replica: each chat's history lives in its pod's memory
    container = {"image": spec.chainlit_image, "ports": [{"name": "http", "containerPort": APP_PORT}], "env": env,
                 **http_probes("/health", 120), **resources("50m", "128Mi", "512Mi")}
    return [deployment("chainlit", 1, container), service("chainlit", 80, "http")]


def webgpu_demo_objects(spec: KubeSpec) -> list[dict]:
    container = {"image": spec.webgpu_demo_image, "ports": [{"name": "http", "containerPort": APP_PORT}],
                 **http_probes("/health", 60), **resources("10m", "32Mi", "128Mi")}
    return [deployment("webgpu-demo", 1, container), service("webgpu-demo", 80, "http")]


def ingress(host: str) -> dict:
    path = {"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "open-webui", "port": {"name": "http"}}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "open-webui", "labels": labels("open-webui")},
            "spec": {"rules": [{"host": host, "http": {"paths": [path]}}]}}


def kube_objects(spec: KubeSpec) -> dict[str, list[dict]]:
    """The base's resource files, each a list of objects, in the order kustomization.yaml lists them."""
    files: dict[str, list[dict]] = {}
    if "open-webui" in spec.services:
        files["open-webui.yaml"] = openwebui_objects(spec)
        if not spec.external_database:
            files["postgres.yaml"] = postgres_objects(spec)
        if not spec.external_redis:
            files["redis.yaml"] = redis_objects(spec)
        if spec.ingress_host:
            files["ingress.yaml"] = [ingress(spec.ingress_host)]
    if "chainlit" in spec.services:
        files["chainlit.yaml"] = chainlit_objects(spec)
    if "webgpu-demo" in spec.services:
        files["webgpu-demo.yaml"] = webgpu_demo_objects(spec)
    return files


def kustomization(resources_: list[str]) -> dict:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources_,
            # the Secret's name gets a hash of its data: a changed secret rolls the pods that use it
            "secretGenerator": [{"name": SECRET_NAME, "envs": [SECRET_ENV]}]}


def secret_keys(spec: KubeSpec) -> tuple[str, ...]:
    """The keys the pods read from the Secret (and so the lines secrets.env must hold)."""
    keys = ["FOUNDRY_API_KEY"]
    if "open-webui" in spec.services:
        keys += ["WEBUI_SECRET_KEY", "OPENWEBUI_ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL"]
        keys += [] if spec.external_database else ["POSTGRES_PASSWORD"]
        keys += [] if spec.external_redis else ["REDIS_PASSWORD"]
    if "chainlit" in spec.services:
        keys += ["CHAINLIT_AUTH_SECRET", "CHAINLIT_ADMIN_PASSWORD"]
    return tuple(keys)


def in_cluster_urls(postgres_password: str, redis_password: str) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL of the PostgreSQL and Redis this base runs (generated passwords are URL-safe)."""
    return {"DATABASE_URL": f"postgresql://{POSTGRES_USER}:{postgres_password}@postgres:5432/{POSTGRES_DB}",
            "REDIS_URL": f"redis://:{redis_password}@redis:6379/0"}


def secret_env_text(values: dict[str, str], version: str) -> str:
    """secrets.env as kustomize reads an env file: KEY=VALUE, the value literal to the end of the line (no quotes,
    no escapes), so a value holding a control character is refused rather than written."""
    from ..errors import ConfigError
    from .validate import control_character

    lines = [HEADER.format(version=version).rstrip("\n"), "# Secrets of the Kubernetes base: keep this file private "
             "(mode 0600); kustomize's secretGenerator turns it into the Secret " + SECRET_NAME + "."]
    for key, value in values.items():
        found = control_character(value)
        if found:
            raise ConfigError(f"secrets.env: the value of {key} contains {found}, which would end its line",
                              f"remove it from the setting that fills {key}", code="config.invalid")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"
