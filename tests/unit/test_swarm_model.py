"""The Swarm stack as data: what `docker stack deploy` gets (and what it would ignore or refuse)."""
from __future__ import annotations

import pytest
import yaml

from fldeploy.core import swarm_model as model
from fldeploy.core import swarm_status
from fldeploy.core.compose_model import HOST_GATEWAY, Relay, StackSpec

KEYS = tuple(model.SECRET_TARGETS)


def _stack(**kw) -> StackSpec:
    base = dict(project="lab", services=("open-webui", "chainlit"), bind_host="127.0.0.1", openwebui_port=3000,
                chainlit_port=8080, webgpu_demo_port=8090, foundry_api_url="http://host.docker.internal:5273/v1",
                model_id="m:1", openwebui_image="owui:1", chainlit_image="cl:1", webgpu_demo_image="demo:1",
                volume="owui-data", admin_email="admin@x.test", extra_hosts=(HOST_GATEWAY,))
    base.update(kw)
    return StackSpec(**base)  # type: ignore[arg-type]


def _spec(replicas: int = 3, migrate: bool = False, **kw) -> model.SwarmSpec:
    return model.SwarmSpec(_stack(**kw), replicas, migrate, "pg:15", "redis:7",
                           {k: f"/s/{k}" for k in KEYS}, {k: f"lab_{k.lower()}_abc" for k in KEYS},
                           host_gateway="172.17.0.1", gateway_image="nginx:1",
                           gateway_config_file="/s/gateway.conf", gateway_config_name="lab_gateway_abc")


def test_open_webui_replicas_share_postgres_redis_and_one_secret_key_and_do_not_migrate_once_scaled():
    doc = model.stack_document(_spec(replicas=3))
    owui = doc["services"]["open-webui"]
    env = owui["environment"]
    assert owui["deploy"]["replicas"] == 3
    assert env["ENABLE_DB_MIGRATIONS"] == "false"
    assert (env["REDIS_URL"], env["WEBSOCKET_MANAGER"], env["ENABLE_WEBSOCKET_SUPPORT"]) == \
        ("redis://redis:6379/0", "redis", "true")
    assert (env["UVICORN_WORKERS"], env["VECTOR_DB"]) == ("1", "pgvector")
    assert {s["target"] for s in owui["secrets"]} == {"WEBUI_SECRET_KEY", "WEBUI_ADMIN_PASSWORD", "OPENAI_API_KEY",
                                                      "DATABASE_URL"}
    assert owui["volumes"] == ["owui-data:/app/backend/data"], "one uploads volume for every replica"


def test_the_first_phase_is_one_replica_that_migrates():
    owui = model.stack_document(_spec(replicas=4, migrate=True))["services"]["open-webui"]
    assert owui["deploy"]["replicas"] == 1 and owui["environment"]["ENABLE_DB_MIGRATIONS"] == "true"


def test_no_secret_in_the_environment_and_nothing_stack_deploy_ignores():
    doc = model.stack_document(_spec())
    text = yaml.safe_dump(doc)
    assert "${" not in text, "stack deploy reads no .env: no ${VAR} references"
    for name, svc in doc["services"].items():
        assert not {"build", "restart", "container_name", "network_mode"} & set(svc), name
        assert isinstance(svc.get("depends_on", []), list)
        assert svc["deploy"]["endpoint_mode"] == "dnsrr", "no VIP: it needs IPVS"
        for key, value in (svc.get("environment") or {}).items():
            assert key.endswith("_FILE") or ("PASSWORD" not in key and "SECRET" not in key), (name, key)
    assert doc["secrets"]["webui_secret_key"] == {"name": "lab_webui_secret_key_abc", "file": "/s/WEBUI_SECRET_KEY"}
    assert "$" not in model.SECRETS_TO_ENV, "stack deploy would interpolate it"


def test_only_the_gateway_publishes_in_host_mode_and_it_spreads_over_the_replicas():
    spec = _spec()
    doc = model.stack_document(spec)
    published = {name: svc.get("ports") for name, svc in doc["services"].items() if svc.get("ports")}
    assert list(published) == ["gateway"]
    assert {(p["published"], p["mode"]) for p in published["gateway"]} == {(3000, "host"), (8080, "host")}
    assert doc["services"]["gateway"]["deploy"]["mode"] == "global"
    conf = model.gateway_config(spec)
    assert "set $fldeploy_upstream tasks.open-webui;" in conf and "proxy_pass http://$fldeploy_upstream:8080;" in conf
    assert "proxy_next_upstream error timeout non_idempotent;" in conf
    assert "resolver 127.0.0.11" in conf and "Upgrade $http_upgrade" in conf
    assert doc["x-fldeploy"]["published"] == {"open-webui": 3000, "chainlit": 8080}


def test_postgres_never_runs_twice_on_its_data_and_reads_its_password_from_a_secret():
    pg = model.stack_document(_spec())["services"]["postgres"]
    assert pg["deploy"]["update_config"]["order"] == "stop-first" and pg["deploy"]["replicas"] == 1
    assert pg["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/POSTGRES_PASSWORD"
    assert pg["volumes"] == ["owui-data-postgres:/var/lib/postgresql/data"]
    assert model.database_url("p4ss") == "postgresql://openwebui:p4ss@postgres:5432/openwebui"


def test_host_gateway_is_named_for_overlay_tasks_and_the_relay_joins_the_host_network():
    relay = Relay("socat:1", "172.17.0.1", 15273, 5273)
    doc = model.stack_document(_spec(relay=relay))
    assert doc["services"]["open-webui"]["extra_hosts"] == ["host.docker.internal:172.17.0.1"]
    assert doc["services"]["foundry-relay"]["networks"] == ["hostnet"]
    assert doc["networks"]["hostnet"] == {"external": True, "name": "host"}
    assert "network_mode" not in doc["services"]["foundry-relay"]


def test_only_chosen_front_ends():
    doc = model.stack_document(_spec(services=("chainlit",)))
    assert set(doc["services"]) == {"chainlit", "gateway"} and "volumes" not in doc


def test_secret_names_change_with_their_content():
    assert model.secret_name("lab", "WEBUI_SECRET_KEY", "a" * 64) != model.secret_name("lab", "WEBUI_SECRET_KEY",
                                                                                      "b" * 64)


@pytest.mark.parametrize("text, expected", [("2/2", (2, 2)), ("1/2 (max 1 per node)", (1, 2)), ("", (0, 0))])
def test_replicas_of(text, expected):
    assert swarm_status.replicas_of(text) == expected


def test_service_rows_and_convergence():
    doc = model.stack_document(_spec(replicas=2))
    listed = [{"Name": f"lab_{name}", "Replicas": "1/1", "Image": "x"} for name in doc["services"]]
    listed = [r if r["Name"] != "lab_open-webui" else {**r, "Replicas": "1/2"} for r in listed]
    rows = {r["service"]: r for r in swarm_status.service_rows("lab", listed, doc)}
    assert rows["open-webui"]["state"] == "converging" and rows["open-webui"]["url"] == "http://127.0.0.1:3000"
    assert not swarm_status.converged(list(rows.values()))
    listed = [{**r, "Replicas": "2/2"} if r["Name"] == "lab_open-webui" else r for r in listed]
    assert swarm_status.converged(swarm_status.service_rows("lab", listed, doc))
    assert swarm_status.service_rows("lab", [], doc)[0]["state"] == "absent"


def test_migration_phase_rule():
    scaled = {"image": "owui:1", "env": {"ENABLE_DB_MIGRATIONS": "false"}}
    assert swarm_status.needs_migration_phase(None, "owui:1", None, None), "first deploy"
    assert not swarm_status.needs_migration_phase(scaled, "owui:1", "sha:a", "sha:a")
    assert swarm_status.needs_migration_phase(scaled, "owui:2", "sha:a", "sha:a"), "another image"
    assert swarm_status.needs_migration_phase(scaled, "owui:1", "sha:b", "sha:a"), "rebuilt local image"
    assert swarm_status.needs_migration_phase({**scaled, "env": {"ENABLE_DB_MIGRATIONS": "true"}}, "owui:1", None, None)


def test_build_document_builds_only_what_has_a_context():
    spec = _spec(build_contexts={"open-webui": "../deploy/open-webui"}, base_image="base:1", ca_file="/ca.crt")
    doc = model.build_document(spec, {"open-webui": "../o", "postgres": "../p", "redis": "../r", "gateway": "../n"})
    assert set(doc["services"]) == {"open-webui", "postgres", "redis", "gateway"}
    assert doc["services"]["postgres"] == {"image": "pg:15", "build": {
        "context": "../p", "args": {"BASE_IMAGE": "base:1"}, "secrets": ["host_ca"]}}
    assert doc["secrets"] == {"host_ca": {"file": "/ca.crt"}}
