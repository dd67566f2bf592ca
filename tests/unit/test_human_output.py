"""What `fldeploy doctor` and `fldeploy ports` print for humans."""
from __future__ import annotations

import pytest

from fldeploy.checks.registry import as_dict
from fldeploy.core import verdicts as v
from fldeploy.core.ports import Need, PortStatus, classify
from fldeploy.output.human import render
from fldeploy.result import Result

pytestmark = pytest.mark.unit


def doctor_result(checks: list[v.Verdict], summary: dict) -> Result:
    return Result("doctor", {"checks": [as_dict(c) for c in checks], "summary": summary})


CHECKS = [
    v.Verdict("foundry.endpoint", "ok", "http://127.0.0.1:5273 (found via foundry-cli)"),
    v.Verdict("foundry.bind", "fail", "Foundry listens only on 127.0.0.1:5273", "serve the bridge too"),
    v.Verdict("foundry.models", "warn", "no model loaded", "load one"),
    v.Verdict("foundry.chat", "skip", "run with --deep"),
    v.Verdict("docker.engine", "fail", "cannot reach the Docker engine"),
]


def test_doctor_one_line_per_check_with_id_and_cause():
    out = render(doctor_result(CHECKS, {"ok": 1, "warn": 1, "fail": 2, "skip": 1}))
    lines = out.splitlines()
    for check in CHECKS:
        line = next(l for l in lines if check.id in l)
        assert line.endswith(check.cause)
    assert lines[0].startswith("ok  ") and "FAIL  foundry.bind" in out and "skip  foundry.chat" in out


def test_doctor_fix_and_runbook_only_for_fail_and_warn():
    out = render(doctor_result(CHECKS, {"ok": 1, "warn": 1, "fail": 2, "skip": 1}))
    assert "fix: serve the bridge too" in out and "fix: load one" in out
    assert "see: deploy/runbooks/foundry.md#foundry.bind" in out
    assert "see: deploy/runbooks/foundry.md#foundry.models" in out
    assert "see: deploy/runbooks/docker.md#docker.engine" in out
    assert "#foundry.endpoint" not in out and "#foundry.chat" not in out
    assert out.count("fix:") == 2 and out.count("see:") == 3


def test_doctor_fix_and_see_lines_are_indented_under_the_check():
    lines = render(doctor_result(CHECKS, {"ok": 1, "warn": 1, "fail": 2, "skip": 1})).splitlines()
    i = next(n for n, l in enumerate(lines) if "foundry.bind" in l and l.startswith("FAIL"))
    assert lines[i + 1].strip() == "fix: serve the bridge too"
    assert lines[i + 2].strip() == "see: deploy/runbooks/foundry.md#foundry.bind"
    assert lines[i + 1].startswith(" ")


def test_doctor_summary_line_is_last():
    out = render(doctor_result(CHECKS, {"ok": 1, "warn": 1, "fail": 2, "skip": 1}))
    assert out.splitlines()[-1] == "1 ok, 1 warn, 2 fail, 1 skipped"


def test_doctor_all_ok_has_no_fix_lines():
    checks = [v.Verdict("docker.engine", "ok", "Docker 27.3.1"), v.Verdict("ports", "ok", "3000 free")]
    out = render(doctor_result(checks, {"ok": 2, "warn": 0, "fail": 0, "skip": 0}))
    assert "fix:" not in out and "see:" not in out
    assert out.splitlines()[-1] == "2 ok, 0 warn, 0 fail, 0 skipped"


def test_an_error_result_renders_no_data_lines():
    assert render(Result("doctor", None)) == ""


NGINX = {"addresses": ["0.0.0.0"], "pid": 4242,
         "process": {"pid": 4242, "name": "nginx", "user": "root", "cmdline": "nginx: master process"}}
OWN = {"addresses": ["0.0.0.0"], "pid": 88, "process": {"pid": 88, "name": "docker-proxy", "user": "root"},
       "container": {"name": "fldeploy-chainlit-1", "project": "fldeploy", "service": "chainlit"}}


def ports_result(statuses: list[PortStatus], notes=()) -> Result:
    return Result("ports", {"ports": [s.as_dict() for s in statuses], "notes": list(notes)})


def test_ports_conflict_shows_holder_pid_suggestions_and_fix():
    conflict = classify(Need(3000, "open-webui"), [NGINX], "fldeploy", {3000})
    out = render(ports_result([conflict]))
    first = out.splitlines()[0]
    assert first.split() == ["3000", "open-webui", "CONFLICT"]
    assert "pid 4242 nginx (user root) on 0.0.0.0: nginx: master process" in out
    assert "free nearby: 3001, 2999, 3002" in out
    assert "fix: use a free port: --openwebui-port 3001" in out


def test_ports_other_states_and_notes():
    out = render(ports_result([
        PortStatus(3000, "open-webui", "free"),
        classify(Need(8080, "chainlit"), [OWN], "fldeploy", {8080}),
        classify(Need(9000, "requested"), [{"addresses": ["127.0.0.1"]}], "fldeploy", {9000}),
    ], ["run as root to see every owner"]))
    lines = out.splitlines()
    assert lines[0].split() == ["3000", "open-webui", "free"]
    assert "ours" in lines[1].split()
    assert "container fldeploy-chainlit-1 (compose project fldeploy, service chainlit) via docker-proxy" in out
    assert "an unseen process on 127.0.0.1 (run as root to name it)" in out
    assert "CONFLICT" not in out and "fix:" not in out
    assert lines[-1] == "note: run as root to see every owner"
