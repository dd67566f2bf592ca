"""`fldeploy render`: the compose model for the current Foundry, written as compose.yaml + .env."""
from __future__ import annotations

from pathlib import Path

from ..errors import FldeployError
from ..result import Result
from ..services.targets import other_target
from ..services.rendering import plan


def run(settings, out: str | None) -> Result:
    if target := other_target(settings):
        return target.render(settings, out)
    from ..core.redact import mask_data, mask_text
    from ..stack import files

    out_dir = Path(out or settings.stack_dir)
    try:
        doc, facts, route, notes = plan(settings, out_dir)
    except FldeployError as err:  # shown to the user: a URL's credentials masked
        err.message, err.fix = mask_text(err.message), mask_text(err.fix)
        raise
    written = files.write_stack(out_dir, doc, settings.api_key)
    data = {**written, "services": list(doc["services"]), "foundry_url": facts.url,
            "container_url": route.url, "route": route.reason, "relay": route.relay, "model_id": facts.model_id,
            "notes": notes}
    return Result("render", mask_data(data))  # compose.yaml keeps the real URL; what is shown is masked
