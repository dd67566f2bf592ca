"""Test tiers by folder: unit (pure, seconds), integration (real servers, Foundry runtime, dockerd), e2e."""
from __future__ import annotations

import pathlib

import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.stack", "tests.support.browser"]

TIERS = ("unit", "integration", "e2e", "faults")


def pytest_collection_modifyitems(items):
    # Tests that need the only Foundry on the host run before any session Foundry is started.
    items.sort(key=lambda item: 0 if item.get_closest_marker("sole_foundry") else 1)
    for item in items:
        parts = pathlib.Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts and not item.get_closest_marker(tier):
                item.add_marker(getattr(pytest.mark, "integration" if tier == "faults" else tier))
