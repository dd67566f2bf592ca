"""Effective settings: flag > environment > config file > default, each value with its source."""
from __future__ import annotations

import os
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
    joins_list: bool = False  # a YAML list (or several flags) is taken as its items joined with ','

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
    Spec("foundry_urls", str, None, "several Foundry hosts, comma-separated, each optionally named "
         "(lab=http://10.0.0.5:5273): one Open WebUI connection per host, its name the models' prefix",
         check=v.foundry_urls, joins_list=True),
    Spec("balance", bool, False, "with several Foundry hosts: one model served by several hosts appears once and "
         "its chats are spread over them (an nginx balancer)"),
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
    Spec("database_url", str, None, "--target kubernetes: an external PostgreSQL with pgvector for Open WebUI "
         "(postgresql://USER:PASSWORD@HOST:5432/DB; default: a PostgreSQL StatefulSet in the cluster)", secret=True,
         check=v.postgres_url),
    Spec("redis_url", str, None, "--target kubernetes: an external Redis for Open WebUI's websockets "
         "(redis://:PASSWORD@HOST:6379/0; default: a Redis StatefulSet in the cluster)", secret=True,
         check=v.redis_url),
    Spec("ingress_host", str, None, "--target kubernetes: host name of an Ingress to Open WebUI (default: none)",
         check=v.dns_name),
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

    def but(self, **changes: Any) -> "Settings":
        """These settings with some values replaced (e.g. one Foundry host's URL as foundry_url)."""
        values = {**self._values, **{k: Value(v, "derived") for k, v in changes.items()}}
        return Settings(values, self.config_file, self.flags)

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
        elif spec.joins_list and isinstance(raw, (list, tuple)) and all(isinstance(i, str) for i in raw):
            value = ",".join(raw)
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


def parse_config(text: str, path: str) -> dict[str, tuple[Any, int]]:
    """fldeploy.yaml parsed by its one reader (config_file.py): {setting: (value, line)} or ConfigError."""
    from .config_file import parse_config as parse

    return parse(text, path)


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
    from .config_file import find_config_file

    path = find_config_file(cwd or Path.cwd(), env)
    config: dict[str, tuple[Any, int]] = {}
    if path is not None:
        from .adapters.parsed_cache import parsed

        from . import __version__

        from .config_file import read_config_text

        config = parsed(path, lambda: parse_config(read_config_text(path), str(path)),
                        os.path.join(user_dir("cache"), "settings-parsed.json"),
                        f"{__version__}:{os.stat(__file__).st_mtime_ns}")  # this reader's version, as installed
    return resolve(flags or {}, env, config, str(path) if path else None)
