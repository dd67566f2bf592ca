"""fldeploy.yaml: where it is found, how much of it is read, and its one YAML reader (flat 'name: value' settings,
each value checked against its Spec; anything YAML could do beyond that is refused with file and line)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .settings import CONFIG_NAME, MAX_CONFIG_BYTES, MAX_YAML_DEPTH, SPEC_BY_NAME, Spec, user_dir

_YAML_TAGS = {"tag:yaml.org,2002:" + t: t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_READ_AS = {"int": "a number", "float": "a number", "bool": "true/false", "timestamp": "a date"}


def _yaml_loader():
    """SafeLoader that refuses anchors and aliases (an alias bomb expands a few lines into gigabytes) and
    nesting deeper than any setting needs (deep nesting exhausts the recursive composer)."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _Refused(event.start_mark, "YAML anchors and aliases (&name, *name) are not allowed",
                               "write each value out in full")
            if self.depth >= MAX_YAML_DEPTH:
                raise _Refused(event.start_mark, f"nested more than {MAX_YAML_DEPTH} levels deep",
                               "write settings as flat 'name: value' lines")
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader


class _Refused(Exception):
    def __init__(self, mark, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.mark, self.problem, self.fix = mark, problem, fix


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1


def parse_config(text: str, path: str) -> dict[str, tuple[Any, int]]:
    """Parse fldeploy.yaml into {key: (value, line)}; bad YAML, YAML features settings do not need (anchors,
    aliases, tags, nesting), unknown or repeated keys and unquoted non-strings for string settings raise
    ConfigError naming file and line."""
    import yaml

    loader = None
    try:
        loader = _yaml_loader()(text)  # its reader refuses characters YAML does not allow
        root = loader.get_single_node()
        out: dict[str, tuple[Any, int]] = {}
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
            return out  # empty, or only comments
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{path}:{root.start_mark.line + 1}: the config must be a mapping of settings",
                              "write settings as 'name: value' lines; see 'fldeploy config'")
        for key_node, value_node in root.value:
            line = key_node.start_mark.line + 1
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in SPEC_BY_NAME:
                shown_key = repr(key) if key is not None else f"a {key_node.id} used as a key"
                raise ConfigError(f"{path}:{line}: unknown setting {shown_key}",
                                  f"remove it or use one of: {', '.join(SPEC_BY_NAME)}", code="config.unknown_key")
            if key in out:
                raise ConfigError(f"{path}:{line}: {key} is set twice (first on line {out[key][1]})",
                                  f"keep one {key} line in {path}", code="config.duplicate_key")
            out[key] = (_scalar_value(loader, SPEC_BY_NAME[key], value_node, f"{path}:{line}"), line)
        return out
    except _Refused as bad:
        raise ConfigError(f"{path}:{bad.mark.line + 1}: {bad.problem}", f"{bad.fix} ({path}:{bad.mark.line + 1})",
                          code="config.yaml") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        position = getattr(e, "position", None)  # a ReaderError: a character YAML does not allow
        line = f":{mark.line + 1}" if mark else f":{_line_of(text, position)}" if position is not None else ""
        problem = getattr(e, "problem", None) or getattr(e, "reason", None) or str(e)
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}",
                          f"fix the YAML syntax in {path}{line}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply", "write settings as flat 'name: value' lines") from None
    finally:
        if loader is not None:
            loader.dispose()


def _scalar_value(loader, spec: Spec, node, where: str) -> Any:
    """The value of one setting's node; YAML 1.1 typing (0123 -> 83, yes -> True, 1:30 -> 90) is refused where
    it would change what the user wrote."""
    import yaml

    standard = {yaml.ScalarNode: _YAML_TAGS, yaml.SequenceNode: {"tag:yaml.org,2002:seq": "seq"},
                yaml.MappingNode: {"tag:yaml.org,2002:map": "map"}}[type(node)]
    if node.tag not in standard:
        raise ConfigError(f"{where}: {spec.name} has the YAML tag {node.tag!r}, which settings do not use",
                          f"remove the tag (write '{spec.name}: value')", code="config.yaml")
    if isinstance(node, yaml.SequenceNode) and spec.joins_list:  # a list of strings, joined with ','
        if any(not isinstance(item, yaml.ScalarNode) for item in node.value):
            raise ConfigError(f"{where}: {spec.name} must be a list of strings (name=URL items)",
                              "write one item per line: '- lab=http://10.0.0.5:5273'", code="config.invalid")
        items = [_scalar_value(loader, spec, item, where) for item in node.value]
        return ",".join(str(item) for item in items if item is not None)
    if not isinstance(node, yaml.ScalarNode):  # never constructed: no other setting is a list or a mapping
        kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        raise ConfigError(f"{where}: {spec.name} must be {spec.kind.__name__}, got a YAML {kind}",
                          f"set {spec.name} to one {spec.kind.__name__} value ('{spec.name}: value')")
    tag = _YAML_TAGS[node.tag]
    if spec.kind is str and tag not in ("str", "null"):
        value = "..." if spec.secret else node.value
        raise ConfigError(f"{where}: {spec.name} must be a string, but YAML reads the unquoted "
                          f"{'value' if spec.secret else repr(node.value)} as {_READ_AS[tag]}",
                          f"quote it: {spec.name}: '{value}'", code="config.not_a_string")
    if spec.kind is not str and tag == "timestamp":  # constructing it could even fail (2001-02-30)
        raise ConfigError(f"{where}: {spec.name} must be {spec.kind.__name__}, got the date {node.value!r}",
                          f"set {spec.name} to a {spec.kind.__name__} value")
    if spec.kind is int and tag == "int" and not _DECIMAL.fullmatch(node.value.strip()):
        raise ConfigError(f"{where}: {spec.name} is written {node.value!r}, which YAML reads as "
                          f"{loader.construct_object(node)!r}", f"write {spec.name} in plain decimal digits",
                          code="config.not_decimal")
    if tag in ("int", "float") and len(node.value) > 64:  # no setting needs it; Python's int() refuses 4301 digits
        raise ConfigError(f"{where}: {spec.name} is a number {len(node.value)} characters long",
                          f"set {spec.name} to a value in its range", code="config.invalid")
    return loader.construct_object(node)


def find_config_file(cwd: Path, env: Mapping[str, str]) -> Path | None:
    explicit = env.get("FLDEPLOY_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"FLDEPLOY_CONFIG names {explicit}, which does not exist",
                              "point FLDEPLOY_CONFIG at an existing fldeploy.yaml or unset it")
        return path
    local = cwd / CONFIG_NAME
    if local.is_file():
        return local
    user = Path(user_dir("config")) / CONFIG_NAME
    return user if user.is_file() else None


def read_config_text(path: Path) -> str:
    """The text of a settings file: at most MAX_CONFIG_BYTES, UTF-8; else ConfigError naming file and line."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror}", f"make {path} readable, or remove it") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, which no settings file needs",
                          f"keep only 'name: value' lines in {path} (see 'fldeploy config')", code="config.too_big")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x})",
                          f"save {path} as UTF-8 (e.g. iconv -f latin1 -t utf-8)", code="config.encoding") from None
