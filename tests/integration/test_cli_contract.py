"""The CLI contract scripts rely on: the versioned JSON envelope on every verb, exit codes, config errors."""
from __future__ import annotations

import jsonschema
import pytest

from ..support.servers import free_port

ENVELOPE = {
    "type": "object",
    "required": ["fldeploy_result_version", "command", "status", "exit_code", "data", "errors"],
    "additionalProperties": False,
    "properties": {
        "fldeploy_result_version": {"const": 1},
        "command": {"type": "string", "minLength": 1},
        "status": {"enum": ["ok", "warn", "fail", "error"]},
        "exit_code": {"enum": [0, 1, 2, 3, 4, 5, 6, 130]},
        "data": {},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["code", "message", "hint"], "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}}}},
    },
}

VERBS = [
    (("config", "--json"), "config", 0),
    (("ports", "--json"), "ports", 0),
    (("doctor", "--json", "--foundry-url", "http://127.0.0.1:1"), "doctor", 1),
    (("foundry", "status", "--json"), "foundry status", 1),
    (("foundry", "stop", "--json"), "foundry stop", 0),
    (("doctor", "--json", "--no-such-flag"), "doctor", 2),
    (("foundry", "start", "--json"), "foundry start", 2),
]


@pytest.mark.parametrize("args,command,code", VERBS, ids=[" ".join(v[0]) for v in VERBS])
def test_every_verb_prints_one_valid_envelope(fl, args, command, code):
    run = fl(*args, FLDEPLOY_OPENWEBUI_PORT=str(free_port()), FLDEPLOY_CHAINLIT_PORT=str(free_port()))
    envelope = run.json
    jsonschema.validate(envelope, ENVELOPE)
    assert envelope["command"] == command
    assert run.code == code == envelope["exit_code"]
    assert (envelope["status"] in ("ok", "warn")) == (code == 0)
    if code:
        assert envelope["errors"], "a failing verb says why"


def test_secret_is_masked_and_sources_are_named(fl, tmp_path):
    (tmp_path / "fldeploy.yaml").write_text("openwebui_port: 3100\nchainlit_port: 8100\n")
    # the file's values show only where the test environment names no port and no project of its own
    unset = {"FLDEPLOY_OPENWEBUI_PORT": "", "FLDEPLOY_PROJECT": ""}
    run = fl("config", "--json", "--", FLDEPLOY_API_KEY="sk-very-secret-value", FLDEPLOY_CHAINLIT_PORT="8200",
             **unset)
    rows = {r["name"]: r for r in run.json["data"]["settings"]}
    assert "sk-very-secret-value" not in run.out
    assert rows["api_key"]["value"] == "********" and rows["api_key"]["source"] == "env:FLDEPLOY_API_KEY"
    assert rows["openwebui_port"]["value"] == 3100
    assert rows["openwebui_port"]["source"] == f"config:{tmp_path / 'fldeploy.yaml'}:1"
    assert rows["chainlit_port"]["value"] == 8200 and rows["chainlit_port"]["source"] == "env:FLDEPLOY_CHAINLIT_PORT"
    assert rows["project"]["source"] == "default"
    assert rows["stack_dir"]["value"].endswith("fldeploy/stack"), "lazy defaults are shown as paths"
    human = fl("config", FLDEPLOY_API_KEY="sk-very-secret-value").out
    assert "sk-very-secret-value" not in human and "********" in human


def test_flag_beats_env_beats_config(fl, tmp_path):
    (tmp_path / "fldeploy.yaml").write_text("foundry_url: http://127.0.0.1:1\n")
    run = fl("doctor", "--json", "--foundry-url", "http://127.0.0.1:2", FLDEPLOY_FOUNDRY_URL="http://127.0.0.1:3")
    assert run.json["data"]["foundry"]["candidates"][0]["url"] == "http://127.0.0.1:2"
    run = fl("doctor", "--json", FLDEPLOY_FOUNDRY_URL="http://127.0.0.1:3")
    assert run.json["data"]["foundry"]["candidates"][0]["url"] == "http://127.0.0.1:3"


@pytest.mark.parametrize("text,expect", [
    ("openwebui_port: 3000\nchainlit_prot: 8080\n", ":2: unknown setting 'chainlit_prot'"),
    ("openwebui_port: [3000\n", ":2: malformed YAML"),
    ("openwebui_port: three\n", ":1: openwebui_port must be int"),
    ("foundry_bind: everywhere\n", ":1: foundry_bind must be one of docker, loopback, all"),
])
def test_bad_config_exits_3_naming_file_key_and_line_and_writes_nothing(fl, tmp_path, text, expect):
    config = tmp_path / "fldeploy.yaml"
    config.write_text(text)
    for args in (("config",), ("foundry", "start", "--demo")):
        run = fl(*args, FLDEPLOY_OPENWEBUI_PORT="")  # the file's value, not the test's own port
        assert run.code == 3, run.err
        assert f"{config}{expect}" in run.err, run.err
        assert "Traceback" not in run.err
    assert not (tmp_path / "state").exists(), "a bad config must not start or write anything"
    envelope = fl("config", "--json", FLDEPLOY_OPENWEBUI_PORT="").json
    jsonschema.validate(envelope, ENVELOPE)
    assert envelope["exit_code"] == 3 and expect in envelope["errors"][0]["message"]


def test_help_teaches_with_examples_and_exit_codes(fl):
    top = fl("--help").out
    assert "Exit codes: 0 ok, 1 check failed" in top and "fldeploy doctor" in top
    for verb, example in (("doctor", "fldeploy doctor --deep"), ("ports", "fldeploy ports 5000"),
                          ("foundry start", "fldeploy foundry start --model phi-4-mini")):
        out = fl(*verb.split(), "--help").out
        assert example in out, f"{verb} --help shows an example"


def test_doctor_says_why_it_could_not_run(fl):
    run = fl("doctor", FLDEPLOY_OPENWEBUI_PORT="three thousand")
    assert run.code == 3
    assert "error: FLDEPLOY_OPENWEBUI_PORT: openwebui_port must be" in run.err and "fix:" in run.err
