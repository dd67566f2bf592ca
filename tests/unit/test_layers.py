"""The house rules, read from the source: one module per verb and no verb imports another; arrows point one
way (cli -> commands -> services -> core/adapters); the core imports no effects."""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "src" / "fldeploy"
# what each layer may not import (by top-level package under fldeploy)
FORBIDDEN = {"commands": {"commands", "cli"}, "services": {"commands", "cli", "output"},
             "checks": {"commands", "cli", "output", "services"},
             "core": {"commands", "cli", "output", "services", "adapters", "stack", "foundry", "checks"},
             "adapters": {"commands", "cli", "services", "checks", "output"}}


def _imports(path: pathlib.Path) -> list[str]:
    """Every fldeploy module path imported by path, resolved from relative imports."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level]
                target = base + (node.module.split(".") if node.module else [])
                names = [".".join(target + [a.name]) for a in node.names] if not node.module else [".".join(target)]
                found += names
            elif node.module and node.module.startswith("fldeploy"):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("fldeploy")]
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer):
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in _imports(path):
            pieces = module.split(".")
            if len(pieces) > 1 and pieces[1] in FORBIDDEN[layer]:
                if layer == "commands" and pieces[1] == "commands" and len(pieces) == 2:
                    continue  # `from . import x` is resolved per name below
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert wrong == []


def test_no_verb_imports_another():
    verbs = {p.stem for p in (PACKAGE / "commands").glob("*.py") if p.stem != "__init__"}
    for path in (PACKAGE / "commands").glob("*.py"):
        imported = {m.split(".")[2] for m in _imports(path) if m.startswith("fldeploy.commands.")}
        assert not imported & verbs, f"{path.name} imports the verb(s) {sorted(imported & verbs)}"
