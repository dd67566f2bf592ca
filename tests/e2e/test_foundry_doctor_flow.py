"""The user's path of issue #3: start the embedded Foundry, doctor is all green; stop it, doctor says so."""
from __future__ import annotations

import pytest

from fldeploy.commands.doctor_stack import STACK_IDS
from fldeploy.foundry import demo

from ..support.fixtures import isolated_env, run_fldeploy
from ..support.servers import free_port

pytestmark = pytest.mark.sole_foundry


def test_start_doctor_stop_doctor(tmp_path, tiny_model, catalog_url, docker_engine):
    env = isolated_env(tmp_path, FLDEPLOY_OPENWEBUI_PORT=str(free_port()), FLDEPLOY_CHAINLIT_PORT=str(free_port()))
    demo.install_into_cache(tiny_model, env["FLDEPLOY_MODEL_CACHE_DIR"])
    start = run_fldeploy("foundry", "start", "--model", "tiny-llama", "--catalog-url", catalog_url, env=env)
    assert start.code == 0, start.err
    assert "tiny-llama-generic-cpu:1" in start.out and "listens:  127.0.0.1, 172." in start.out

    try:
        doctor = run_fldeploy("doctor", "--deep", env=env)
        assert doctor.code == 0, doctor.out
        assert f"8 ok, 0 warn, 0 fail, {len(STACK_IDS)} skipped" in doctor.out, "the stack checks skip: no stack yet"
        assert "tiny-llama-generic-cpu:1 answered" in doctor.out
        for check in ("foundry.endpoint", "foundry.api", "foundry.models", "foundry.bind", "foundry.chat",
                      "docker.engine", "docker.compose", "ports"):
            assert f"ok    {check}" in doctor.out
    finally:
        stop = run_fldeploy("foundry", "stop", env=env, timeout=60)
    assert stop.code == 0

    after = run_fldeploy("doctor", "--json", env=env)
    assert after.code == 1
    endpoint = next(c for c in after.json["data"]["checks"] if c["id"] == "foundry.endpoint")
    assert endpoint["status"] == "fail" and "Foundry Local is not running" in endpoint["cause"]
    assert "fldeploy foundry start --model" in endpoint["fix"]
    assert endpoint["runbook"] == "deploy/runbooks/foundry.md#foundry.endpoint"
