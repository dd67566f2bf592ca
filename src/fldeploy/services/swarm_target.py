"""`--target swarm`: the stack verbs on Docker Swarm. Open WebUI x N on PostgreSQL and Redis; `up` deploys one
replica that migrates, waits for it, then scales to N replicas that do not migrate (swarm_model.py)."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from ..core import swarm_model as model
from ..core import swarm_status
from ..core.verdicts import Verdict
from ..errors import ExitCode, FldeployError
from ..result import Result
from . import swarm_stack

INIT_FIX = ("make this host a single-node swarm: `fldeploy up --target swarm --init-swarm` (runs `docker swarm "
            "init --advertise-addr 127.0.0.1`), or join it to your swarm as a manager")


def ensure_swarm(init_swarm: bool, progress, timeout: float) -> str | None:
    """The engine is a swarm manager; with init_swarm an inactive one becomes a single-node swarm (the note)."""
    from ..adapters import swarm

    state, manager, error = swarm.swarm_state(timeout)
    if error:
        raise FldeployError(f"cannot ask Docker about its swarm: {error}", "run `fldeploy doctor`",
                            ExitCode.UNREACHABLE, "swarm.engine")
    if state == "active" and manager:
        return None
    if state == "active":
        raise FldeployError("this Docker engine is a swarm worker: stacks are deployed from a manager",
                            "run fldeploy on a manager node (`docker node ls` there)", ExitCode.UNREACHABLE,
                            "swarm.worker")
    if state != "inactive":
        raise FldeployError(f"this Docker engine's swarm is {state or 'in an unknown state'}",
                            "see `docker info` (Swarm:); `docker swarm leave --force` resets a broken one",
                            ExitCode.UNREACHABLE, "swarm.state")
    if not init_swarm:
        raise FldeployError("this Docker engine is not part of a swarm; fldeploy never makes one unasked",
                            INIT_FIX, ExitCode.UNREACHABLE, "swarm.inactive")
    progress("docker swarm init --advertise-addr 127.0.0.1")
    done = swarm.swarm_init("127.0.0.1")
    if not done.ok:
        raise FldeployError(f"docker swarm init failed: {(done.stderr or done.stdout).strip()[-300:]}",
                            "see `docker info`", ExitCode.CHECK_FAILED, "swarm.init")
    return "made this host a single-node swarm (docker swarm init --advertise-addr 127.0.0.1)"


def _preflight(settings, stack: str) -> tuple:
    """Docker, Compose (for local builds), Foundry and the ports, where a port the stack itself publishes
    is not a conflict."""
    from ..adapters import docker_engine
    from ..core import verdicts
    from .foundry_facts import foundry_facts
    from .ports_scan import scan

    timeout = settings.check_timeout
    for verdict in (verdicts.docker_engine(docker_engine.engine_facts(timeout)),
                    verdicts.docker_compose(docker_engine.compose_version(timeout))):
        if verdict.status == "fail":
            raise FldeployError(verdict.cause, verdict.fix, ExitCode.UNREACHABLE, verdict.id)
    facts, notes = foundry_facts(settings)
    ours = _published_ports(stack, Path(settings.stack_dir))
    statuses, port_notes = scan(settings, [], with_foundry=False)
    judged = verdicts.ports([s for s in statuses if s.port not in ours], [])
    if judged.status == "fail":
        raise FldeployError(judged.cause, judged.fix, ExitCode.PORT_CONFLICT, "ports")
    return facts, notes + port_notes


def _published_ports(stack: str, out_dir: Path) -> set[int]:
    """The ports this stack's gateway publishes now (a second `up` finds them held by its own containers)."""
    from ..adapters import swarm

    doc = swarm_stack.read_stack_file(out_dir) if swarm.stack_services(stack) else None
    published = ((doc or {}).get("x-fldeploy") or {}).get("published") or {}
    return {int(port) for port in published.values()}


def _wait(stack: str, doc: dict, timeout: float, progress) -> list[dict]:
    from ..adapters import swarm

    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = swarm_status.service_rows(stack, swarm.stack_services(stack), doc)
        # converged, and no replaced task still running (a chat started there would die with it)
        if swarm_status.converged(rows) and not swarm.tasks_stopping(stack):
            return rows
        progress(" ".join(f"{r['service']} {r['running']}/{r['desired']}" for r in rows))
        time.sleep(2)
    waiting = ", ".join(f"{r['service']} {r['running']}/{r['desired']}" for r in rows if r["state"] != "running")
    raise FldeployError(f"the swarm stack {stack} did not converge in {timeout:.0f}s: {waiting}",
                        f"see `fldeploy logs --target swarm SERVICE` and `docker service ps {stack}_SERVICE "
                        "--no-trunc`; raise wait_timeout on a slow first boot", ExitCode.TIMEOUT, "swarm.wait")


def _deploy(planned, spec: model.SwarmSpec, settings, progress) -> tuple[dict, list[dict]]:
    from ..adapters import swarm

    doc = model.stack_document(spec)
    path, _ = swarm_stack.write_stack_file(planned.out_dir, doc)
    phase = "one replica that migrates the database" if spec.migrate else f"{spec.replicas} replica(s)"
    progress(f"docker stack deploy {planned.stack}: Open WebUI, {phase}")
    done = swarm.stack_deploy(path, planned.stack, settings.wait_timeout)
    if not done.ok:
        raise FldeployError(f"docker stack deploy failed: {(done.stderr or done.stdout).strip()[-400:]}",
                            f"check {path}; see `docker stack ps {planned.stack}`", ExitCode.CHECK_FAILED,
                            "swarm.deploy")
    return doc, _wait(planned.stack, doc, settings.wait_timeout, progress)


def _migration_first(planned, settings) -> bool:
    """A first deploy, a new Open WebUI image, or a stack left in its first phase: one replica migrates first."""
    from ..adapters import swarm

    service = model.service_name(planned.stack, "open-webui")
    current = swarm.service_spec(service)
    running = swarm.containers(service)
    return swarm_status.needs_migration_phase(
        current, planned.spec.stack.openwebui_image, swarm.image_id(planned.spec.stack.openwebui_image),
        swarm.container_image_id(running[0]["ID"]) if running else None)


class _TaskExec:
    """What end_to_end.chainlit asks of Compose (`exec -T SERVICE CMD...`, the stack folder), for a Swarm task."""

    def __init__(self, stack: str, out_dir: Path) -> None:
        self.stack, self.dir = stack, out_dir

    def argv(self, *args: str) -> list[str]:
        from ..adapters import swarm

        service, command = args[2], args[3:]  # ("exec", "-T", service, *command)
        found = swarm.containers(model.service_name(self.stack, service))
        return swarm.exec_argv(found[0]["ID"] if found else f"{self.stack}_{service}-missing", *command)


def _checks(settings, planned, rows: list[dict]) -> list[Verdict]:
    from ..adapters import foundry_http
    from ..stack import end_to_end

    services = [r["service"] for r in rows]
    checks = []
    if "open-webui" in services:
        tools_ok, _ = foundry_http.accepts_tools(planned.facts.url, planned.facts.model_id, 30)
        checks.append(end_to_end.check_and_repair_openwebui(settings, planned.out_dir, planned.facts.model_id,
                                                            planned.route.url, tools_ok))
    if "chainlit" in services:
        checks.append(end_to_end.chainlit(settings, _TaskExec(planned.stack, planned.out_dir)))
    if "webgpu-demo" in services:
        checks.append(end_to_end.webgpu_demo(settings))
    return checks


class SwarmTarget:
    name = "swarm"

    def render(self, settings, out: str | None) -> Result:
        from ..core.redact import mask_data

        planned = swarm_stack.plan(settings, Path(out or settings.stack_dir), migrate=settings.replicas == 1)
        spec = swarm_stack.write_inputs(planned, settings.api_key)
        path, changed = swarm_stack.write_stack_file(planned.out_dir, model.stack_document(spec))
        data = {"dir": str(planned.out_dir), "written": [path.name] if changed else [], "target": "swarm",
                "stack": planned.stack, "services": list(model.stack_document(spec)["services"]),
                "foundry_url": planned.facts.url, "container_url": planned.route.url, "route": planned.route.reason,
                "relay": planned.route.relay, "model_id": planned.facts.model_id, "replicas": settings.replicas,
                "notes": planned.notes + ["secrets are Docker secrets made from the files in "
                                          f"{planned.out_dir / model.SECRETS_DIR} (0600)"],
                "run_it": f"docker stack deploy -c {path} {planned.stack}  (`fldeploy up --target swarm` deploys "
                          "one migrating replica first, then scales)"}
        return Result("render", mask_data(data))

    def up(self, settings, progress, build: bool, init_swarm: bool) -> Result:
        start = time.monotonic()
        stack = model.stack_name(settings.project)
        progress("preflight: Foundry, Docker, Compose, ports, swarm")
        facts, notes = _preflight(settings, stack)
        made = ensure_swarm(init_swarm, progress, settings.check_timeout * 4)
        notes += [made] if made else []
        out_dir = Path(settings.stack_dir)
        planned = swarm_stack.plan(settings, out_dir, facts)
        built = swarm_stack.build_images(planned, progress, build, settings.wait_timeout + 1800)
        timings = {"preflight_s": time.monotonic() - start}
        first = settings.replicas == 1 or bool(built) or _migration_first(planned, settings)
        mark = time.monotonic()
        spec = swarm_stack.write_inputs(planned, settings.api_key)
        if first:
            doc, rows = _deploy(planned, spec, settings, progress)
            timings["migrate_phase_s"] = time.monotonic() - mark
        if settings.replicas > 1:
            doc, rows = _deploy(planned, replace(spec, migrate=False), settings, progress)
        timings["deploy_s"] = time.monotonic() - mark
        mark = time.monotonic()
        progress("checking the stack end to end (Open WebUI: sign-in, models, a chat as the UI sends it)")
        checks = _checks(settings, planned, rows)
        timings["check_s"] = time.monotonic() - mark
        timings["total_s"] = time.monotonic() - start
        return _up_result(settings, planned, rows, checks, notes + planned.notes, built, timings)

    def status(self, settings) -> Result:
        from ..adapters import swarm
        from ..core.foundry_rules import api_url
        from ..core.stack_plan import drift_of
        from ..foundry import discovery
        from .foundry_facts import where_foundry_is_now

        stack, doc = swarm_stack.require(settings)
        rows = swarm_status.service_rows(stack, swarm.stack_services(stack), doc)
        for row in rows:
            row["health"] = f"{row['running']}/{row['desired']}" if row["state"] != "absent" else "absent"
        owui = (doc.get("services") or {}).get("open-webui") or {}
        in_use = str((owui.get("environment") or {}).get("OPENAI_API_BASE_URL", "")).replace("$$", "$") or None
        found = discovery.discover(settings, settings.check_timeout)
        now = api_url(found.chosen.url) if found.chosen else None
        drift = drift_of(in_use, where_foundry_is_now(settings, found)[0]) if found.chosen else None
        data = {"stack_dir": settings.stack_dir, "target": "swarm", "stack": stack, "services": rows,
                "foundry_in_use": in_use, "foundry_now": now, "drift": drift,
                "relay": "foundry-relay" in (doc.get("services") or {})}
        if not swarm_status.converged(rows) or drift:
            return Result("status", data, "fail", ExitCode.CHECK_FAILED,
                          [{"code": "swarm.status", "message": drift or "not every service runs all its replicas",
                            "hint": "fldeploy up --target swarm"}])
        return Result("status", data)

    def down(self, settings, volumes: bool, confirmed: bool, interactive: bool, ask) -> Result:
        from ..adapters import swarm
        from .confirm import confirm

        stack, doc = swarm_stack.require(settings)
        names = sorted((doc.get("volumes") or {}).keys())
        if volumes:
            confirm(confirmed, interactive, ask, "down", f"--volumes deletes the volumes {', '.join(names)} "
                    "(users, chats, settings, uploads)", f"Delete the volumes {', '.join(names)} with all Open "
                    "WebUI data?", declined="nothing was removed")
        done = swarm.stack_rm(stack)
        if not done.ok and "Nothing found in stack" not in done.stderr + done.stdout:
            raise FldeployError(f"docker stack rm failed: {(done.stderr or done.stdout).strip()[-300:]}",
                                "see `docker stack ls`", ExitCode.CHECK_FAILED, "swarm.down")
        deadline = time.monotonic() + 120
        while swarm.stack_leftovers(stack) and time.monotonic() < deadline:
            time.sleep(1)  # `docker stack rm` returns before its containers and network are gone
        failed = [v for v in names if volumes and not swarm.volume_rm(v).ok]
        if failed:
            raise FldeployError(f"could not remove the volumes {', '.join(failed)}", "see `docker volume ls`",
                                ExitCode.CHECK_FAILED, "swarm.down_volumes")
        return Result("down", {"stack_dir": settings.stack_dir, "target": "swarm", "stack": stack,
                               "volumes_removed": volumes, "kept": [] if volumes else names})

    def logs(self, settings, service: str | None, follow: bool, tail: int) -> Result:
        from ..adapters import proc, swarm

        stack, doc = swarm_stack.require(settings)
        services = list(doc.get("services") or {})
        if service and service not in services:
            raise FldeployError(f"the swarm stack has no service {service!r}", f"use one of: {', '.join(services)}",
                                ExitCode.USAGE, "logs.service")
        if follow and not service:
            raise FldeployError("--follow streams one service of a swarm stack", f"name one: {', '.join(services)}",
                                ExitCode.USAGE, "logs.service")
        for name in [service] if service else services:
            code = proc.passthrough(swarm.logs_argv(model.service_name(stack, name), follow, tail))
            if code is None:
                raise FldeployError("cannot run docker", "install the docker CLI", ExitCode.UNREACHABLE, "logs.docker")
            if code in (130, -2):
                return Result("logs", None, "ok", ExitCode.INTERRUPTED)
            if code != 0:
                return Result("logs", None, "fail", ExitCode.CHECK_FAILED, [
                    {"code": "logs.swarm", "message": f"docker service logs exited {code}",
                     "hint": f"see `docker stack ps {stack}`"}])
        return Result("logs", None)


def _up_result(settings, planned, rows, checks, notes, built, timings) -> Result:
    from ..checks.registry import as_dict

    env_file = str(planned.out_dir / ".env")
    replicas = ", ".join(f"{r['service']} {r['running']}/{r['desired']}" for r in rows)
    notes = notes + [f"swarm stack {planned.stack}: {replicas}",
                     "the gateway publishes in host mode on every interface of each node (Swarm binds no single "
                     "address): firewall the ports, or keep the node private"]
    data = {
        "target": "swarm", "stack": planned.stack, "replicas": settings.replicas, "services": rows, "built": built,
        "urls": {c.id.split(".")[1].replace("_", "-"): c.data.get("url") for c in checks if c.data.get("url")},
        "admin": {"email": settings.admin_email, "password_in": f"{env_file} (OPENWEBUI_ADMIN_PASSWORD)"},
        "chainlit_login": {"user": "admin", "password_in": f"{env_file} (CHAINLIT_ADMIN_PASSWORD)"}
        if any(r["service"] == "chainlit" for r in rows) else None,
        "foundry": {"url": planned.facts.url, "model_id": planned.facts.model_id,
                    "container_url": planned.route.url, "route": planned.route.reason, "relay": planned.route.relay},
        "stack_dir": str(planned.out_dir), "files_written": [], "checks": [as_dict(c) for c in checks],
        "notes": notes, "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        return Result("up", data, "fail", ExitCode.CHECK_FAILED,
                      [{"code": c.id, "message": c.cause, "hint": c.fix} for c in failed])
    return Result("up", data)
