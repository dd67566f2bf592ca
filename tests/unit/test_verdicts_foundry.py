"""Doctor verdicts about Foundry Local: what the user is told, and the fix, for each situation."""
from __future__ import annotations

import pytest

from fldeploy.core import verdicts as v
from fldeploy.core.foundry_rules import Candidate, Discovery, Probe

pytestmark = pytest.mark.unit

URL = "http://127.0.0.1:5273"
MINI = "phi-4-mini-instruct-generic-cpu:1"
LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "172.17.0.1", "192.168.1.20"}


def answering(url=URL, source="foundry-cli", models=(MINI,), ms=41.6) -> Discovery:
    c = Candidate(url, source, "foundry server status -o json")
    p = Probe(url, "ok", list(models), elapsed_ms=ms)
    return Discovery(c, p, [c], {url: p})


def failing(outcome: str | None, detail: str = "", source: str = "process") -> Discovery:
    c = Candidate(URL, source, "foundry pid 12")
    probes = {URL: Probe(URL, outcome, detail=detail)} if outcome else {}
    return Discovery(None, None, [c], probes)


def nothing(notes=()) -> Discovery:
    return Discovery(None, None, [], {}, list(notes))


def moved(outcome="refused") -> Discovery:
    bad = Candidate(URL, "setting", "config:fldeploy.yaml:2")
    good = Candidate("http://127.0.0.1:51211", "process", "foundry pid 9")
    probes = {URL: Probe(URL, outcome), good.url: Probe(good.url, "ok", [MINI])}
    return Discovery(None, None, [bad, good], probes, [], bad, [good])


# --- foundry.endpoint --------------------------------------------------------------------------------

def test_endpoint_found_via_source():
    out = v.foundry_endpoint(answering())
    assert (out.status, out.cause) == ("ok", f"{URL} (found via foundry-cli)")
    assert out.data["url"] == URL


def test_endpoint_found_via_setting_names_where_it_was_set():
    out = v.foundry_endpoint(answering(source="setting"))
    assert out.status == "ok" and "found via setting foundry server status -o json" in out.cause


def test_endpoint_nothing_running_gives_start_hint_and_notes():
    out = v.foundry_endpoint(nothing(["foundry service status: the service is not running"]))
    assert out.status == "fail"
    assert out.cause.startswith("Foundry Local is not running")
    assert "5272/5273/51211" in out.cause and "(foundry service status: the service is not running)" in out.cause
    assert "fldeploy foundry start --model" in out.fix


def test_endpoint_port_moved_tells_the_new_url():
    out = v.foundry_endpoint(moved("refused"))
    assert out.status == "fail"
    assert f"configured {URL} (config:fldeploy.yaml:2) does not answer (refused)" in out.cause
    assert "answers at http://127.0.0.1:51211 (found via process): its port moved" in out.cause
    assert "--foundry-url http://127.0.0.1:51211" in out.fix
    assert "FLDEPLOY_FOUNDRY_URL=http://127.0.0.1:51211" in out.fix


def test_endpoint_setting_hung_while_another_answers_does_not_claim_a_move():
    out = v.foundry_endpoint(moved("timeout"))
    assert out.status == "fail" and "(timeout)" in out.cause and "port moved" not in out.cause


@pytest.mark.parametrize("outcome, status", [("refused", "fail"), ("timeout", "ok"), ("http_error", "ok")])
def test_endpoint_setting_alone_that_does_not_answer(outcome, status):
    bad = Candidate(URL, "setting", "env:FLDEPLOY_FOUNDRY_URL")
    d = Discovery(None, None, [bad], {URL: Probe(URL, outcome)}, [], bad, [])
    out = v.foundry_endpoint(d)
    assert out.status == status
    assert "see foundry.api" in out.cause and "env:FLDEPLOY_FOUNDRY_URL" in out.cause
    assert ("foundry start" in out.fix) == (status == "fail")


# --- foundry.api -------------------------------------------------------------------------------------

def test_api_ok_reports_latency():
    out = v.foundry_api(answering(ms=41.6))
    assert (out.status, out.cause, out.data) == ("ok", "GET /v1/models answered in 42 ms", {"elapsed_ms": 41.6})


def test_api_skips_without_an_endpoint():
    assert v.foundry_api(nothing()).status == "skip"


@pytest.mark.parametrize("outcome, detail, in_cause, in_fix", [
    ("timeout", "", "accepts connections but /v1/models did not answer in time (hung)", "foundry service restart"),
    (None, "", "did not answer in time (hung)", "fldeploy foundry stop"),
    ("refused", "", "refuses connections: nothing listens there", "fldeploy foundry start"),
    ("http_error", "HTTP 500", f"{URL}/v1/models answered HTTP 500", "fldeploy foundry status"),
    ("not_openai", "no 'data' list", "is not an OpenAI-compatible Foundry endpoint: no 'data' list",
     "point --foundry-url at Foundry Local's base URL"),
    ("error", "SSL handshake failed", f"{URL}: SSL handshake failed", "fldeploy foundry start"),
])
def test_api_failures_explain_the_outcome(outcome, detail, in_cause, in_fix):
    out = v.foundry_api(failing(outcome, detail))
    assert out.status == "fail"
    assert in_cause in out.cause and in_fix in out.fix
    assert out.data["outcome"] == (outcome or "timeout")


def test_api_reports_the_failed_setting_when_the_port_moved():
    out = v.foundry_api(moved("refused"))
    assert out.status == "fail" and out.cause == f"{URL} refuses connections: nothing listens there"


# --- foundry.models ----------------------------------------------------------------------------------

def test_models_skip_when_foundry_does_not_answer():
    assert v.foundry_models(failing("refused"), None).status == "skip"


def test_models_none_listed():
    out = v.foundry_models(answering(models=()), None)
    assert out.status == "warn" and "no model loaded" in out.cause
    assert "foundry model run phi-4-mini" in out.fix


def test_models_cached_but_none_loaded():
    out = v.foundry_models(answering(models=(MINI,)), None, loaded=[])
    assert out.status == "warn"
    assert f"Foundry lists {MINI} but has none loaded" in out.cause and "'Model not loaded'" in out.cause
    assert f"GET {URL}/models/load/<alias>" in out.fix


def test_models_configured_model_not_loaded():
    out = v.foundry_models(answering(models=(MINI,)), "qwen2.5-7b")
    assert out.status == "warn"
    assert "model qwen2.5-7b is not loaded" in out.cause
    assert out.fix == f"set --model to one of: {MINI}"


def test_models_ok_resolves_alias_to_id():
    out = v.foundry_models(answering(models=(MINI, "tiny-llama-generic-cpu:1")), "tiny-llama")
    assert out.status == "ok"
    assert out.data["model_id"] == "tiny-llama-generic-cpu:1"
    assert out.cause.startswith("2 loaded:") and "alias tiny-llama -> id tiny-llama-generic-cpu:1" in out.cause


def test_models_prefers_the_loaded_list_over_cached_listing():
    out = v.foundry_models(answering(models=(MINI, "tiny-llama-generic-cpu:1")), None,
                           loaded=["tiny-llama-generic-cpu:1"])
    assert out.status == "ok" and out.data["model_id"] == "tiny-llama-generic-cpu:1"
    assert out.cause.startswith("1 loaded: tiny-llama-generic-cpu:1")


# --- foundry.bind ------------------------------------------------------------------------------------

NATIVE = {"reachable": True, "desktop": False}
DESKTOP = {"reachable": True, "desktop": True}


def bind(addresses, engine=NATIVE, gateway="172.17.0.1", on_linux=True, d=None):
    return v.foundry_bind(d or answering(), addresses, engine, gateway, LOCAL, on_linux)


def test_bind_loopback_only_on_native_linux_fails_with_bridge_and_socat_fix():
    out = bind(["127.0.0.1"])
    assert out.status == "fail"
    assert "containers get 'connection refused' from host.docker.internal:5273" in out.cause
    assert "listens on 127.0.0.1 and 172.17.0.1" in out.fix
    assert "socat TCP-LISTEN:5273,bind=172.17.0.1,fork,reuseaddr TCP:127.0.0.1:5273" in out.fix


def test_bind_loopback_fix_defaults_to_the_usual_gateway_when_unknown():
    out = bind(["127.0.0.1", "::1"], engine=None, gateway=None, on_linux=True)
    assert out.status == "fail" and "bind=172.17.0.1" in out.fix


@pytest.mark.parametrize("engine, on_linux", [(DESKTOP, True), (None, False), ({"reachable": False}, False)])
def test_bind_loopback_on_docker_desktop_is_fine(engine, on_linux):
    out = bind(["127.0.0.1"], engine=engine, on_linux=on_linux)
    assert out.status == "ok" and "Docker Desktop forwards host.docker.internal" in out.cause


@pytest.mark.parametrize("addresses", [["0.0.0.0"], ["::"], ["127.0.0.1", "::"]])
def test_bind_wildcard_ok_but_warns_of_exposure(addresses):
    out = bind(addresses)
    assert out.status == "ok" and "other hosts on your network" in out.cause


def test_bind_gateway_address_ok():
    out = bind(["127.0.0.1", "172.17.0.1"])
    assert out.status == "ok" and "through the bridge gateway 172.17.0.1" in out.cause


def test_bind_other_address_fails():
    out = bind(["192.168.1.20"])
    assert out.status == "fail"
    assert "host.docker.internal resolves to the bridge gateway 172.17.0.1" in out.cause
    assert "make it listen on 172.17.0.1 too" in out.fix


def test_bind_remote_host_skips():
    out = bind(["10.0.0.5"], d=answering(url="http://10.0.0.5:5273"))
    assert out.status == "skip" and "another host (10.0.0.5)" in out.cause


def test_bind_no_addresses_warns():
    out = bind([])
    assert out.status == "warn" and "port 5273" in out.cause and "root" in out.fix


def test_bind_skips_when_nothing_answers():
    assert bind(["127.0.0.1"], d=failing("refused")).status == "skip"


# --- foundry.chat ------------------------------------------------------------------------------------

def test_chat_skips_without_model_or_without_deep():
    assert v.foundry_chat({"ok": True}, None).status == "skip"
    out = v.foundry_chat(None, MINI)
    assert out.status == "skip" and "--deep" in out.cause


def test_chat_ok():
    out = v.foundry_chat({"ok": True, "elapsed_ms": 812.4, "text": "Hi"}, MINI)
    assert (out.status, out.cause) == ("ok", f"{MINI} answered in 812 ms: 'Hi'")


def test_chat_failure_truncates_the_error():
    out = v.foundry_chat({"ok": False, "status": 500, "error": "x" * 500}, MINI)
    assert out.status == "fail"
    assert out.cause == f"chat with {MINI} failed (500): " + "x" * 160
    assert out.data == {"model_id": MINI, "status": 500}
