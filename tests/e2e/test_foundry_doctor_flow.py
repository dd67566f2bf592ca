"""The user's path of issue #3: start the embedded Foundry, doctor is all green; stop it, doctor says so.

"Foundry is not running" can only be true inside a network namespace of the test's own: a user's Foundry
on this host (or the session's) must neither be seen nor touched."""
from __future__ import annotations

import pytest

from fldeploy.checks.registry import STACK_IDS

from ..support.fixtures import isolated_env

pytestmark = pytest.mark.sole_foundry


def test_start_doctor_stop_doctor(tmp_path, own_netns, docker_engine, foundry):
    env = isolated_env(tmp_path)
    # --demo: the offline model with its catalog stand-in inside the runtime, so it works inside the namespace
    start = own_netns.fl("foundry", "start", "--demo", env=env, timeout=180)
    assert start.code == 0, start.err
    assert "tiny-llama-generic-cpu:1" in start.out and f"listens:  127.0.0.1, {own_netns.gateway}" in start.out

    try:
        doctor = own_netns.fl("doctor", "--deep", env=env)
        assert doctor.code == 0, doctor.out
        assert f"8 ok, 0 warn, 0 fail, {len(STACK_IDS)} skipped" in doctor.out, "the stack checks skip: no stack yet"
        assert "tiny-llama-generic-cpu:1 answered" in doctor.out
        assert "found via fldeploy-embedded" in doctor.out, "its own Foundry, not the session's or a user's"
        for check in ("foundry.endpoint", "foundry.api", "foundry.models", "foundry.bind", "foundry.chat",
                      "docker.engine", "docker.compose", "ports"):
            assert f"ok    {check}" in doctor.out
    finally:
        stop = own_netns.fl("foundry", "stop", env=env, timeout=60)
    assert stop.code == 0

    after = own_netns.fl("doctor", "--json", env=env)
    assert after.code == 1
    endpoint = next(c for c in after.json["data"]["checks"] if c["id"] == "foundry.endpoint")
    assert endpoint["status"] == "fail" and "Foundry Local is not running" in endpoint["cause"]
    assert "fldeploy foundry start --model" in endpoint["fix"]
    assert endpoint["runbook"] == "deploy/runbooks/foundry.md#foundry.endpoint"
