"""The settings file is parsed by the one YAML reader, and its result remembered only while nothing that
could change the answer changed: the file (size, inode, times), the reader's version, the cache's owner/mode."""
from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from fldeploy.adapters.parsed_cache import parsed


@pytest.fixture
def counted():
    calls = []

    def parse():
        calls.append(1)
        return {"openwebui_port": (3100, 1)}
    return parse, calls


def test_parsed_once_then_remembered_privately(tmp_path, counted):
    parse, calls = counted
    config, cache = tmp_path / "fldeploy.yaml", str(tmp_path / "cache" / "parsed.json")
    config.write_text("openwebui_port: 3100\n")
    assert parsed(config, parse, cache, "v1") == {"openwebui_port": (3100, 1)}
    assert parsed(config, parse, cache, "v1") == {"openwebui_port": (3100, 1)}
    assert len(calls) == 1
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600


def test_a_changed_file_or_reader_is_parsed_again(tmp_path, counted):
    parse, calls = counted
    config, cache = tmp_path / "fldeploy.yaml", str(tmp_path / "parsed.json")
    config.write_text("openwebui_port: 3100\n")
    parsed(config, parse, cache, "v1")
    config.write_text("openwebui_port: 31000\n")
    parsed(config, parse, cache, "v1")
    parsed(config, parse, cache, "v2")
    assert len(calls) == 3


def test_a_cache_others_may_write_is_not_trusted(tmp_path, counted):
    parse, calls = counted
    config, cache = tmp_path / "fldeploy.yaml", tmp_path / "parsed.json"
    config.write_text("openwebui_port: 3100\n")
    parsed(config, parse, str(cache), "v1")
    entry = json.loads(cache.read_text())
    entry["parsed"] = {"public": [True, 1]}  # what a planted entry would say
    cache.write_text(json.dumps(entry))
    os.chmod(cache, 0o666)
    assert parsed(config, parse, str(cache), "v1") == {"openwebui_port": (3100, 1)}
    assert len(calls) == 2


def test_values_json_cannot_hold_are_parsed_each_time(tmp_path):
    config, cache = tmp_path / "fldeploy.yaml", tmp_path / "parsed.json"
    config.write_text("x: 2026-11-26\n")
    calls = []

    def parse():
        calls.append(1)
        return {"x": (datetime.date(2026, 11, 26), 1)}
    parsed(config, parse, str(cache), "v1")
    parsed(config, parse, str(cache), "v1")
    assert len(calls) == 2 and not cache.exists()
