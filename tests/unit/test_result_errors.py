"""The versioned JSON envelope every verb prints, and the documented exit codes."""
from __future__ import annotations

import json

import pytest

from fldeploy.errors import ConfigError, ExitCode, FldeployError
from fldeploy.result import RESULT_VERSION, Result

pytestmark = pytest.mark.unit

ENVELOPE_KEYS = {"fldeploy_result_version", "command", "status", "exit_code", "data", "errors"}


@pytest.mark.parametrize("name, code", [
    ("OK", 0), ("CHECK_FAILED", 1), ("USAGE", 2), ("CONFIG", 3), ("PORT_CONFLICT", 4),
    ("UNREACHABLE", 5), ("TIMEOUT", 6), ("INTERRUPTED", 130),
])
def test_documented_exit_codes(name, code):
    assert int(ExitCode[name]) == code


def test_no_undocumented_exit_codes():
    assert sorted(int(c) for c in ExitCode) == [0, 1, 2, 3, 4, 5, 6, 130]


def test_ok_envelope_shape_and_json_round_trip():
    env = Result("ports", {"ports": [], "notes": []}).envelope()
    assert set(env) == ENVELOPE_KEYS
    assert env["fldeploy_result_version"] == RESULT_VERSION == 1
    assert (env["command"], env["status"], env["exit_code"], env["errors"]) == ("ports", "ok", 0, [])
    assert type(env["exit_code"]) is int
    assert json.loads(json.dumps(env)) == env


def test_failed_check_envelope_keeps_errors_and_code():
    errors = [{"code": "foundry.api", "message": "hung", "hint": "restart Foundry"}]
    env = Result("doctor", {"checks": []}, "fail", ExitCode.CHECK_FAILED, errors).envelope()
    assert (env["status"], env["exit_code"], env["errors"]) == ("fail", 1, errors)


def test_from_error_carries_message_hint_and_exit_code():
    err = FldeployError("port 3000 is held by nginx", "use --openwebui-port 3001", ExitCode.PORT_CONFLICT,
                        code="ports.conflict")
    env = Result.from_error("up", err, data={"port": 3000}).envelope()
    assert env["status"] == "error" and env["exit_code"] == 4 and env["data"] == {"port": 3000}
    assert env["errors"] == [{"code": "ports.conflict", "message": "port 3000 is held by nginx",
                              "hint": "use --openwebui-port 3001"}]


def test_fldeploy_error_defaults():
    err = FldeployError("boom")
    assert (err.exit_code, err.code, err.fix, str(err)) == (ExitCode.CHECK_FAILED, "error", "", "boom")
    assert isinstance(FldeployError("x", exit_code=6).exit_code, ExitCode)


def test_config_error_exits_3():
    err = ConfigError("fldeploy.yaml:2: unknown setting 'x'", "remove it")
    assert isinstance(err, FldeployError)
    assert err.exit_code == ExitCode.CONFIG and int(err.exit_code) == 3
    assert err.as_dict() == {"code": "config", "message": "fldeploy.yaml:2: unknown setting 'x'", "hint": "remove it"}
    assert Result.from_error("config", err).envelope()["exit_code"] == 3


def test_unknown_exit_code_is_rejected():
    with pytest.raises(ValueError):
        FldeployError("x", exit_code=42)
