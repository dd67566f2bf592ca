"""The Swarm stack planned and written: the StackSpec of the Compose model made a SwarmSpec, the secrets as files
(0600, written atomically, generated once and kept, the shared ones from the stack's .env), swarm.yaml, and the
images that are built here."""
from __future__ import annotations

import hashlib
import os
import secrets as random
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core import swarm_model as model
from ..core.stack_plan import FoundryFacts, Route, container_route, stack_spec
from ..errors import ExitCode, FldeployError

LOCAL_IMAGES = {"postgres": "fldeploy-local/postgres:15-pgvector", "redis": "fldeploy-local/redis:7",
                "gateway": "fldeploy-local/nginx:1"}
PUBLIC_IMAGES = {"postgres": "pgvector/pgvector:pg15", "redis": "redis:7-alpine", "gateway": "nginx:1.27-alpine"}
CONTEXTS = {"postgres": "postgres", "redis": "redis", "gateway": "nginx"}  # under deploy/
BUILD_FILE = "swarm-build.yaml"


@dataclass
class Planned:
    spec: model.SwarmSpec
    facts: FoundryFacts
    route: Route
    out_dir: Path
    contexts: dict
    notes: list[str] = field(default_factory=list)

    @property
    def stack(self) -> str:
        return model.stack_name(self.spec.stack.project)


def contexts_of(out_dir: Path) -> dict[str, str]:
    from ..stack import assets

    contexts = assets.build_contexts(out_dir)
    root = assets.deploy_dir()
    if root is not None:
        inside = out_dir.resolve().is_relative_to(root.parent)  # as assets.build_contexts writes them
        for name, sub in CONTEXTS.items():
            contexts[name] = os.path.relpath(root / sub, out_dir.resolve()) if inside else str(root / sub)
    return contexts


def plan(settings, out_dir: Path, facts: FoundryFacts | None = None, migrate: bool = True) -> Planned:
    from ..stack import assets
    from .foundry_facts import foundry_facts

    notes: list[str] = []
    if facts is None:
        facts, notes = foundry_facts(settings)
    route = container_route(facts, settings.relay_port)
    contexts = contexts_of(out_dir)
    base = stack_spec(settings, facts, route, contexts, assets.host_ca_file())
    images = LOCAL_IMAGES if settings.build_local else PUBLIC_IMAGES
    spec = model.SwarmSpec(base, settings.replicas, migrate, images["postgres"], images["redis"],
                           host_gateway=facts.gateway or "172.17.0.1" if base.extra_hosts else None,
                           gateway_image=images["gateway"])
    return Planned(spec, facts, route, out_dir, contexts, notes)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def write_inputs(planned: Planned, api_key: str) -> model.SwarmSpec:
    """.env as the Compose target keeps it (the same WEBUI_SECRET_KEY and passwords), one file per Docker
    secret in secrets/ (0600; the PostgreSQL password is generated once and kept there), the gateway's config."""
    from .. import __version__
    from ..core.compose_model import dotenv_text
    from ..stack import files

    out_dir = planned.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    env_path = out_dir / files.ENV_FILE
    files.ensure_ours(env_path)
    values = files.secret_values(env_path, api_key)
    env_text = dotenv_text(values, __version__)
    if _read(env_path) != env_text:
        files.atomic_write(env_path, env_text, 0o600)
    folder = out_dir / model.SECRETS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    kept = _read(folder / "POSTGRES_PASSWORD")
    values["POSTGRES_PASSWORD"] = kept if kept and not files.is_placeholder(kept) else random.token_hex(24)
    values["DATABASE_URL"] = model.database_url(values["POSTGRES_PASSWORD"])
    paths, names = {}, {}
    for key in model.SECRET_TARGETS:
        path = folder / key
        if _read(path) != values[key]:
            files.atomic_write(path, values[key], 0o600)
        paths[key] = str(path.resolve())
        names[key] = model.secret_name(planned.stack, key, hashlib.sha256(values[key].encode()).hexdigest())
    gateway = out_dir / model.GATEWAY_CONFIG
    text = model.gateway_config(planned.spec)
    if _read(gateway) != text:
        files.atomic_write(gateway, text, 0o644)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return replace(planned.spec, secret_files=paths, secret_names=names, gateway_config_file=str(gateway.resolve()),
                   gateway_config_name=model.secret_name(planned.stack, "gateway", digest))


def write_stack_file(out_dir: Path, doc: dict) -> tuple[Path, bool]:
    from ..stack import files

    path = out_dir / model.STACK_FILE
    files.ensure_ours(path)
    text = files.compose_text(doc)
    changed = _read(path) != text
    if changed:
        files.atomic_write(path, text, 0o644)
    return path, changed


def read_stack_file(out_dir: Path) -> dict | None:
    import yaml

    path = out_dir / model.STACK_FILE
    if not path.exists():
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FldeployError(f"{path} is not valid YAML: {exc}", "fix it, or delete it and run `fldeploy up "
                            "--target swarm`", ExitCode.CONFIG, "swarm.stack_file") from None
    return doc if isinstance(doc, dict) else None


def require(settings) -> tuple[str, dict]:
    """The stack rendered in stack_dir (its name and document), or an error that says how to make one."""
    doc = read_stack_file(Path(settings.stack_dir))
    if doc is None:
        raise FldeployError(f"no Swarm stack in {settings.stack_dir} ({model.STACK_FILE})",
                            "run `fldeploy up --target swarm` (or `fldeploy render --target swarm`) first",
                            ExitCode.CHECK_FAILED, "swarm.missing")
    stack = (doc.get("x-fldeploy") or {}).get("stack") or model.stack_name(settings.project)
    return str(stack), doc


def build_images(planned: Planned, progress, rebuild: bool, timeout: float) -> list[str]:
    """Build the stack's local images that are missing (all of them with rebuild); Swarm builds nothing."""
    import yaml

    from ..adapters import proc, swarm
    from ..stack import files

    doc = model.build_document(planned.spec, planned.spec.stack.build_contexts)
    wanted = [name for name, svc in doc["services"].items() if rebuild or not swarm.image_id(svc["image"])]
    if not wanted:
        return []
    planned.out_dir.mkdir(parents=True, exist_ok=True)
    path = planned.out_dir / BUILD_FILE
    files.atomic_write(path, yaml.safe_dump(doc, sort_keys=False), 0o644)
    progress(f"building {', '.join(wanted)}")
    argv = ["docker", "compose", "-f", str(path), "-p", f"{planned.stack}-build", "build", *wanted]
    env = {**os.environ, "COMPOSE_PROGRESS": "plain", "COMPOSE_ANSI": "never"}
    done = proc.stream(argv, timeout, lambda line: progress(f"build: {line[:150]}"), cwd=str(planned.out_dir),
                       env=env)
    if not done.ok:
        tail = " | ".join(done.stdout.splitlines()[-3:])
        raise FldeployError(f"building {', '.join(wanted)} failed: {tail}", "see the build output: "
                            f"docker compose -f {path} build", ExitCode.CHECK_FAILED, "swarm.build")
    return wanted
