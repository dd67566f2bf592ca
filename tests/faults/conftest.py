"""Helpers of the fault matrix: run doctor and pick one check."""
from __future__ import annotations

from ..support.fixtures import run_fldeploy


def check(env: dict, check_id: str, *args: str, cwd=None) -> dict:
    run = run_fldeploy("doctor", "--json", *args, env=env, cwd=cwd, timeout=180)
    return next(c for c in run.json["data"]["checks"] if c["id"] == check_id)


def assert_diagnosed(found: dict, status: str, *cause_parts: str) -> None:
    assert found["status"] == status, found
    for part in cause_parts:
        assert part in found["cause"], f"{part!r} not in {found['cause']!r}"
    assert found["fix"], "a diagnosis comes with its fix"
    assert found["runbook"].startswith("deploy/runbooks/")
