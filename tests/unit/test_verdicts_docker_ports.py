"""Doctor verdicts about Docker, Compose and ports; the summary; runbook links."""
from __future__ import annotations


import pytest

from fldeploy.core import verdicts as v
from fldeploy.core.ports import Need, PortStatus, classify

pytestmark = pytest.mark.unit


# --- docker.engine -----------------------------------------------------------------------------------

@pytest.mark.parametrize("desktop, kind", [(True, "Docker Desktop"), (False, "native engine")])
def test_docker_engine_reachable(desktop, kind):
    out = v.docker_engine({"reachable": True, "desktop": desktop, "version": "27.3.1", "os": "linux"})
    assert (out.status, out.cause) == ("ok", f"Docker 27.3.1 ({kind}, linux)")


def test_docker_engine_names_where_it_was_found_and_tells_podman_apart():
    podman = v.docker_engine({"reachable": True, "podman": True, "version": "4.3.1", "os": "debian",
                              "host": "unix:///run/podman/podman.sock", "host_source": "DOCKER_HOST"})
    assert podman.cause == "Podman 4.3.1 (Docker-compatible API, debian) at unix:///run/podman/podman.sock (DOCKER_HOST)"


def test_docker_engine_unreachable_says_where_and_how_to_start():
    engine = {"reachable": False, "host": "unix:///var/run/docker.sock", "error": "Permission denied"}
    out = v.docker_engine(engine)
    assert out.status == "fail"
    assert out.cause == "cannot reach the Docker engine at unix:///var/run/docker.sock: Permission denied"
    assert "systemctl start docker" in out.fix and "group docker" in out.fix
    assert out.data == engine


# --- docker.compose ----------------------------------------------------------------------------------

def test_compose_missing():
    out = v.docker_compose({"present": False, "error": "'compose' is not a docker command"})
    assert out.status == "fail"
    assert out.cause == "Docker Compose v2 is missing: 'compose' is not a docker command"
    assert "docker-compose-plugin" in out.fix and "fldeploy[compose]" in out.fix


@pytest.mark.parametrize("version", ["2.0.1", "1.29.2", "v2.1.0", "2.1"])
def test_compose_too_old(version):
    out = v.docker_compose({"present": True, "version": version})
    assert out.status == "fail"
    assert out.cause == f"Docker Compose {version} is too old for `up --wait` (needs 2.1.1+)"
    assert "docker-compose-plugin" in out.fix


@pytest.mark.parametrize("version", ["2.40.3", "v2.1.1", "2.1.1", "2.10.0", "2.29.7-desktop.1", "v2.24.0+ds1"])
def test_compose_new_enough(version):
    out = v.docker_compose({"present": True, "version": version})
    assert (out.status, out.cause, out.fix) == ("ok", f"Docker Compose {version}", "")


@pytest.mark.parametrize("version", ["2.20.2", "v2.23.0", "2.1.1"])
def test_compose_too_old_for_the_balancer_says_so(version):
    out = v.docker_compose({"present": True, "version": version, **v.compose_needs(True)})
    assert out.status == "fail"
    assert out.cause == (f"Docker Compose {version} is too old for `--balance` (its nginx configuration is inline in "
                         "compose.yaml) (needs 2.23.1+)")
    assert "docker-compose-plugin" in out.fix


@pytest.mark.parametrize("version", ["2.23.1", "v2.29.7-desktop.1"])
def test_compose_new_enough_for_the_balancer(version):
    assert v.docker_compose({"present": True, "version": version, **v.compose_needs(True)}).status == "ok"
    assert v.compose_needs(False) == {}


# --- ports -------------------------------------------------------------------------------------------

NGINX = {"addresses": ["0.0.0.0"], "pid": 4242, "process": {"pid": 4242, "name": "nginx", "user": "root"}}


def test_ports_all_free_is_ok_and_shows_front_end_ports_only():
    statuses = [PortStatus(3000, "open-webui", "free"), PortStatus(8080, "chainlit", "ours"),
                PortStatus(5273, "foundry", "foundry")]
    out = v.ports(statuses, [])
    assert (out.status, out.cause, out.fix) == ("ok", "3000 free, 8080 ours", "")
    assert [p["port"] for p in out.data["ports"]] == [3000, 8080, 5273]


def test_ports_notes_turn_it_into_a_warning():
    out = v.ports([PortStatus(3000, "open-webui", "free")], ["some sockets are hidden: run as root"])
    assert out.status == "warn"
    assert out.cause == "3000 free (some sockets are hidden: run as root)"


def test_ports_conflicts_fail_with_every_cause_and_fix():
    a = classify(Need(3000, "open-webui"), [NGINX], "fldeploy", {3000})
    b = classify(Need(8080, "chainlit"), [{"pid": 7, "addresses": ["127.0.0.1"]}], "fldeploy", {8080})
    out = v.ports([a, b, PortStatus(9000, "requested", "free")], [])
    assert out.status == "fail"
    assert out.cause == ("port 3000 for Open WebUI is held by nginx (pid 4242, user root) on 0.0.0.0; "
                         "port 8080 for the Chainlit app is held by pid 7 on 127.0.0.1")
    assert "--openwebui-port 3001" in out.fix and "--chainlit-port 8081" in out.fix
    assert out.fix.count("; ") >= 1
    assert out.data["ports"][0]["state"] == "conflict"


# --- summary and runbook -----------------------------------------------------------------------------

def _verdicts(*statuses):
    return [v.Verdict(f"foundry.c{i}", s, "cause") for i, s in enumerate(statuses)]


@pytest.mark.parametrize("statuses, expected", [
    (("ok", "ok"), "ok"),
    (("ok", "skip"), "ok"),
    (("ok", "warn", "skip"), "warn"),
    (("warn", "fail", "ok"), "fail"),
    (("skip",), "ok"),
    ((), "ok"),
])
def test_summary_status(statuses, expected):
    assert v.summary_status(_verdicts(*statuses)) == expected


def test_a_shown_verdict_carries_its_runbook_section_and_duration():
    from fldeploy.checks.registry import as_dict

    d = as_dict(v.Verdict("docker.engine", "fail", "down", "start it", {"host": "x"}, duration_ms=12.34))
    assert set(d) == {"id", "status", "cause", "fix", "runbook", "data", "duration_ms"}
    assert d["runbook"] == "deploy/runbooks/docker.md#docker.engine" and d["duration_ms"] == 12.3


def test_timed_out_names_what_and_how_long():
    out = v.timed_out("docker.engine", "the Docker engine", 2.5)
    assert (out.id, out.status) == ("docker.engine", "fail")
    assert out.cause == "the Docker engine did not answer within 2.5s"
    assert "check_timeout" in out.fix


def test_an_engine_that_never_runs_healthchecks_is_a_warning_with_what_to_do():
    out = v.docker_engine({"reachable": True, "podman": True, "kind": "podman", "version": "4.3.1", "os": "debian",
                           "runs_healthchecks": False})
    assert out.status == "warn" and "healthchecks never run" in out.cause
    assert "podman healthcheck run" in out.fix and "systemd" in out.fix
