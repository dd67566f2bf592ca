"""Every check's runbook link points at a real section of a runbook in the repository."""
from __future__ import annotations

import re

from fldeploy.core.verdicts import CHECK_IDS, runbook

from ..support.fixtures import ROOT


def test_each_check_links_to_an_existing_anchor():
    for check_id in CHECK_IDS:
        path, anchor = runbook(check_id).split("#")
        text = (ROOT / path).read_text()
        assert f'<a id="{anchor}"></a>' in text, f"{path} has no section for {check_id}"


def test_doctor_reports_only_documented_checks(fl):
    run = fl("doctor", "--json", "--foundry-url", "http://127.0.0.1:1")
    assert [c["id"] for c in run.json["data"]["checks"]] == list(CHECK_IDS)


def test_index_lists_every_runbook_file():
    index = (ROOT / "deploy/runbooks/README.md").read_text()
    for path in (ROOT / "deploy/runbooks").glob("*.md"):
        if path.name != "README.md":
            assert re.search(rf"\]\({re.escape(path.name)}", index), f"{path.name} missing from the index"
