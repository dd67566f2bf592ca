"""Credentials in URLs are masked wherever a text shows them, quotes in the password included."""
from __future__ import annotations

import pytest

from fldeploy.core.redact import mask_text


@pytest.mark.parametrize("shown, masked", [
    ("Foundry at http://u:se'cret@h:5273/v1 refused", "Foundry at http://u:********@h:5273/v1 refused"),
    ('{"url": "http://u:p\\"ss@h"}', '{"url": "http://u:********@h"}'),
    ("OPENAI_API_BASE_URL: http://u:p'ss@h:1/v1", "OPENAI_API_BASE_URL: http://u:********@h:1/v1"),
    ("http://token@h/v1", "http://********@h/v1"),
    ("https://h/v1?api_key=abc&x=1", "https://h/v1?api_key=********&x=1"),
    ("see https://example.com/a@b", "see https://example.com/a@b"),
])
def test_credentials_never_survive(shown, masked):
    assert mask_text(shown) == masked
