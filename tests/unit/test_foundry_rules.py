"""Finding Foundry Local: URL normalisation, CLI output parsing, choosing among candidates, model ids."""
from __future__ import annotations

import json

import pytest

from fldeploy.core.foundry_rules import (
    CLI_VERBS, Candidate, CliStatus, Probe, api_url, bind_hosts, choose, cli_candidates, connectable_url, dedupe,
    ipv4_loopback, normalise_base_url, parse_server_status_json, parse_service_status, resolve_model, url_host,
    url_port,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("raw, expected", [
    ("localhost:5273/v1/", "http://localhost:5273"),
    ("http://127.0.0.1:5273//v1", "http://127.0.0.1:5273"),
    ("http://h:5273/openai/status", "http://h:5273"),
    ("http://h:5273/v1/models", "http://h:5273"),
    ("http://h:5273/openai", "http://h:5273"),
    ("http://h:5273/V1/", "http://h:5273"),
    ("http://127.0.0.1:5273///", "http://127.0.0.1:5273"),
    ("http://127.0.0.1:5273", "http://127.0.0.1:5273"),
    ("  http://127.0.0.1:5273/v1  ", "http://127.0.0.1:5273"),
    ("https://foundry.example:443/v1", "https://foundry.example:443"),
    ("[::1]:5273", "http://[::1]:5273"),
    ("http://[::1]:5273/v1/", "http://[::1]:5273"),
    ("http://proxy:8000/foundry/v1", "http://proxy:8000/foundry"),
])
def test_normalise_base_url(raw, expected):
    assert normalise_base_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "http://", "http:///v1"])
def test_normalise_base_url_rejects_non_urls(raw):
    with pytest.raises(ValueError, match="not a URL"):
        normalise_base_url(raw)


@pytest.mark.parametrize("raw, expected", [
    ("localhost:5273", "http://localhost:5273/v1"),
    ("http://127.0.0.1:5273/v1/", "http://127.0.0.1:5273/v1"),
    ("https://h/openai/status", "https://h/v1"),
])
def test_api_url_appends_v1_once(raw, expected):
    assert api_url(raw) == expected


@pytest.mark.parametrize("host, expected", [
    ("0.0.0.0", "http://127.0.0.1:5273"),
    ("", "http://127.0.0.1:5273"),
    ("*", "http://127.0.0.1:5273"),
    ("::", "http://[::1]:5273"),
    ("::1", "http://[::1]:5273"),
    ("fe80::1", "http://[fe80::1]:5273"),
    ("127.0.0.1", "http://127.0.0.1:5273"),
    ("172.17.0.1", "http://172.17.0.1:5273"),
])
def test_connectable_url(host, expected):
    assert connectable_url(host, 5273) == expected


@pytest.mark.parametrize("url, port", [
    ("http://127.0.0.1:5273/v1", 5273),
    ("localhost:51211", 51211),
    ("http://h", 80),
    ("https://h/v1", 443),
    ("[::1]:5272", 5272),
])
def test_url_port(url, port):
    assert url_port(url) == port


@pytest.mark.parametrize("url, host", [("http://[::1]:5273", "::1"), ("localhost:5273/v1", "localhost")])
def test_url_host(url, host):
    assert url_host(url) == host


# --- foundry server status -o json (CLI 0.10+) ---------------------------------------------------
# Shapes as public consumers of the 0.10 CLI read them: {"running": true, "state": "ready", "webUrls": [...]}
# (see tests/support/fake_foundry_cli.py for the sources).

def test_server_status_json_running_lists_web_urls():
    urls = ["http://127.0.0.1:5273", "http://[::1]:5273"]
    text = json.dumps({"running": True, "state": "ready", "webUrls": urls})
    assert parse_server_status_json(text) == CliStatus("server", True, urls)


def test_server_status_json_tolerates_text_around_the_json():
    text = 'Checking server...\n{\n  "running": true,\n  "webUrls": ["http://127.0.0.1:51211"]\n}\nDone.\n'
    assert parse_server_status_json(text) == CliStatus("server", True, ["http://127.0.0.1:51211"])


def test_server_status_json_drops_empty_and_non_string_urls():
    status = parse_server_status_json('{"webUrls": ["", null, 5, "http://127.0.0.1:5273"]}')
    assert status == CliStatus("server", None, ["http://127.0.0.1:5273"])


@pytest.mark.parametrize("text", [
    '{"running": false, "state": "not_running", "webUrls": ["http://127.0.0.1:62911"]}',
    '{"state": "not_running", "webUrls": ["http://127.0.0.1:62911"]}',
    '{"running": false}',
])
def test_server_status_json_not_running_even_with_a_url(text):
    status = parse_server_status_json(text)
    assert status.generation == "server" and status.running is False


@pytest.mark.parametrize("text", [
    "Server is not running.",
    "{not json at all}",
    '{"status": "running"}',
    '{"webUrls": "http://127.0.0.1:5273"}',
    '["http://127.0.0.1:5273"]',
    "",
])
def test_server_status_json_none_when_not_that_json(text):
    assert parse_server_status_json(text) is None


# --- foundry service status (earlier, service-based CLI) ----------------------------------------------

def test_service_status_running_line_gives_the_url():
    text = "🟢 Model management service is running on http://127.0.0.1:5273/openai/status\n"
    assert parse_service_status(text) == CliStatus("service", True, ["http://127.0.0.1:5273/openai/status"])


def test_service_status_not_running_line():
    assert parse_service_status("🔴 Model management service is not running!\n") == CliStatus("service", False, [])


@pytest.mark.parametrize("text", ["", "Unknown command 'service'.", "Usage: foundry [command]"])
def test_service_status_unrelated_text_is_none(text):
    assert parse_service_status(text) is None


# --- what a CLI answer contributes ------------------------------------------------------------------

def test_running_cli_gives_one_candidate_per_url():
    candidates, notes = cli_candidates(CliStatus("server", True, ["http://127.0.0.1:5273", "http://[::1]:5273"]))
    assert [(c.url, c.source, c.detail) for c in candidates] == [
        ("http://127.0.0.1:5273", "foundry-cli", "foundry server status -o json"),
        ("http://[::1]:5273", "foundry-cli", "foundry server status -o json")]
    assert notes == []


def test_running_false_is_honoured_even_when_a_url_is_printed():
    candidates, notes = cli_candidates(CliStatus("server", False, ["http://127.0.0.1:62911"]))
    assert candidates == []
    assert notes == ["foundry server status -o json: not running (it printed http://127.0.0.1:62911: not used)"]


def test_stopped_service_and_silent_cli_give_notes():
    assert cli_candidates(CliStatus("service", False, [])) == ([], ["foundry service status: not running"])
    silent = cli_candidates(CliStatus("server", None, []))
    assert silent == ([], ["foundry server status -o json printed no service URL"])


@pytest.mark.parametrize("generation", ["server", "service"])
def test_each_generation_has_its_verbs(generation):
    verbs = CLI_VERBS[generation]
    assert set(verbs) == {"status", "start", "restart", "load", "logs"}
    assert verbs["start"] == (f"foundry {generation} start",)
    assert verbs["restart"] == (f"foundry {generation} restart",)
    assert all(command.startswith("foundry model ") for command in verbs["load"])


# --- localhost is asked as 127.0.0.1 ----------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("http://localhost:5273", "http://127.0.0.1:5273"),
    ("http://LocalHost:5273/v1", "http://127.0.0.1:5273/v1"),
    ("http://user:pw@localhost:5273", "http://user:pw@127.0.0.1:5273"),
    ("http://localhost", "http://127.0.0.1"),
    ("http://[::1]:5273", "http://[::1]:5273"),
    ("http://localhost.example:5273", "http://localhost.example:5273"),
])
def test_ipv4_loopback(url, expected):
    assert ipv4_loopback(url) == expected


def test_dedupe_merges_localhost_with_127_0_0_1():
    out = dedupe([Candidate("http://localhost:5273/openai/status", "foundry-cli", "foundry service status"),
                  Candidate("http://127.0.0.1:5273", "process", "foundry pid 7")])
    assert [(c.url, c.source) for c in out] == [("http://127.0.0.1:5273", "foundry-cli")]


# --- dedupe / choose --------------------------------------------------------------------------------

def test_dedupe_keeps_the_most_preferred_source_per_url():
    out = dedupe([
        Candidate("http://127.0.0.1:5273", "port-probe", "historical port 5273"),
        Candidate("127.0.0.1:5273/v1/", "process", "foundry pid 7"),
        Candidate("http://127.0.0.1:5273/openai/status", "foundry-cli", "foundry service status"),
        Candidate("http://127.0.0.1:51211", "port-probe", "historical port 51211"),
        Candidate("http://127.0.0.1:51211/v1", "setting", "env:FLDEPLOY_FOUNDRY_URL"),
    ])
    assert [(c.url, c.source, c.detail) for c in out] == [
        ("http://127.0.0.1:51211", "setting", "env:FLDEPLOY_FOUNDRY_URL"),
        ("http://127.0.0.1:5273", "foundry-cli", "foundry service status"),
    ]


def test_dedupe_orders_by_source_preference_and_unknown_sources_last():
    out = dedupe([Candidate("http://a:1", "mystery"), Candidate("http://b:2", "port-probe"),
                  Candidate("http://c:3", "fldeploy-embedded")])
    assert [c.source for c in out] == ["fldeploy-embedded", "port-probe", "mystery"]


def _ok(url, models=("phi-4-mini-instruct-generic-cpu:1",)):
    return Probe(url, "ok", list(models), elapsed_ms=12.0)


def test_choose_explicit_setting_that_answers_wins():
    cands = [Candidate("http://127.0.0.1:5273", "foundry-cli"), Candidate("http://127.0.0.1:6000/v1", "setting")]
    probes = {"http://127.0.0.1:5273": _ok("http://127.0.0.1:5273"), "http://127.0.0.1:6000": _ok("http://127.0.0.1:6000")}
    d = choose(cands, probes)
    assert d.chosen.url == "http://127.0.0.1:6000" and d.chosen.source == "setting"
    assert d.explicit_failed is None
    assert d.probe is probes["http://127.0.0.1:6000"]


def test_choose_port_moved_keeps_the_setting_alone_and_lists_the_answering_one():
    """The explicit setting is used alone: it fails, so nothing is chosen, and the answering one is offered."""
    cands = [Candidate("http://127.0.0.1:5273", "setting", "config:fldeploy.yaml:1"),
             Candidate("http://127.0.0.1:51211", "process", "foundry pid 9")]
    probes = {"http://127.0.0.1:5273": Probe("http://127.0.0.1:5273", "refused"),
              "http://127.0.0.1:51211": _ok("http://127.0.0.1:51211")}
    d = choose(cands, probes, ["a note"])
    assert d.chosen is None and d.probe is None
    assert d.explicit_failed.url == "http://127.0.0.1:5273"
    assert [(c.url, c.source) for c in d.alternatives] == [("http://127.0.0.1:51211", "process")]
    assert d.notes == ["a note"]
    shown = d.as_dict()
    assert shown["url"] is None and shown["alternatives"] == ["http://127.0.0.1:51211"]
    assert [c["answer"] for c in shown["candidates"]] == ["refused", "ok"]


def test_choose_nothing_answers():
    cands = [Candidate("http://127.0.0.1:5272", "port-probe"), Candidate("http://127.0.0.1:5273", "process")]
    d = choose(cands, {"http://127.0.0.1:5273": Probe("http://127.0.0.1:5273", "timeout")})
    assert d.chosen is None and d.probe is None and d.explicit_failed is None
    assert d.as_dict()["url"] is None and d.as_dict()["models"] == []
    assert [c["answer"] for c in d.as_dict()["candidates"]] == ["timeout", "not probed"]


def test_choose_prefers_cli_over_process_when_both_answer():
    cands = [Candidate("http://127.0.0.1:5273", "process"), Candidate("http://127.0.0.1:5272", "foundry-cli")]
    probes = {u: _ok(u) for u in ("http://127.0.0.1:5273", "http://127.0.0.1:5272")}
    assert choose(cands, probes).chosen.url == "http://127.0.0.1:5272"


# --- resolve_model -----------------------------------------------------------------------------------

@pytest.mark.parametrize("wanted, loaded, expected_id, words", [
    ("tiny-llama", ["tiny-llama-generic-cpu:1"], "tiny-llama-generic-cpu:1", "alias tiny-llama -> id"),
    ("Phi-4-mini", ["phi-4-mini-instruct-generic-cpu:1"], "phi-4-mini-instruct-generic-cpu:1", "alias"),
    ("qwen2.5-0.5b-instruct-generic-cpu:3", ["a:1", "qwen2.5-0.5b-instruct-generic-cpu:3"],
     "qwen2.5-0.5b-instruct-generic-cpu:3", "configured model"),
    (None, ["b:1", "a:1"], "b:1", "first loaded model b:1"),
])
def test_resolve_model_finds_a_loaded_id(wanted, loaded, expected_id, words):
    model_id, how = resolve_model(wanted, loaded)
    assert model_id == expected_id
    assert words in how


def test_resolve_model_alias_must_end_at_a_dash():
    assert resolve_model("tiny", ["tinyllama-generic-cpu:1"]) == (
        None, "model tiny is not loaded (loaded: tinyllama-generic-cpu:1)")


def test_resolve_model_nothing_loaded():
    assert resolve_model("phi-4-mini", []) == (None, "no model is loaded")


def test_resolve_model_not_loaded_lists_what_is():
    model_id, how = resolve_model("mistral-7b", ["tiny-llama-generic-cpu:1", "qwen2.5-0.5b-generic-cpu:1"])
    assert model_id is None
    assert how == "model mistral-7b is not loaded (loaded: tiny-llama-generic-cpu:1, qwen2.5-0.5b-generic-cpu:1)"


def test_resolve_model_prefers_the_exact_alias_over_a_longer_one():
    loaded = ["phi-4-mini-instruct-generic-cpu:1", "phi-4-generic-cpu:1"]
    assert resolve_model("phi-4", loaded)[0] == "phi-4-generic-cpu:1"


@pytest.mark.parametrize("mode, gateway, expected", [
    ("all", "172.17.0.1", ["0.0.0.0"]),
    ("docker", "172.17.0.1", ["127.0.0.1", "172.17.0.1"]),
    ("docker", None, ["127.0.0.1"]),
    ("loopback", "172.17.0.1", ["127.0.0.1"]),
])
def test_bind_hosts(mode, gateway, expected):
    assert bind_hosts(mode, gateway) == expected


def test_resolve_model_catalog_alias_with_instruct_and_device_suffix():
    loaded = ["Phi-4-mini-instruct-generic-cpu:5"]
    assert resolve_model("phi-4-mini", loaded) == ("Phi-4-mini-instruct-generic-cpu:5",
                                                   "alias phi-4-mini -> id Phi-4-mini-instruct-generic-cpu:5")
    assert resolve_model("phi-4", loaded)[0] is None, "phi-4 is another model than phi-4-mini"
