"""The lean `ports` path hands anything it does not accept to typer, which reports it as a usage error:
ports outside 1-65535 included (before, `fldeploy ports 70000` said the port was free)."""
from __future__ import annotations

import pytest

from fldeploy.entry import parse_ports_args

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("port", ["0", "65536", "70000", "99999999999999999999", "٣٠٠٠", "+80", "-1"])
def test_out_of_range_or_unusual_ports_fall_back_to_typer(port):
    assert parse_ports_args([port]) is None


def test_valid_ports_take_the_lean_path():
    assert parse_ports_args(["1", "65535", "--json"]) == ({}, [1, 65535], True)
