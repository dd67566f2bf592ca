"""Compose's own progress lines (recorded from Compose 2.40 here) become per-service events."""
from __future__ import annotations

from fldeploy.core.compose_events import ServiceEvent, parse, service_of

RECORDED = """#5 [b 2/2] RUN echo hi
#5 0.209 hi
#1 [b internal] load build definition from Dockerfile
 b  Built
 Network flcev_default  Creating
 Container flcev-open-webui-1  Creating
 Container flcev-open-webui-1  Started
 Container flcev-open-webui-1  Waiting
 Container flcev-open-webui-1  Healthy
 Image alpine/socat:1.8.0.3 Pulling
time="2026-11-26T13:48:28Z" level=warning msg="Docker Compose is configured to build using Bake"
"""


def test_each_service_state_line_becomes_an_event():
    events = [parse(line, "flcev") for line in RECORDED.splitlines()]
    assert [e for e in events if e] == [
        ServiceEvent("b", "building"), ServiceEvent("b", "building"), ServiceEvent("b", "built"), ServiceEvent("open-webui", "creating"),
        ServiceEvent("open-webui", "started"), ServiceEvent("open-webui", "waiting"),
        ServiceEvent("open-webui", "healthy"), ServiceEvent("alpine/socat:1.8.0.3", "pulling")]


def test_container_names_map_back_to_services():
    assert service_of("fldeploy-foundry-relay-1", "fldeploy") == "foundry-relay"
    assert service_of("my-proj-chainlit-12", "my-proj") == "chainlit"
    assert service_of("custom_name", "fldeploy") == "custom_name"

