"""Every spelling the system resolver turns into a loopback address goes direct, never to a proxy."""
from __future__ import annotations

import pytest

from fldeploy.adapters import http


@pytest.mark.parametrize("url", ["http://127.1:5273/v1", "http://0x7f.1:5273/", "http://0177.0.0.1:5273/",
                                 "http://2130706433:5273/", "http://[::ffff:127.0.0.1]:5273/", "http://LOCALHOST.:1/"])
def test_loopback_spellings_are_local(url):
    assert http.is_local(url)


@pytest.mark.parametrize("url", ["http://example.invalid/", "http://cafe/", "http://10.0.0.5:1/", "http://0x7f.evil/"])
def test_other_hosts_are_not(url):
    assert not http.is_local(url)
