"""The registry of checks is the one source: every check links to a real runbook section, doctor reports
exactly the registry's checks in its order, and the README's table is the registry's."""
from __future__ import annotations

import re

from fldeploy.checks.registry import CHECKS, markdown_table

from ..support.fixtures import ROOT


def test_each_check_links_to_an_existing_anchor():
    for check in CHECKS:
        path, anchor = check.runbook.split("#")
        text = (ROOT / path).read_text()
        assert f'<a id="{anchor}"></a>' in text, f"{path} has no section for {check.id}"


def test_doctor_reports_exactly_the_registry(fl):
    run = fl("doctor", "--json", "--foundry-url", "http://127.0.0.1:1")
    assert [c["id"] for c in run.json["data"]["checks"]] == [c.id for c in CHECKS]
    assert all(c["runbook"] == next(k.runbook for k in CHECKS if k.id == c["id"]) for c in run.json["data"]["checks"])


def test_readme_table_is_the_registry():
    assert markdown_table() in (ROOT / "README.md").read_text(), \
        "regenerate the README's check table: python -m fldeploy.checks.registry"


def test_index_lists_every_runbook_file():
    index = (ROOT / "deploy/runbooks/README.md").read_text()
    for path in (ROOT / "deploy/runbooks").glob("*.md"):
        if path.name != "README.md":
            assert re.search(rf"\]\({re.escape(path.name)}", index), f"{path.name} missing from the index"
