"""Stack identity: a stack folder records its Compose project, and the verbs that act on a stack ask that
project, so two stacks on one host (a user's and the tests', or two users') never see each other."""
from __future__ import annotations

import subprocess
import uuid

import pytest
import yaml

from fldeploy.core.compose_model import HEADER

from ..support.fixtures import BASE_IMAGE


@pytest.fixture
def running_stack(tmp_path, docker_engine):
    """A rendered-looking stack folder for project A with one running service."""
    project = f"flid{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "stack"
    folder.mkdir()
    doc = {"name": project, "services": {"chainlit": {"image": BASE_IMAGE, "command": ["sleep", "300"],
                                                      "init": True}}}
    (folder / "compose.yaml").write_text(HEADER.format(version="test") + yaml.safe_dump(doc))
    up = subprocess.run(["docker", "compose", "--project-directory", str(folder), "up", "-d"],
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    yield project, folder
    subprocess.run(["docker", "compose", "--project-directory", str(folder), "down", "-t", "1"],
                   capture_output=True, timeout=120)


def test_status_asks_the_project_recorded_in_the_stack_folder(fl, running_stack):
    project, folder = running_stack
    # the settings name another project (the test environment's own): the folder's record wins
    run = fl("status", "--json", "--foundry-url", "http://127.0.0.1:1", FLDEPLOY_STACK_DIR=str(folder))
    services = {s["service"]: s for s in run.json["data"]["services"]}
    assert services["chainlit"]["state"] == "running", run.out


def test_down_stops_the_recorded_project_and_nothing_else(fl, running_stack, tmp_path):
    project, folder = running_stack
    run = fl("down", "--json", FLDEPLOY_STACK_DIR=str(folder))
    assert run.code == 0, run.err
    left = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                          capture_output=True, text=True).stdout.split()
    assert left == [], "down stopped the stack of this folder"
