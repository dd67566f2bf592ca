"""The files in the repository's compose/ folder: what `fldeploy render` writes with default settings for a
Foundry on http://127.0.0.1:5273 serving phi-4-mini. Regenerate: python -m fldeploy.stack.golden compose/"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import __version__, settings
from ..core.compose_model import compose_document, dotenv_text
from ..core.stack_plan import FoundryFacts, container_route, stack_spec
from . import assets, files

FACTS = FoundryFacts(url="http://127.0.0.1:5273", model_id="Phi-4-mini-instruct-generic-cpu:5",
                     bind_addresses=("127.0.0.1", "172.17.0.1"), gateway="172.17.0.1")
EXAMPLE_SECRETS = {"WEBUI_SECRET_KEY": "change-me-to-64-hex-characters",
                   "OPENWEBUI_ADMIN_PASSWORD": "change-me", "FOUNDRY_API_KEY": "foundry-local"}


def golden_files(out_dir: Path) -> dict[str, str]:
    defaults = settings.resolve({}, {}, {}, None)
    route = container_route(FACTS, defaults.relay_port)
    spec = stack_spec(defaults, FACTS, route, assets.build_contexts(out_dir), "/etc/ssl/certs/ca-certificates.crt")
    return {files.COMPOSE_FILE: files.compose_text(compose_document(spec)),
            ".env.example": dotenv_text(EXAMPLE_SECRETS, __version__)}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "compose")
    for name, text in golden_files(target).items():
        (target / name).write_text(text)
        print(f"wrote {target / name}")
