"""Pure verdicts for what the stack's containers see (docker.host_gateway, foundry.from_container)."""
from __future__ import annotations

from .fix_texts import fix, through_vm
from .verdicts import Verdict

PROBE_BROKEN = ("probe_failed", "probe_timeout")


def docker_host_gateway(probe: dict) -> Verdict:
    cid = "docker.host_gateway"
    if probe["outcome"] in PROBE_BROKEN:
        return Verdict(cid, "fail", f"could not run a probe container: {probe.get('detail')}",
                       "check `fldeploy logs` and that the stack's images exist (`fldeploy up`)", probe)
    if probe["outcome"] == "name":
        return Verdict(cid, "fail", "host.docker.internal does not resolve inside the stack's containers",
                       "render with fldeploy (adds extra_hosts: host.docker.internal:host-gateway); "
                       "host-gateway needs Docker 20.10+", probe)
    if probe.get("resolved") is None:
        return Verdict(cid, "skip", "the stack does not use host.docker.internal", data=probe)
    return Verdict(cid, "ok", f"host.docker.internal resolves to {probe['resolved']} inside the containers",
                   data=probe)


def foundry_from_container(probe: dict) -> Verdict:
    """probe: what the probe container saw; its host_platform and host_engine (when the gathering layer adds
    them) choose the fix texts."""
    cid = "foundry.from_container"
    url = probe.get("url")
    outcome = probe["outcome"]
    port = (url or "").split(":")[-1].split("/")[0]
    host = {"platform": probe.get("host_platform", "linux"), "engine": probe.get("host_engine"), "port": port,
            "gateway": probe.get("resolved") or "172.17.0.1"}
    if outcome == "ok":
        return Verdict(cid, "ok", f"a container fetched {', '.join(probe['models'])} from {url}", data=probe)
    if outcome == "no_models":
        return Verdict(cid, "warn", f"containers reach {url}, but Foundry lists no models",
                       fix("foundry.load", model="<alias>", **host), probe)
    bridge = not through_vm(host["platform"], host["engine"])
    causes = {
        "refused": (f"connection refused from the containers to {url}: "
                    + ("Foundry listens on loopback only" if bridge else "nothing listens there on the host"),
                    fix("container.refused", **host)),
        "timeout": (f"no answer from {url} within 4 s: "
                    + ("a firewall drops traffic from the Docker bridge to the host" if bridge
                       else "Foundry or the engine's forwarding to the host hangs"),
                    fix("container.timeout", **host)),
        "name": ("host.docker.internal does not resolve inside the containers",
                 "render with fldeploy (extra_hosts: host.docker.internal:host-gateway)"),
        "bad_url": (f"the stack's Foundry URL is not a URL: {url}", "run `fldeploy up` to render it again"),
        "http_error": (f"{url} answered {probe.get('detail')}", "see foundry.api; restart Foundry"),
    }
    cause, to_fix = causes.get(outcome, (f"{url}: {outcome} {probe.get('detail', '')}", "see the runbook"))
    return Verdict(cid, "fail", cause, to_fix, probe)
