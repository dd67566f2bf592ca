"""`fldeploy render --target kubernetes`: the real CLI on a real Foundry writes a kustomize base that the real
`kubectl kustomize` renders offline and whose every object validates against the Kubernetes 1.31 schemas.
No cluster runs here: this is what can be tested of the Kubernetes target."""
from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess

import kubernetes_validate
import pytest
import yaml

from fldeploy.settings import SPEC_BY_NAME

from ..support.fixtures import isolated_env, run_fldeploy

KUBERNETES = "1.31"


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl is missing: the machine image ships it (/usr/bin/kubectl); `kubectl kustomize` renders here"
    return found


@pytest.fixture
def render(tmp_path):
    env = isolated_env(tmp_path)

    def call(out, *args: str, **extra: str):
        return run_fldeploy("render", "--target", "kubernetes", "--out", str(out), *args,
                            env={**env, **extra}, cwd=tmp_path)
    return call


def kustomize(kubectl: str, base) -> list[dict]:
    done = subprocess.run([kubectl, "kustomize", str(base)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def assert_valid(objects: list[dict]) -> None:
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:  # its str() dumps the whole schema
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


def one(objects: list[dict], kind: str, name: str = "") -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name)]
    assert len(found) == 1, f"{kind} {name}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def test_base_renders_offline_and_validates(tmp_path, foundry, kubectl, render):
    base = tmp_path / "k8s"
    run = render(base, "--replicas", "3", "--foundry-url", foundry.url, "--json")
    assert run.code == 0, run.out + run.err
    data = run.json["data"]
    assert data["model_id"] == foundry.model_id and data["replicas"] == 3
    assert any("in a pod is the pod itself" in n for n in data["notes"]), "a loopback Foundry URL is flagged"

    objects = kustomize(kubectl, base)
    assert_valid(objects)
    deployment = one(objects, "Deployment", "open-webui")
    assert deployment["spec"]["replicas"] == 3
    assert one(objects, "StatefulSet", "postgres") and one(objects, "StatefulSet", "redis")
    assert one(objects, "Deployment", "chainlit")["spec"]["replicas"] == 1
    assert not [o for o in objects if o["kind"] == "Ingress"]

    secret = one(objects, "Secret", "fldeploy-secrets-")
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert {"WEBUI_SECRET_KEY", "OPENWEBUI_ADMIN_PASSWORD", "FOUNDRY_API_KEY", "DATABASE_URL", "REDIS_URL",
            "POSTGRES_PASSWORD", "REDIS_PASSWORD", "CHAINLIT_AUTH_SECRET", "CHAINLIT_ADMIN_PASSWORD"} <= set(values)
    assert values["DATABASE_URL"].startswith(f"postgresql://openwebui:{values['POSTGRES_PASSWORD']}@postgres:")
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for o in objects if "template" in o.get("spec", {})
            for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", []) if "valueFrom" in e}
    assert refs == {secret["metadata"]["name"]}, "kustomize points every pod at the generated Secret"

    service = one(objects, "Service", "open-webui")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OPENAI_API_BASE_URL"] == foundry.url.rstrip("/") + "/v1"

    assert stat.S_IMODE(os.stat(base / "secrets.env").st_mode) == 0o600
    yaml_text = "".join(p.read_text() for p in base.glob("*.yaml"))
    for name in ("WEBUI_SECRET_KEY", "OPENWEBUI_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert values[name] not in yaml_text, f"{name} stays out of the YAML files"

    again = render(base, "--replicas", "3", "--foundry-url", foundry.url, "--json")
    assert again.code == 0 and again.json["data"]["written"] == [], "same settings, same files, secrets kept"


def test_external_database_redis_and_an_ingress(tmp_path, foundry, kubectl, render):
    base = tmp_path / "k8s"
    assert render(base, "--foundry-url", foundry.url).code == 0
    db, cache = "postgresql://owui:s3cret@db.example.org:5432/openwebui", "rediss://:r3dis@cache.example.org:6380/0"
    run = render(base, "--foundry-url", foundry.url, "--json", "--services", "open-webui,chainlit,webgpu-demo",
                 FLDEPLOY_DATABASE_URL=db, FLDEPLOY_REDIS_URL=cache,
                 FLDEPLOY_INGRESS_HOST="chat.example.org")
    assert run.code == 0, run.out + run.err
    assert sorted(run.json["data"]["removed"]) == ["postgres.yaml", "redis.yaml"]
    assert "s3cret" not in run.out and "r3dis" not in run.out, "the URLs' passwords are masked in the output"

    objects = kustomize(kubectl, base)
    assert_valid(objects)
    assert not [o for o in objects if o["kind"] == "StatefulSet"]
    assert one(objects, "Deployment", "webgpu-demo")
    secret = one(objects, "Secret", "fldeploy-secrets-")
    assert base64.b64decode(secret["data"]["DATABASE_URL"]).decode() == db
    assert base64.b64decode(secret["data"]["REDIS_URL"]).decode() == cache
    rule = one(objects, "Ingress")["spec"]["rules"][0]
    assert rule["host"] == "chat.example.org"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == one(objects, "Service", "open-webui")[
        "metadata"]["name"]


@pytest.mark.parametrize("args, extra, said", [
    (("--replicas", "0"), {}, "replicas must be between 1 and 32, got 0"),
    ((), {"FLDEPLOY_INGRESS_HOST": "chat.example.org\nx"}, "ingress_host contains U+000A (a control character)"),
    ((), {"FLDEPLOY_INGRESS_HOST": "Chat_Example"}, "ingress_host is not a DNS host name"),
    ((), {"FLDEPLOY_DATABASE_URL": "mysql://u:p@db/x"}, "database_url is not a postgresql:// URL with a host"),
])
def test_hostile_settings_are_refused_with_a_fix(tmp_path, render, args, extra, said):
    run = render(tmp_path / "k8s", "--foundry-url", "http://10.0.0.5:5273", "--model", "m", *args, **extra)
    assert run.code == 3, run.out + run.err
    assert said in run.err and "fix:" in run.err
    assert "u:p" not in run.err
    assert not (tmp_path / "k8s").exists(), "nothing is written"


def test_hand_edited_file_is_left_alone(tmp_path, render):
    base = tmp_path / "k8s"
    assert render(base, "--foundry-url", "http://10.0.0.5:5273", "--model", "m").code == 0
    (base / "open-webui.yaml").write_text("# mine\n")
    run = render(base, "--foundry-url", "http://10.0.0.5:5273", "--model", "m", "--replicas", "2")
    assert run.code == 3 and "edited by hand" in run.err and "overlay" in run.err
    assert (base / "open-webui.yaml").read_text() == "# mine\n"


@pytest.mark.parametrize("verb", ["up", "status", "down", "logs"])
def test_other_verbs_point_at_kubectl(tmp_path, verb):
    run = run_fldeploy(verb, "--target", "kubernetes", env=isolated_env(tmp_path), cwd=tmp_path)
    assert run.code == 2, run.out + run.err
    assert "kubectl apply -k DIR" in run.err


@pytest.mark.skipif("foundry_urls" not in SPEC_BY_NAME, reason="the foundry_urls setting is not in this tree")
def test_several_foundry_hosts_are_refused_not_cut_to_one(tmp_path, render):
    run = render(tmp_path / "k8s", "--model", "m",
                 FLDEPLOY_FOUNDRY_URLS="a=http://10.0.0.5:5273,b=http://10.0.0.6:5273")
    assert run.code == 2, run.out + run.err
    assert "renders one Foundry URL" in run.err and not (tmp_path / "k8s").exists()
