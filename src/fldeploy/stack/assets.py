"""Where the local build contexts (deploy/) and the host's CA bundle are."""
from __future__ import annotations

import os
from pathlib import Path

import fldeploy

# Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
              "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")
CONTEXTS = {"open-webui": "open-webui", "chainlit": "chainlit", "foundry-relay": "relay",
            "webgpu-demo": "webgpu-demo", "foundry-balancer": "nginx"}


def deploy_dir() -> Path | None:
    explicit = os.environ.get("FLDEPLOY_DEPLOY_DIR")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(Path(fldeploy.__file__).resolve().parents[2] / "deploy")  # a source checkout
    return next((c for c in candidates if (c / "chainlit" / "Dockerfile").is_file()), None)


def build_contexts(out_dir: Path) -> dict[str, str]:
    """service -> build context: relative inside the source checkout (as compose/ there), else absolute."""
    root = deploy_dir()
    if root is None:
        return {}
    inside = out_dir.resolve().is_relative_to(root.parent)
    return {service: os.path.relpath(root / sub, out_dir.resolve()) if inside else str(root / sub)
            for service, sub in CONTEXTS.items()}


def host_ca_file() -> str | None:
    return next((p for p in CA_BUNDLES if os.path.isfile(p)), None)


NPM_INSTALL = {"linux": "`sudo apt-get install npm`", "macos": "`brew install node`",
               "windows": "`winget install OpenJS.NodeJS.LTS`"}


def vendor_webgpu_runtime() -> None:
    """ONNX Runtime Web must be in the demo's build context before Compose builds it (npm pack, pinned)."""
    import sys

    from ..adapters import platform, proc
    from ..errors import ExitCode, FldeployError

    root = deploy_dir()
    if root is None:
        return
    done = proc.run([sys.executable, str(root / "webgpu-demo" / "vendor_ort.py")], 600)
    if not done.ok:
        why = "python missing" if done.missing else "timed out" if done.timed_out else done.stderr.strip()[-200:]
        raise FldeployError(f"cannot vendor ONNX Runtime Web for the in-browser demo: {why}",
                            f"install npm ({NPM_INSTALL[platform.kind()]}) and run `fldeploy up` again",
                            ExitCode.UNREACHABLE, "webgpu_demo.vendor")
