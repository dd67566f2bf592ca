"""The guard that keeps the test run away from the user's fldeploy can fail: a run whose test writes into the
user's config folder ends red, naming the file; the same run without that write is green."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from ..support.fixtures import ROOT

CASE = textwrap.dedent('''
    import os, pathlib

    def test_touches_the_user_config():
        target = pathlib.Path(os.environ["GUARDED_HOME"]) / ".config" / "fldeploy" / "fldeploy.yaml"
        if os.environ.get("DO_TOUCH"):
            target.write_text("openwebui_port: 3999\\n")
''')


def _run(tmp_path, touch: bool) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    (home / ".config" / "fldeploy").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "fldeploy" / "fldeploy.yaml").write_text("openwebui_port: 3000\n")
    case = tmp_path / "case"
    case.mkdir(exist_ok=True)
    (case / "test_case.py").write_text(CASE)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "GUARDED_HOME": str(home), "PYTHONPATH": str(ROOT),
           "DO_TOUCH": "1" if touch else ""}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.support.user_guard", "-p",
                           "no:cacheprovider", "--rootdir", str(case), str(case)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_test_that_writes_the_user_config_fails_the_run(tmp_path):
    touched = _run(tmp_path, touch=True)
    assert touched.returncode == 1, touched.stdout + touched.stderr
    assert "the tests touched the user's fldeploy" in touched.stdout
    assert "config: fldeploy.yaml changed" in touched.stdout


def test_a_run_that_leaves_the_user_alone_passes(tmp_path):
    clean = _run(tmp_path, touch=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "touched" not in clean.stdout
