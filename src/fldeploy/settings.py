"""Effective settings: flag > environment > config file > default, each value with its source."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

from .core import validate as v
from .errors import ConfigError

CONFIG_NAME = "fldeploy.yaml"
MASK = "********"
MAX_CONFIG_BYTES = 64 * 1024  # a settings file is a few lines; anything bigger is a mistake or an attack
MAX_YAML_DEPTH = 8  # settings are flat: 'name: value'


class Spec(NamedTuple):
    name: str
    kind: type
    default: Any
    help: str
    env: tuple[str, ...] = ()
    secret: bool = False
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    check: Callable[[str], None] | None = None  # a rule of core/validate.py; every str also gets v.text

    @property
    def nullable(self) -> bool:
        return self.default is None

    @property
    def env_names(self) -> tuple[str, ...]:
        return ("FLDEPLOY_" + self.name.upper(),) + self.env


_XDG = {"state": ("XDG_STATE_HOME", ".local/state"), "cache": ("XDG_CACHE_HOME", ".cache"),
        "data": ("XDG_DATA_HOME", ".local/share"), "config": ("XDG_CONFIG_HOME", ".config")}


def user_dir(kind: str) -> str:
    """fldeploy's user folder of a kind (state, cache, data, config): the XDG rule on Linux, read directly
    because `fldeploy ports` must start fast; platformdirs elsewhere."""
    if sys.platform.startswith("linux"):
        variable, fallback = _XDG[kind]
        return os.path.join(os.environ.get(variable) or os.path.join(os.path.expanduser("~"), fallback), "fldeploy")
    import platformdirs
    return str(getattr(platformdirs, f"user_{kind}_dir")("fldeploy"))


def _user_dir(kind: str, sub: str = "") -> Callable[[], str]:
    def default() -> str:
        return os.path.join(user_dir(kind), sub).rstrip(os.sep)
    return default


SPECS: tuple[Spec, ...] = (
    Spec("foundry_url", str, None, "Foundry Local base URL; skips discovery (e.g. http://127.0.0.1:5273)",
         env=("BASE_URL",), check=v.base_url),
    Spec("model", str, None, "model alias or id to use (default: the first model Foundry has loaded)",
         env=("MODEL",)),
    Spec("api_key", str, "foundry-local", "API key sent to Foundry (Foundry ignores it; clients need one)",
         env=("API_KEY",), secret=True, check=v.nonempty),
    Spec("openwebui_port", int, 3000, "host port of Open WebUI", bounds=(1, 65535)),
    Spec("chainlit_port", int, 8080, "host port of the Chainlit app", bounds=(1, 65535)),
    Spec("webgpu_demo_port", int, 8090, "host port of the in-browser inference demo", bounds=(1, 65535)),
    Spec("project", str, "fldeploy", "Docker Compose project name of the stack", check=v.project_name),
    Spec("foundry_port", int, 0, "port of the embedded Foundry (0: 5273 if free, else the nearest free one)",
         bounds=(0, 65535)),
    Spec("foundry_bind", str, "docker", "embedded Foundry listens on: docker (loopback + Docker bridge "
         "gateway), loopback, or all", choices=("docker", "loopback", "all")),
    Spec("model_cache_dir", str, _user_dir("cache", "models"), "where the embedded Foundry keeps models",
         check=v.nonempty),
    Spec("catalog_url", str, None, "model catalog URL for the embedded Foundry (private mirror)",
         check=v.http_url),
    Spec("state_dir", str, _user_dir("state"), "pid files and logs of processes fldeploy starts", check=v.nonempty),
    Spec("stack_dir", str, _user_dir("data", "stack"), "where render/up write compose.yaml and .env",
         check=v.nonempty),
    Spec("services", str, "open-webui,chainlit", "services to deploy (comma-separated: open-webui, chainlit, "
         "webgpu-demo)", check=v.services),
    Spec("openwebui_image", str, "ghcr.io/open-webui/open-webui:v0.12.4", "Open WebUI image (pinned)",
         check=v.image_reference),
    Spec("chainlit_image", str, "fldeploy/chainlit:0.1.0", "Chainlit app image (built from deploy/chainlit)",
         check=v.image_reference),
    Spec("webgpu_demo_image", str, "fldeploy/webgpu-demo:0.1.0", "in-browser demo image (built from deploy/)",
         check=v.image_reference),
    Spec("relay_image", str, "alpine/socat:1.8.0.3", "socat image of the loopback relay", check=v.image_reference),
    Spec("relay_port", int, 5273, "port the relay listens on at the Docker bridge gateway", bounds=(1, 65535)),
    Spec("target", str, "compose", "where the stack runs: compose (one host), swarm (Docker Swarm, Open WebUI "
         "replicas on PostgreSQL and Redis) or kubernetes (render only: a kustomize base)",
         choices=("compose", "swarm", "kubernetes")),
    Spec("replicas", int, 1, "Open WebUI replicas for --target swarm/kubernetes", bounds=(1, 32)),
    Spec("volume", str, "open-webui-data", "Docker volume holding Open WebUI's data", check=v.volume_name),
    Spec("admin_email", str, "admin@fldeploy.local", "Open WebUI admin account fldeploy creates", check=v.email),
    Spec("build_local", bool, False, "build every image locally instead of pulling (air-gapped hosts)"),
    Spec("base_image", str, None, "BASE_IMAGE for local builds (default: each Dockerfile's own)",
         check=v.image_reference),
    Spec("public", bool, False, "publish the front ends on all interfaces instead of 127.0.0.1"),
    Spec("wait_timeout", float, 600.0, "seconds `up` waits for the stack to be healthy", bounds=(1, 7200)),
    Spec("http_timeout", float, 2.0, "seconds to wait for one HTTP answer from Foundry", bounds=(0.1, 600)),
    Spec("check_timeout", float, 2.5, "seconds one doctor check may take", bounds=(0.1, 600)),
    Spec("cli_timeout", float, 20.0, "seconds the foundry CLI may take to answer; waited for only when no other "
         "source found Foundry", bounds=(0.1, 600)),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}


class Value(NamedTuple):
    value: Any
    source: str


class Settings:
    """Read-only view of the effective settings: ``settings.openwebui_port``, ``settings.source(name)``."""

    def __init__(self, values: Mapping[str, Value], config_file: str | None = None,
                 flags: Mapping[str, Any] | None = None) -> None:
        self._values = dict(values)
        self.config_file = config_file
        self.flags = dict(flags or {})

    def reload(self) -> "Settings":
        """The settings again, with the same flags: after fldeploy saved something to fldeploy.yaml."""
        return load(self.flags)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(name) from None
        if callable(value.value):  # a default computed on first use (platformdirs costs start-up time)
            value = self._values[name] = Value(value.value(), value.source)
        return value.value

    def source(self, name: str) -> str:
        return self._values[name].source

    def is_default(self, name: str) -> bool:
        return self._values[name].source == "default"

    def describe(self) -> list[dict]:
        rows = []
        for spec in SPECS:
            value = getattr(self, spec.name)  # computes a lazy default
            shown = MASK if spec.secret and value else value
            rows.append({"name": spec.name, "value": shown, "source": self.source(spec.name), "help": spec.help,
                         "env": spec.env_names[0]})
        return rows


def shown(spec: Spec, raw: Any) -> str:
    """A value as error messages show it: secrets never, anything else shortened."""
    if spec.secret:
        return "(hidden: a secret)"
    text = repr(raw)
    return text if len(text) <= 80 else text[:70] + "..."


def coerce(spec: Spec, raw: Any, where: str) -> Any:
    """Turn a raw flag/env/config value into the spec's type and check it against the spec's rule, or raise
    ConfigError naming where it came from (flag, env variable, file:line) and the fix."""
    if raw is None:
        if spec.nullable:
            return None
        default = "" if callable(spec.default) else f" ({spec.default})"
        raise ConfigError(f"{where}: {spec.name} has no value (YAML null)",
                          f"remove the {spec.name} line to use the default{default}, or give it a value")
    try:
        if isinstance(raw, bool) and spec.kind in (int, float):
            raise ValueError
        if spec.kind is bool:
            value: Any = _to_bool(raw)
        elif spec.kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            value = int(raw)
        elif spec.kind is float:
            value = float(raw)
        elif isinstance(raw, str):
            value = raw
        elif isinstance(raw, (dict, list, tuple, set)):
            raise ValueError
        else:  # a YAML number, boolean or date where text belongs: the file meant a string
            raise ConfigError(f"{where}: {spec.name} must be a string, got {type(raw).__name__} "
                              f"{shown(spec, raw)}", f"quote it: {spec.name}: '{'...' if spec.secret else raw}'",
                              code="config.not_a_string")
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{where}: {spec.name} must be {spec.kind.__name__}, got {shown(spec, raw)}",
                          f"set {spec.name} to a {spec.kind.__name__} value") from None
    if spec.bounds and not spec.bounds[0] <= value <= spec.bounds[1]:
        low, high = spec.bounds
        raise ConfigError(f"{where}: {spec.name} must be between {low:g} and {high:g}, got {value!r}",
                          f"set {spec.name} to a value from {low:g} to {high:g}")
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"{where}: {spec.name} must be one of {', '.join(spec.choices)}, got {shown(spec, value)}",
                          f"set {spec.name} to one of {', '.join(spec.choices)}")
    if isinstance(value, str):
        if value == "" and spec.nullable:
            return None  # an empty optional setting is unset, as an empty environment variable is
        try:
            v.text(value)
            if spec.check:
                spec.check(value)
        except v.Invalid as bad:
            got = "" if spec.secret else f", got {shown(spec, value)}"
            raise ConfigError(f"{where}: {spec.name} {bad.problem}{got}", f"{bad.fix} (in {where})",
                              code="config.invalid") from None
    return value


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


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
    if not isinstance(node, yaml.ScalarNode):  # never constructed: no setting is a list or a mapping
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


def resolve(flags: Mapping[str, Any], env: Mapping[str, str],
            config: Mapping[str, tuple[Any, int]], config_path: str | None) -> Settings:
    """Pure precedence rule: flag > environment > config file > default."""
    values: dict[str, Value] = {}
    for spec in SPECS:
        if flags.get(spec.name) is not None:
            values[spec.name] = Value(coerce(spec, flags[spec.name], "--" + spec.name.replace("_", "-")),
                                      "flag")
            continue
        env_name = next((n for n in spec.env_names if env.get(n)), None)
        if env_name:
            values[spec.name] = Value(coerce(spec, env[env_name], env_name), f"env:{env_name}")
        elif spec.name in config:
            raw, line = config[spec.name]
            where = f"{config_path}:{line}"
            values[spec.name] = Value(coerce(spec, raw, where), f"config:{where}")
        else:
            values[spec.name] = Value(spec.default, "default")
    return Settings(values, config_path, flags)


def load(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> Settings:
    env = os.environ if env is None else env
    path = find_config_file(cwd or Path.cwd(), env)
    config: dict[str, tuple[Any, int]] = {}
    if path is not None:
        from .adapters.parsed_cache import parsed

        config = parsed(path, lambda: parse_config(read_config_text(path), str(path)),
                        os.path.join(user_dir("cache"), "settings-parsed.json"))
    return resolve(flags or {}, env, config, str(path) if path else None)
