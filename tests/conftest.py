"""Test tiers by folder: unit (pure, seconds), integration (real servers, Foundry runtime, dockerd), e2e."""
from __future__ import annotations

import pathlib

import pytest

pytest_plugins = ["tests.support.user_guard", "tests.support.fixtures", "tests.support.stack", "tests.support.browser"]

TIERS = ("unit", "integration", "e2e", "faults")


def pytest_collection_modifyitems(items):
    for item in items:
        parts = pathlib.Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts and not item.get_closest_marker(tier):
                item.add_marker(getattr(pytest.mark, "integration" if tier == "faults" else tier))
