"""Where a stack runs besides one Compose host: each other target is one object with a method per verb
(render, up, down, status, logs). Verbs ask `other_target(settings)` once; None means Compose on this host."""
from __future__ import annotations

from typing import Any, Protocol

from ..errors import ExitCode, FldeployError
from ..result import Result


class Target(Protocol):
    name: str

    def render(self, settings: Any, out: str | None) -> Result: ...

    def up(self, settings: Any, progress: Any, build: bool, init_swarm: bool) -> Result: ...

    def down(self, settings: Any, volumes: bool, confirmed: bool, interactive: bool, ask: Any) -> Result: ...

    def status(self, settings: Any) -> Result: ...

    def logs(self, settings: Any, service: str | None, follow: bool, tail: int) -> Result: ...


def other_target(settings: Any) -> Target | None:
    """The target object for settings.target, or None for compose (the verbs' own code)."""
    if settings.target == "swarm":
        from .swarm_target import SwarmTarget
        return SwarmTarget()
    if settings.target == "kubernetes":
        from .kube_target import KubernetesTarget
        return KubernetesTarget()
    return None


def render_only(target: str, verb: str) -> FldeployError:
    """What a verb says for a target fldeploy only renders files for."""
    return FldeployError(f"`fldeploy {verb}` does not run against --target {target}: fldeploy renders its files, "
                         "the cluster's own tools apply them",
                         f"fldeploy render --target {target} --out DIR, then: kubectl apply -k DIR",
                         ExitCode.USAGE, f"{target}.render_only")
