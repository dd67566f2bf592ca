"""--target kubernetes: `render` writes a kustomize base for `kubectl apply -k`; the other verbs belong to the
cluster's own tools."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
from pathlib import Path

from .. import __version__
from ..core import kube_model as km
from ..errors import ConfigError, ExitCode, FldeployError
from ..result import Result
from .targets import render_only

LOOPBACK_HOSTS = ("localhost", "::1")


class KubernetesTarget:
    name = "kubernetes"

    def render(self, settings, out: str | None) -> Result:
        from ..core.redact import mask_data, mask_text

        out_dir = Path(out) if out else Path(settings.stack_dir) / "kubernetes"
        try:
            spec, notes = kube_spec(settings)
        except FldeployError as err:  # shown to the user: a URL's credentials masked
            err.message, err.fix = mask_text(err.message), mask_text(err.fix)
            raise
        written = write_base(out_dir, spec, settings)
        data = {**written, "target": self.name, "services": list(spec.services), "replicas": spec.replicas,
                "foundry_url": spec.foundry_api_url, "model_id": spec.model_id,
                "database": "external (database_url)" if spec.external_database else "PostgreSQL StatefulSet",
                "redis": "external (redis_url)" if spec.external_redis else "Redis StatefulSet",
                "ingress_host": spec.ingress_host, "secret": km.SECRET_NAME, "notes": notes}
        return Result("render", mask_data(data))

    def up(self, settings, progress, build: bool, init_swarm: bool) -> Result:
        raise render_only(self.name, "up")

    def down(self, settings, volumes: bool, confirmed: bool, interactive: bool, ask) -> Result:
        raise render_only(self.name, "down")

    def status(self, settings) -> Result:
        raise render_only(self.name, "status")

    def logs(self, settings, service: str | None, follow: bool, tail: int) -> Result:
        raise render_only(self.name, "logs")


def kube_spec(settings) -> tuple[km.KubeSpec, list[str]]:
    """The spec from the settings and the Foundry found at the URL the user gave (its model id); the pods use
    that URL as it is, so it must be one the cluster reaches."""
    from ..core.engine_kind import engine_notes
    from ..core.foundry_rules import api_url, url_host
    from ..core.stack_plan import selected_services
    from .foundry_facts import foundry_facts

    if getattr(settings, "foundry_urls", None):  # the setting of several Foundry hosts, where it exists
        raise FldeployError("--target kubernetes renders one Foundry URL; several hosts (foundry_urls) are not "
                            "rendered for Kubernetes yet", "render with one --foundry-url (e.g. a balancer in front "
                            "of the hosts) and unset foundry_urls / FLDEPLOY_FOUNDRY_URLS",
                            ExitCode.USAGE, "kubernetes.several_hosts")
    facts, notes = foundry_facts(settings)
    notes = [n for n in notes if n not in engine_notes(facts.engine)]  # no Docker engine runs these pods
    host = url_host(facts.url)
    if host.startswith("127.") or host in LOOPBACK_HOSTS:
        notes.append(f"Foundry's URL names {host}, which in a pod is the pod itself: render again with "
                     "--foundry-url set to an address the cluster reaches (e.g. a `fldeploy foundry expose` proxy "
                     "on the Foundry machine, with its key as FLDEPLOY_API_KEY)")
    if settings.build_local:
        notes.append("build_local is set: the cluster pulls the images named here, so push the locally built ones "
                     "to a registry it reaches and rename them in an overlay (kustomize `images:`)")
    spec = km.KubeSpec(
        services=selected_services(settings.services), replicas=settings.replicas,
        foundry_api_url=api_url(facts.url), model_id=facts.model_id,
        openwebui_image=settings.openwebui_image, chainlit_image=settings.chainlit_image,
        webgpu_demo_image=settings.webgpu_demo_image, admin_email=settings.admin_email,
        chainlit_port=settings.chainlit_port, external_database=bool(settings.database_url),
        external_redis=bool(settings.redis_url), ingress_host=settings.ingress_host)
    return spec, notes


def url_safe_password() -> str:
    return secrets.token_hex(24)  # hex: it goes into DATABASE_URL and REDIS_URL unescaped


def secret_values(env_path: Path, settings) -> dict[str, str]:
    """The secrets of the base, kept in secrets.env the way the Compose target keeps .env (stack/files.py):
    generated once, the API key and external URLs following the settings."""
    from ..stack import files

    values = files.secret_values(env_path, settings.api_key,
                                 {**files.GENERATED, "POSTGRES_PASSWORD": url_safe_password,
                                  "REDIS_PASSWORD": url_safe_password})
    values.update(km.in_cluster_urls(values["POSTGRES_PASSWORD"], values["REDIS_PASSWORD"]))
    values.update({k: v for k, v in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url)) if v})
    return values


def yaml_text(objects: list[dict]) -> str:
    import yaml

    return km.HEADER.format(version=__version__) + yaml.safe_dump_all(
        objects, sort_keys=False, width=120, default_flow_style=False, allow_unicode=True)


def ensure_ours(path: Path) -> None:
    if path.exists() and km.MARKER not in path.read_text(encoding="utf-8", errors="replace")[:400]:
        raise ConfigError(f"{path} has no '{km.MARKER}' line: it was edited by hand, so fldeploy leaves it alone",
                          f"make your changes in an overlay that lists {path.parent} under resources, then delete "
                          f"{path} to let fldeploy render it again (or render elsewhere with --out)",
                          code="render.hand_edited")


def write_base(out_dir: Path, spec: km.KubeSpec, settings) -> dict:
    """Write the base's files where they changed (secrets.env 0600, atomically); drop the component files of
    ours this spec no longer has (e.g. postgres.yaml once database_url is set)."""
    from ..stack.files import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    env_path = out_dir / km.SECRET_ENV
    ensure_ours(env_path)
    values = secret_values(env_path, settings)
    env_text = km.secret_env_text(values, __version__)
    data = "\n".join(f"{k}={v}" for k, v in sorted(values.items()))  # the data kustomize hashes: no comments
    spec = dataclasses.replace(spec, secrets_digest=hashlib.sha256(data.encode()).hexdigest())
    objects = km.kube_objects(spec)
    texts = {name: yaml_text(docs) for name, docs in objects.items()}
    texts[km.KUSTOMIZATION] = yaml_text([km.kustomization(list(objects))])
    stale = [out_dir / n for n in km.COMPONENT_FILES if n not in objects and (out_dir / n).exists()]
    for path in [*(out_dir / n for n in texts), *stale]:
        ensure_ours(path)
    files = [(out_dir / n, text, 0o644) for n, text in texts.items()] + [(env_path, env_text, 0o600)]
    written = []
    for path, text, mode in files:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text, mode)
            written.append(path.name)
        elif path == env_path and os.stat(path).st_mode & 0o777 != mode:
            os.chmod(path, mode)  # e.g. secrets.env copied as 0644: secrets are 0600, always
    for path in stale:
        path.unlink()
    return {"dir": str(out_dir), "written": written, "removed": [p.name for p in stale],
            "files": [km.KUSTOMIZATION, *objects, km.SECRET_ENV], "secret_file": str(env_path)}
