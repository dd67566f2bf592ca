"""Port analysis: what the stack needs, who holds it, and the fix a user is told."""
from __future__ import annotations

import pytest

from fldeploy.core.ports import Need, bind_scope, classify, describe_holder, nearest_free, needed_ports

pytestmark = pytest.mark.unit

NGINX = {"addresses": ["0.0.0.0"], "pid": 4242,
         "process": {"pid": 4242, "name": "nginx", "user": "www-data", "cmdline": "nginx: master"}}
OWN_CONTAINER = {"addresses": ["0.0.0.0", "::"], "pid": 77,
                 "container": {"name": "fldeploy-open-webui-1", "project": "fldeploy", "service": "open-webui"}}
OTHER_CONTAINER = {"addresses": ["0.0.0.0"],
                   "container": {"name": "grafana", "project": "monitoring", "service": "grafana"}}


def test_needed_ports_roles_in_order():
    assert needed_ports(3000, 8080, 5273, [9000]) == [
        Need(3000, "open-webui"), Need(8080, "chainlit"), Need(5273, "foundry"), Need(9000, "requested")]


def test_needed_ports_drops_none_and_duplicates():
    assert needed_ports(3000, None, None, [3000, 9000, 9000]) == [Need(3000, "open-webui"), Need(9000, "requested")]


def test_needed_ports_nothing():
    assert needed_ports(None, None, None, []) == []


def test_nearest_free_alternates_higher_first_and_skips_taken():
    assert nearest_free(3000, {3000, 3001}) == [2999, 3002, 2998]


def test_nearest_free_count():
    assert nearest_free(8080, set(), count=5) == [8081, 8079, 8082, 8078, 8083]


def test_nearest_free_stays_within_bounds():
    assert nearest_free(1024, set()) == [1025, 1026, 1027]
    assert nearest_free(65535, {65534}) == [65533, 65532, 65531]
    assert nearest_free(2000, set(), low=1999, high=2001) == [2001, 1999]


def test_nearest_free_reaches_the_upper_bound():
    assert nearest_free(1024, {1025, 1026, 1027, 1028, 1029}, count=1, low=1024, high=1030) == [1030]


@pytest.mark.parametrize("holder, expected", [
    (OWN_CONTAINER, "container fldeploy-open-webui-1, compose project fldeploy"),
    ({"container": {"name": "redis"}}, "container redis"),
    (NGINX, "nginx (pid 4242, user www-data)"),
    ({"pid": 31}, "pid 31"),
    ({"addresses": ["0.0.0.0"]}, "a process fldeploy cannot see (run as root to name it)"),
])
def test_describe_holder(holder, expected):
    assert describe_holder(holder) == expected


@pytest.mark.parametrize("addresses, expected", [
    (["0.0.0.0"], "all interfaces"),
    (["127.0.0.1", "::"], "all interfaces"),
    (["127.0.0.1", "::1"], "loopback only"),
    (["127.0.0.1", "172.17.0.1"], "specific addresses"),
    ([], "specific addresses"),
])
def test_bind_scope(addresses, expected):
    assert bind_scope(addresses) == expected


def test_classify_free():
    st = classify(Need(3000, "open-webui"), [], "fldeploy", set())
    assert (st.state, st.fix, st.suggestions, st.holders) == ("free", "", [], [])


def test_classify_own_project_is_ours():
    st = classify(Need(3000, "open-webui"), [OWN_CONTAINER], "fldeploy", {3000})
    assert st.state == "ours"
    assert st.cause == "held by fldeploy's own stack (container fldeploy-open-webui-1, compose project fldeploy)"
    assert st.fix == ""


def test_classify_another_project_is_a_conflict():
    st = classify(Need(3000, "open-webui"), [OTHER_CONTAINER], "fldeploy", {3000})
    assert st.state == "conflict"
    assert "container grafana, compose project monitoring" in st.cause


def test_classify_foundry_role():
    holder = {"addresses": ["127.0.0.1", "172.17.0.1"], "pid": 5}
    st = classify(Need(5273, "foundry"), [holder], "fldeploy", {5273})
    assert st.state == "foundry"
    assert st.cause == "Foundry Local listens here (127.0.0.1, 172.17.0.1; specific addresses)"


def test_classify_conflict_names_flag_env_and_yaml_key():
    st = classify(Need(3000, "open-webui"), [NGINX], "fldeploy", {3000, 3001})
    assert st.state == "conflict"
    assert st.suggestions == [2999, 3002, 2998]
    assert st.cause == "port 3000 for Open WebUI is held by nginx (pid 4242, user www-data) on 0.0.0.0"
    assert "--openwebui-port 2999" in st.fix
    assert "FLDEPLOY_OPENWEBUI_PORT=2999" in st.fix
    assert "'openwebui_port: 2999' in fldeploy.yaml" in st.fix
    assert st.fix.endswith("or stop nginx (pid 4242, user www-data)")
    assert st.as_dict()["fix"] == st.fix and st.as_dict()["state"] == "conflict"


def test_classify_chainlit_conflict_uses_the_chainlit_setting():
    st = classify(Need(8080, "chainlit"), [{"pid": 9, "addresses": []}], "fldeploy", {8080})
    assert st.state == "conflict"
    assert "--chainlit-port 8081" in st.fix and "FLDEPLOY_CHAINLIT_PORT=8081" in st.fix
    assert "the Chainlit app is held by pid 9 on ?" in st.cause


def test_classify_requested_port_is_held_without_fix():
    st = classify(Need(9000, "requested"), [NGINX], "fldeploy", {9000})
    assert st.state == "held"
    assert st.fix == "" and st.suggestions == []
    assert "port 9000 for requested port is held by nginx" in st.cause
