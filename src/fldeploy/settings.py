"""Effective settings: flag > environment > config file > default, each value with its source."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError

CONFIG_NAME = "fldeploy.yaml"
MASK = "********"


@dataclass(frozen=True)
class Spec:
    name: str
    kind: type
    default: Any
    help: str
    env: tuple[str, ...] = ()
    secret: bool = False
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None

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
         env=("BASE_URL",)),
    Spec("model", str, None, "model alias or id to use (default: the first model Foundry has loaded)",
         env=("MODEL",)),
    Spec("api_key", str, "foundry-local", "API key sent to Foundry (Foundry ignores it; clients need one)",
         env=("API_KEY",), secret=True),
    Spec("openwebui_port", int, 3000, "host port of Open WebUI", bounds=(1, 65535)),
    Spec("chainlit_port", int, 8080, "host port of the Chainlit app", bounds=(1, 65535)),
    Spec("webgpu_demo_port", int, 8090, "host port of the in-browser inference demo", bounds=(1, 65535)),
    Spec("project", str, "fldeploy", "Docker Compose project name of the stack"),
    Spec("foundry_port", int, 0, "port of the embedded Foundry (0: 5273 if free, else the nearest free one)",
         bounds=(0, 65535)),
    Spec("foundry_bind", str, "docker", "embedded Foundry listens on: docker (loopback + Docker bridge "
         "gateway), loopback, or all", choices=("docker", "loopback", "all")),
    Spec("model_cache_dir", str, _user_dir("cache", "models"), "where the embedded Foundry keeps models"),
    Spec("catalog_url", str, None, "model catalog URL for the embedded Foundry (private mirror)"),
    Spec("state_dir", str, _user_dir("state"), "pid files and logs of processes fldeploy starts"),
    Spec("stack_dir", str, _user_dir("data", "stack"), "where render/up write compose.yaml and .env"),
    Spec("services", str, "open-webui,chainlit", "services to deploy (comma-separated: open-webui, chainlit, "
         "webgpu-demo)"),
    Spec("openwebui_image", str, "ghcr.io/open-webui/open-webui:v0.12.4", "Open WebUI image (pinned)"),
    Spec("chainlit_image", str, "fldeploy/chainlit:0.1.0", "Chainlit app image (built from deploy/chainlit)"),
    Spec("webgpu_demo_image", str, "fldeploy/webgpu-demo:0.1.0", "in-browser demo image (built from deploy/)"),
    Spec("relay_image", str, "alpine/socat:1.8.0.3", "socat image of the loopback relay"),
    Spec("relay_port", int, 5273, "port the relay listens on at the Docker bridge gateway", bounds=(1, 65535)),
    Spec("volume", str, "open-webui-data", "Docker volume holding Open WebUI's data"),
    Spec("admin_email", str, "admin@fldeploy.local", "Open WebUI admin account fldeploy creates"),
    Spec("build_local", bool, False, "build every image locally instead of pulling (air-gapped hosts)"),
    Spec("base_image", str, None, "BASE_IMAGE for local builds (default: each Dockerfile's own)"),
    Spec("public", bool, False, "publish the front ends on all interfaces instead of 127.0.0.1"),
    Spec("wait_timeout", float, 600.0, "seconds `up` waits for the stack to be healthy", bounds=(1, 7200)),
    Spec("http_timeout", float, 2.0, "seconds to wait for one HTTP answer from Foundry", bounds=(0.1, 600)),
    Spec("check_timeout", float, 2.5, "seconds one doctor check may take", bounds=(0.1, 600)),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Value:
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


def coerce(spec: Spec, raw: Any, where: str) -> Any:
    """Turn a raw flag/env/config value into the spec's type, or raise ConfigError naming where."""
    if raw is None:
        return None
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
        else:
            if isinstance(raw, (dict, list)):
                raise ValueError
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {spec.name} must be {spec.kind.__name__}, got {raw!r}",
                          f"set {spec.name} to a {spec.kind.__name__} value") from None
    if spec.bounds and not spec.bounds[0] <= value <= spec.bounds[1]:
        low, high = spec.bounds
        raise ConfigError(f"{where}: {spec.name} must be between {low:g} and {high:g}, got {value!r}",
                          f"set {spec.name} to a value from {low:g} to {high:g}")
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"{where}: {spec.name} must be one of {', '.join(spec.choices)}, got {value!r}",
                          f"set {spec.name} to one of {', '.join(spec.choices)}")
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


def parse_config(text: str, path: str) -> dict[str, tuple[Any, int]]:
    """Parse fldeploy.yaml into {key: (value, line)}; unknown keys and bad YAML raise ConfigError."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}",
                          f"fix the YAML syntax in {path}{line}") from None
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return {}  # empty, or only comments
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: the config must be a mapping of settings",
                          "write settings as 'name: value' lines; see 'fldeploy config'")
    out: dict[str, tuple[Any, int]] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = key_node.value
        if key not in SPEC_BY_NAME:
            raise ConfigError(f"{path}:{line}: unknown setting {key!r}",
                              f"remove it or use one of: {', '.join(SPEC_BY_NAME)}", code="config.unknown_key")
        out[key] = (yaml.safe_load(yaml.serialize(value_node)), line)
    return out


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
        config = parse_config(path.read_text(encoding="utf-8"), str(path))
    return resolve(flags or {}, env, config, str(path) if path else None)
