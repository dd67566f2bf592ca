"""Several Foundry hosts, the pure parts: name=URL items, derived names, hostile names and URLs refused with a
clear ConfigError, the Open WebUI environment, the Compose document and the balancer's configuration, drift."""
from __future__ import annotations

import json

import pytest

from fldeploy import settings as s
from fldeploy.cli.common import foundry_flags
from fldeploy.core.compose_hosts import (BALANCER, HOSTS_KEY, HostPlan, apply_hosts, balancer_config,
                                         read_hosts)
from fldeploy.core.compose_model import Relay, StackSpec, compose_document
from fldeploy.core.foundry_hosts import (FoundryHost, hosts_drift, is_loopback, openwebui_env, own_addresses,
                                         parse_hosts, read_connections, stored_matches)
from fldeploy.core.validate import Invalid
from fldeploy.errors import ConfigError

pytestmark = pytest.mark.unit


def test_named_and_unnamed_hosts():
    hosts = parse_hosts("lab=http://10.0.0.5:5273, http://gpu.example.org:5273/v1 ,10.0.0.7:5273")
    assert hosts == [FoundryHost("lab", "http://10.0.0.5:5273"), FoundryHost("gpu-example-org",
                     "http://gpu.example.org:5273/v1"), FoundryHost("10-0-0-7", "10.0.0.7:5273")]


def test_same_host_two_ports_get_the_port_in_their_names():
    hosts = parse_hosts("http://127.0.0.1:5273,http://127.0.0.1:5274")
    assert [h.name for h in hosts] == ["127-0-0-1", "127-0-0-1-5274"]


@pytest.mark.parametrize("value, problem", [
    ("Lab=http://10.0.0.5:5273", "not [a-z0-9-]"),
    ("-lab=http://10.0.0.5:5273", "not [a-z0-9-]"),
    ("la b=http://10.0.0.5:5273", "not [a-z0-9-]"),
    ("lab$(id)=http://10.0.0.5:5273", "not [a-z0-9-]"),
    ("a=http://10.0.0.5:5273,a=http://10.0.0.6:5273", "twice"),
    ("a=http://10.0.0.5:5273,b=http://10.0.0.5:5273/v1", "same URL"),
    ("a=http://localhost:5273,b=http://127.0.0.1:5273", "same URL"),
    ("a=ftp://10.0.0.5", "bad URL for host 'a'"),
    ("a=http://10.0.0.5:5273?x=1", "bad URL"),
    ("a=http://10.0.0.5:5273/x;y", "';'"),
    ("a=http://ev il:5273", "bad URL"),
    (" , ", "names no Foundry host"),
    (",".join(f"http://10.0.0.{i}:5273" for i in range(20)), "at most"),
])
def test_hostile_hosts_refused(value, problem):
    with pytest.raises(Invalid) as bad:
        parse_hosts(value)
    assert problem in bad.value.problem


def test_settings_refuse_a_bad_host_naming_where_it_came_from():
    with pytest.raises(ConfigError) as bad:
        s.resolve({}, {"FLDEPLOY_FOUNDRY_URLS": "Lab=http://x:1"}, {}, None)
    assert "FLDEPLOY_FOUNDRY_URLS" in bad.value.message and "foundry_urls" in bad.value.message


def test_settings_take_a_yaml_list_or_a_string():
    listed = s.parse_config("foundry_urls:\n  - lab=http://10.0.0.5:5273\n  - http://10.0.0.6:5273\n", "f.yaml")
    assert s.resolve({}, {}, listed, "f.yaml").foundry_urls == "lab=http://10.0.0.5:5273,http://10.0.0.6:5273"
    text = s.parse_config("foundry_urls: 'a=http://10.0.0.5:5273,b=http://10.0.0.6:5273'\n", "f.yaml")
    assert len(parse_hosts(s.resolve({}, {}, text, "f.yaml").foundry_urls)) == 2
    with pytest.raises(ConfigError):
        s.parse_config("foundry_urls:\n  - [nested]\n", "f.yaml")
    with pytest.raises(ConfigError):  # other settings stay scalar
        s.parse_config("model:\n  - a\n", "f.yaml")


def test_flags_keep_one_url_as_before():
    assert foundry_flags(None) == {"foundry_url": None}
    assert foundry_flags(["http://127.0.0.1:5273"]) == {"foundry_url": "http://127.0.0.1:5273"}
    assert foundry_flags(["lab=http://10.0.0.5:5273"]) == {"foundry_urls": ["lab=http://10.0.0.5:5273"]}
    two = foundry_flags(["http://a:1", "http://b:2"])
    assert s.resolve(two, {}, {}, None).foundry_urls == "http://a:1,http://b:2"


def test_openwebui_env_is_one_connection_per_host_with_its_prefix():
    env = openwebui_env(["http://h1:1/v1", "http://h2:2/v1"], ["a", "b"], "${KEY}")
    assert env["OPENAI_API_BASE_URLS"] == "http://h1:1/v1;http://h2:2/v1"
    assert env["OPENAI_API_KEYS"] == "${KEY};${KEY}"
    assert json.loads(env["OPENAI_API_CONFIGS"]) == {"0": {"enable": True, "prefix_id": "a"},
                                                     "1": {"enable": True, "prefix_id": "b"}}
    assert read_connections({**env}) == [("a", "http://h1:1/v1"), ("b", "http://h2:2/v1")]
    stored = {"OPENAI_API_BASE_URLS": ["http://h1:1/v1", "http://h2:2/v1"],
              "OPENAI_API_CONFIGS": json.loads(env["OPENAI_API_CONFIGS"])}
    assert stored_matches(stored, ["http://h1:1/v1", "http://h2:2/v1"], ["a", "b"])
    assert not stored_matches(stored, ["http://h1:1/v1"], ["a"])
    assert not stored_matches({**stored, "OPENAI_API_CONFIGS": {}}, ["http://h1:1/v1", "http://h2:2/v1"], ["a", "b"])


def test_loopback_addresses_of_other_hosts_are_not_this_ones():
    assert is_loopback("127.0.0.3") and is_loopback("::1") and not is_loopback("172.17.0.1")
    assert own_addresses("127.0.0.2", ["127.0.0.2", "127.0.0.3", "172.17.0.1"]) == ("127.0.0.2", "172.17.0.1")


def _spec(**kw) -> StackSpec:
    base = dict(project="p", services=("open-webui", "chainlit"), bind_host="127.0.0.1", openwebui_port=3000,
                chainlit_port=8080, webgpu_demo_port=8090, foundry_api_url="http://x/v1", model_id="m:1",
                openwebui_image="o", chainlit_image="c", webgpu_demo_image="w", volume="v", admin_email="a@b.c")
    return StackSpec(**{**base, **kw})


HOSTS = [HostPlan("a", "http://127.0.0.2:5000", "http://host.docker.internal:6000/v1", "m:1",
                  Relay("socat", "172.17.0.1", 6000, 5000, "127.0.0.2")),
         HostPlan("b", "http://10.0.0.5:5273", "http://10.0.0.5:5273/v1", "m:1")]


def test_document_has_a_connection_and_relay_per_host():
    doc = apply_hosts(compose_document(_spec()), _spec(), HOSTS, False, "nginx")
    env = doc["services"]["open-webui"]["environment"]
    assert "OPENAI_API_BASE_URL" not in env and "OPENAI_API_KEY" not in env
    assert env["OPENAI_API_BASE_URLS"] == "http://host.docker.internal:6000/v1;http://10.0.0.5:5273/v1"
    assert doc["services"]["foundry-relay-a"]["command"][-1] == "TCP:127.0.0.2:5000"
    assert "foundry-relay-b" not in doc["services"] and BALANCER not in doc["services"]
    assert doc["services"]["open-webui"]["depends_on"] == ["foundry-relay-a"]
    assert doc["services"]["chainlit"]["environment"]["BASE_URL"] == "http://host.docker.internal:6000/v1"
    hosts, balance = read_hosts(doc)
    assert [h["name"] for h in hosts] == ["a", "b"] and balance is False


def test_balance_is_one_connection_through_nginx():
    doc = apply_hosts(compose_document(_spec()), _spec(), HOSTS, True, "nginx")
    env = doc["services"]["open-webui"]["environment"]
    assert env["OPENAI_API_BASE_URLS"] == "http://foundry-balancer:8080/v1"
    assert json.loads(env["OPENAI_API_CONFIGS"]) == {}
    assert doc["services"]["chainlit"]["environment"]["BASE_URL"] == "http://foundry-balancer:8080/v1"
    conf = doc["configs"]["foundry-balancer-nginx"]["content"]
    assert "$$upstream_addr" in conf  # escaped for Compose
    assert "server host.docker.internal:6000 max_fails=1" in conf and "server 10.0.0.5:5273 " in conf
    assert doc[HOSTS_KEY]["balance"] is True


def test_balancer_forwards_only_the_openai_routes():
    conf = balancer_config(HOSTS)
    assert "location /v1/ {" in conf and "location / { return 404; }" in conf
    assert "proxy_next_upstream error timeout http_502" in conf


def test_drift_is_judged_per_host():
    in_use = {"a": "http://host.docker.internal:6000/v1", "b": "http://10.0.0.5:5273/v1"}
    assert hosts_drift(in_use, dict(in_use)) == {}
    moved = hosts_drift(in_use, {**in_use, "b": "http://10.0.0.5:5999/v1"})
    assert list(moved) == ["b"] and moved["b"].startswith("host b:")
    assert set(hosts_drift(in_use, {"a": in_use["a"], "c": "http://c/v1"})) == {"b", "c"}
