"""The Kubernetes base as data: replicas, Open WebUI's multi-replica settings, secrets only by reference, the
optional Ingress, external PostgreSQL/Redis, and the setting rules for them."""
from __future__ import annotations

import pytest
import yaml

from fldeploy.core import kube_model as km
from fldeploy.core import validate as v
from fldeploy.errors import ConfigError

SECRET_NAMES = {"OPENAI_API_KEY", "WEBUI_SECRET_KEY", "WEBUI_ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL",
                "POSTGRES_PASSWORD", "REDIS_PASSWORD", "API_KEY", "CHAINLIT_AUTH_SECRET", "CHAINLIT_ADMIN_PASSWORD"}


def spec(**changes) -> km.KubeSpec:
    base = dict(services=("open-webui", "chainlit"), replicas=3, foundry_api_url="http://10.0.0.5:5273/v1",
                model_id="phi-4-mini", openwebui_image="ghcr.io/open-webui/open-webui:v0.12.4",
                chainlit_image="fldeploy/chainlit:0.1.0", webgpu_demo_image="fldeploy/webgpu-demo:0.1.0",
                admin_email="admin@fldeploy.local", chainlit_port=8080)
    return km.KubeSpec(**{**base, **changes})


def objects(s: km.KubeSpec) -> list[dict]:
    return [o for docs in km.kube_objects(s).values() for o in docs]


def find(s: km.KubeSpec, kind: str, name: str) -> dict:
    return next(o for o in objects(s) if o["kind"] == kind and o["metadata"]["name"].startswith(name))


def env_of(workload: dict) -> dict[str, dict]:
    return {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_open_webui_runs_the_replicas_asked_for_with_a_shared_volume():
    many, one = spec(replicas=3), spec(replicas=1)
    assert find(many, "Deployment", "open-webui")["spec"]["replicas"] == 3
    assert find(many, "PersistentVolumeClaim", "open-webui-data")["spec"]["accessModes"] == ["ReadWriteMany"]
    assert find(one, "PersistentVolumeClaim", "open-webui-data")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert find(many, "Deployment", "chainlit")["spec"]["replicas"] == 1, "its chat history is in pod memory"


def test_replicas_share_postgres_redis_and_one_secret_key_and_only_the_job_migrates():
    s = spec()
    env = env_of(find(s, "Deployment", "open-webui"))
    assert {k: env[k]["value"] for k in ("VECTOR_DB", "WEBSOCKET_MANAGER", "ENABLE_WEBSOCKET_SUPPORT",
                                         "UVICORN_WORKERS", "ENABLE_DB_MIGRATIONS", "OPENAI_API_BASE_URL")} == {
        "VECTOR_DB": "pgvector", "WEBSOCKET_MANAGER": "redis", "ENABLE_WEBSOCKET_SUPPORT": "true",
        "UVICORN_WORKERS": "1", "ENABLE_DB_MIGRATIONS": "false", "OPENAI_API_BASE_URL": "http://10.0.0.5:5273/v1"}
    for name in ("DATABASE_URL", "REDIS_URL", "WEBUI_SECRET_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": km.SECRET_NAME, "key": name}
    job = find(s, "Job", "open-webui-migrate")
    assert env_of(job)["ENABLE_DB_MIGRATIONS"]["value"] == "true"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python3", "-c", "import open_webui.config"]


def test_the_migration_job_is_renamed_when_its_pod_template_would_change():
    names = {find(s, "Job", "open-webui-migrate")["metadata"]["name"]
             for s in (spec(), spec(openwebui_image="ghcr.io/open-webui/open-webui:v0.12.5"),
                       spec(secrets_digest="other"))}
    assert len(names) == 3
    assert find(spec(), "Job", "open-webui-migrate")["metadata"]["name"] == \
        find(spec(replicas=5), "Job", "open-webui-migrate")["metadata"]["name"]


def test_probes_on_health_and_resource_requests_everywhere():
    s = spec(services=("open-webui", "chainlit", "webgpu-demo"))
    for o in objects(s):
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            container = o["spec"]["template"]["spec"]["containers"][0]
            assert container["resources"]["requests"]["memory"], o["metadata"]["name"]
            if o["kind"] == "Deployment":
                assert container["readinessProbe"]["httpGet"]["path"] == "/health"
                assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_secrets_are_only_referenced_and_every_reference_is_a_key_of_the_secret():
    for s in (spec(), spec(external_database=True, external_redis=True), spec(services=("chainlit",))):
        keys = set(km.secret_keys(s))
        for o in objects(s):
            for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                for e in c.get("env", []):
                    assert e["name"] not in SECRET_NAMES or "value" not in e, f"{e['name']} inline in {o['kind']}"
                    if "valueFrom" in e:
                        assert e["valueFrom"]["secretKeyRef"]["key"] in keys
        assert not any(o["kind"] == "Secret" for o in objects(s)), "kustomize's secretGenerator makes the Secret"


def test_every_service_selects_the_pods_of_its_workload():
    s = spec(services=("open-webui", "chainlit", "webgpu-demo"))
    workloads = {o["metadata"]["name"]: o for o in objects(s) if o["kind"] in ("Deployment", "StatefulSet")}
    for svc in (o for o in objects(s) if o["kind"] == "Service"):
        pod_labels = workloads[svc["metadata"]["name"]]["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        container = workloads[svc["metadata"]["name"]]["spec"]["template"]["spec"]["containers"][0]
        assert svc["spec"]["ports"][0]["targetPort"] in {p["name"] for p in container["ports"]}
    job_pods = find(s, "Job", "open-webui-migrate")["spec"]["template"]["metadata"]["labels"]
    assert not find(s, "Service", "open-webui")["spec"]["selector"].items() <= job_pods.items(), \
        "the migration Job's pod never receives traffic"


def test_ingress_only_when_a_host_is_given():
    assert "ingress.yaml" not in km.kube_objects(spec())
    rule = find(spec(ingress_host="chat.example.org"), "Ingress", "open-webui")["spec"]["rules"][0]
    assert rule["host"] == "chat.example.org"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "open-webui", "port": {"name": "http"}}


def test_external_database_and_redis_replace_the_stateful_sets():
    files = km.kube_objects(spec(external_database=True))
    assert "postgres.yaml" not in files and "redis.yaml" in files
    files = km.kube_objects(spec(external_redis=True))
    assert "postgres.yaml" in files and "redis.yaml" not in files
    assert set(km.secret_keys(spec(external_database=True, external_redis=True))).isdisjoint(
        {"POSTGRES_PASSWORD", "REDIS_PASSWORD"})
    only_chainlit = km.kube_objects(spec(services=("chainlit",), ingress_host="chat.example.org"))
    assert list(only_chainlit) == ["chainlit.yaml"]


def test_kustomization_lists_the_files_and_generates_the_secret():
    doc = km.kustomization(["open-webui.yaml"])
    assert doc["resources"] == ["open-webui.yaml"]
    assert doc["secretGenerator"] == [{"name": km.SECRET_NAME, "envs": [km.SECRET_ENV]}]
    assert yaml.safe_load(yaml.safe_dump(doc)) == doc


def test_secret_env_is_literal_and_refuses_a_line_break():
    text = km.secret_env_text({"FOUNDRY_API_KEY": "sk-$HOME 'q' \"d\" #x", "WEBUI_SECRET_KEY": "abc"}, "1")
    assert text.startswith(km.MARKER)
    assert "FOUNDRY_API_KEY=sk-$HOME 'q' \"d\" #x\n" in text, "kustomize takes the rest of the line as it is"
    with pytest.raises(ConfigError, match="U\\+000A"):
        km.secret_env_text({"FOUNDRY_API_KEY": "a\nEVIL=1"}, "1")


@pytest.mark.parametrize("host", ["chat.example.org", "*.example.org", "localhost"])
def test_ingress_host_accepts_dns_names(host):
    v.dns_name(host)


@pytest.mark.parametrize("host", ["Chat.example.org", "chat_example.org", "10.0.0.5", "-a.org", "a..org",
                                  "a" * 64 + ".org", "chat.example.org/x"])
def test_ingress_host_refuses_what_an_ingress_rule_does_not_take(host):
    with pytest.raises(v.Invalid):
        v.dns_name(host)


def test_external_urls_must_have_the_right_scheme_and_a_host():
    v.postgres_url("postgresql://u:p@db:5432/openwebui")
    v.postgres_url("postgres://u:p@db/openwebui")
    v.redis_url("rediss://:p@redis.example.org:6380/0")
    for bad in ("mysql://u:p@db/x", "postgresql:///x", "postgresql://db:99999/x", "db:5432", "postgresql://d b/x"):
        with pytest.raises(v.Invalid):
            v.postgres_url(bad)
    with pytest.raises(v.Invalid):
        v.redis_url("http://redis:6379")


def test_human_output_says_what_was_written_and_how_to_apply_it():
    from fldeploy.output.human import render
    from fldeploy.result import Result

    data = {"target": "kubernetes", "dir": "k8s", "written": ["kustomization.yaml"], "removed": ["postgres.yaml"],
            "services": ["open-webui", "chainlit"], "replicas": 3, "foundry_url": "http://10.0.0.5:5273/v1",
            "model_id": "m", "database": "external (database_url)", "redis": "Redis StatefulSet",
            "ingress_host": None, "secret": km.SECRET_NAME, "secret_file": "k8s/secrets.env", "notes": ["n"]}
    text = render(Result("render", data))
    assert "open-webui x3, chainlit" in text and "kubectl apply -k k8s" in text
    assert "removed:   postgres.yaml" in text and "note: n" in text and "port-forward" in text


def test_no_pod_gets_an_api_token_and_only_open_webui_reaches_the_data():
    from fldeploy.core.kube_model import kube_objects

    files = kube_objects(spec())
    objects = [o for objs in files.values() for o in objs]
    pods = [o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]
    assert pods and all(p["automountServiceAccountToken"] is False for p in pods)
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert set(policies) == {"postgres-from-open-webui", "redis-from-open-webui"}
    allowed = {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
               for spec in policies.values() for rule in spec["ingress"] for p in rule["from"]}
    assert allowed == {"open-webui", "open-webui-migrate"}
    redis = next(o for o in files["redis.yaml"] if o["kind"] == "StatefulSet")
    probe = redis["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"]
    assert "REDIS_PASSWORD" not in " ".join(probe), "the password is not in the probe's arguments"
