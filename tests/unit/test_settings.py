"""Effective settings: precedence, reported sources, coercion errors, fldeploy.yaml parsing, load()."""
from __future__ import annotations

import pytest

from fldeploy import settings as s
from fldeploy.errors import ConfigError, ExitCode

pytestmark = pytest.mark.unit

CFG = "/home/u/proj/fldeploy.yaml"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Defaults computed by platformdirs and the user config dir point into tmp_path, never at $HOME."""
    for var, sub in (("XDG_CONFIG_HOME", "xdg-config"), ("XDG_CACHE_HOME", "xdg-cache"),
                     ("XDG_STATE_HOME", "xdg-state")):
        monkeypatch.setenv(var, str(tmp_path / sub))


def test_precedence_flag_over_env_over_config_over_default():
    config = {"openwebui_port": (3100, 2), "chainlit_port": (8100, 3), "project": ("stack", 4)}
    env = {"FLDEPLOY_OPENWEBUI_PORT": "3200", "FLDEPLOY_CHAINLIT_PORT": "8200"}
    got = s.resolve({"openwebui_port": 3300}, env, config, CFG)
    assert (got.openwebui_port, got.source("openwebui_port")) == (3300, "flag")
    assert (got.chainlit_port, got.source("chainlit_port")) == (8200, "env:FLDEPLOY_CHAINLIT_PORT")
    assert (got.project, got.source("project")) == ("stack", f"config:{CFG}:4")
    assert (got.foundry_bind, got.source("foundry_bind")) == ("docker", "default")
    assert got.is_default("foundry_bind") and not got.is_default("project")
    assert got.config_file == CFG


@pytest.mark.parametrize("name, seed_env, value", [
    ("foundry_url", "BASE_URL", "http://127.0.0.1:5273"),
    ("model", "MODEL", "phi-4-mini"),
    ("api_key", "API_KEY", "sk-local"),
])
def test_seed_env_names_are_read_but_fldeploy_names_win(name, seed_env, value):
    got = s.resolve({}, {seed_env: value}, {}, None)
    assert (getattr(got, name), got.source(name)) == (value, f"env:{seed_env}")
    both = s.resolve({}, {seed_env: value, "FLDEPLOY_" + name.upper(): "preferred"}, {}, None)
    assert (getattr(both, name), both.source(name)) == ("preferred", "env:FLDEPLOY_" + name.upper())


def test_empty_env_and_none_flags_fall_through():
    got = s.resolve({"model": None}, {"FLDEPLOY_MODEL": "", "MODEL": ""}, {"model": ("tiny-llama", 1)}, CFG)
    assert (got.model, got.source("model")) == ("tiny-llama", f"config:{CFG}:1")


def test_defaults_and_types():
    got = s.resolve({}, {}, {}, None)
    assert (got.openwebui_port, got.chainlit_port, got.api_key) == (3000, 8080, "foundry-local")
    assert got.foundry_url is None and got.http_timeout == 2.0
    assert got.source("api_key") == "default"
    with pytest.raises(AttributeError):
        got.no_such_setting


def test_env_strings_are_coerced():
    got = s.resolve({}, {"FLDEPLOY_HTTP_TIMEOUT": "0.5", "FLDEPLOY_FOUNDRY_PORT": "5280"}, {}, None)
    assert got.http_timeout == 0.5 and got.foundry_port == 5280


@pytest.mark.parametrize("flags, env, config, where", [
    ({"openwebui_port": "abc"}, {}, {}, "--openwebui-port: openwebui_port must be int, got 'abc'"),
    ({}, {"FLDEPLOY_CHAINLIT_PORT": "80a"}, {}, "FLDEPLOY_CHAINLIT_PORT: chainlit_port must be int"),
    ({}, {}, {"http_timeout": ("fast", 7)}, f"{CFG}:7: http_timeout must be float, got 'fast'"),
    ({}, {}, {"openwebui_port": (True, 3)}, f"{CFG}:3: openwebui_port must be int, got True"),
    ({}, {}, {"model": (["a", "b"], 5)}, f"{CFG}:5: model must be str"),
    ({}, {"FLDEPLOY_FOUNDRY_BIND": "everything"}, {},
     "FLDEPLOY_FOUNDRY_BIND: foundry_bind must be one of docker, loopback, all, got 'everything'"),
])
def test_coercion_errors_name_where(flags, env, config, where):
    with pytest.raises(ConfigError) as err:
        s.resolve(flags, env, config, CFG)
    assert where in err.value.message
    assert err.value.exit_code == ExitCode.CONFIG == 3
    assert err.value.fix.startswith("set ")


def test_fractional_port_in_config_is_rejected():
    with pytest.raises(ConfigError, match=f"{CFG}:1: openwebui_port must be int"):
        s.resolve({}, {}, {"openwebui_port": (3000.5, 1)}, CFG)


def test_describe_masks_the_api_key_and_lists_every_setting():
    rows = s.resolve({"api_key": "sk-very-secret"}, {}, {}, None).describe()
    by_name = {r["name"]: r for r in rows}
    assert list(by_name) == [spec.name for spec in s.SPECS]
    assert by_name["api_key"]["value"] == "********" and by_name["api_key"]["source"] == "flag"
    assert "sk-very-secret" not in repr(rows)
    assert by_name["openwebui_port"] == {"name": "openwebui_port", "value": 3000, "source": "default",
                                         "help": "host port of Open WebUI", "env": "FLDEPLOY_OPENWEBUI_PORT"}


# --- parse_config ------------------------------------------------------------------------------------

def test_parse_config_values_and_lines():
    text = "# my stack\nopenwebui_port: 3100\n\nmodel: phi-4-mini\nhttp_timeout: 1.5\nfoundry_url: null\n"
    assert s.parse_config(text, CFG) == {"openwebui_port": (3100, 2), "model": ("phi-4-mini", 4),
                                          "http_timeout": (1.5, 5), "foundry_url": (None, 6)}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_parse_config_empty(text):
    assert s.parse_config(text, CFG) == {}


def test_parse_config_empty_document_with_start_marker():
    assert s.parse_config("---\n# openwebui_port: 3000\n", CFG) == {}


@pytest.mark.parametrize("text, line", [
    ("openwebui_port: 3000\nmodel: [unclosed\n", 3),
    ("openwebui_port: 3000\n  chainlit_port: 8080\n", 2),
    ("openwebui_port: 3000\n\tmodel: x\n", 2),
])
def test_parse_config_malformed_yaml_says_file_and_line(text, line):
    with pytest.raises(ConfigError) as err:
        s.parse_config(text, CFG)
    assert err.value.message.startswith(f"{CFG}:{line}: malformed YAML: ")
    assert f"{CFG}:{line}" in err.value.fix
    assert err.value.exit_code == 3


def test_parse_config_unknown_key_names_key_and_line():
    with pytest.raises(ConfigError) as err:
        s.parse_config("openwebui_port: 3000\nopenwebui_prot: 3100\n", CFG)
    assert err.value.message == f"{CFG}:2: unknown setting 'openwebui_prot'"
    assert err.value.code == "config.unknown_key"
    assert "openwebui_port" in err.value.fix


@pytest.mark.parametrize("text", ["- openwebui_port\n- 3000\n", "just some text\n", "3000\n"])
def test_parse_config_root_must_be_a_mapping(text):
    with pytest.raises(ConfigError, match=r":1: the config must be a mapping of settings"):
        s.parse_config(text, CFG)


# --- load() ------------------------------------------------------------------------------------------

def test_load_reads_fldeploy_yaml_in_cwd(tmp_path):
    (tmp_path / "fldeploy.yaml").write_text("project: demo\nopenwebui_port: 3100\n", encoding="utf-8")
    got = s.load({"chainlit_port": 8181}, env={"FLDEPLOY_OPENWEBUI_PORT": "3200"}, cwd=tmp_path)
    path = str(tmp_path / "fldeploy.yaml")
    assert got.config_file == path
    assert (got.project, got.source("project")) == ("demo", f"config:{path}:1")
    assert (got.openwebui_port, got.source("openwebui_port")) == (3200, "env:FLDEPLOY_OPENWEBUI_PORT")
    assert (got.chainlit_port, got.source("chainlit_port")) == (8181, "flag")


def test_load_without_any_config(tmp_path):
    got = s.load(env={}, cwd=tmp_path)
    assert got.config_file is None and got.source("project") == "default"
    assert got.model_cache_dir.startswith(str(tmp_path / "xdg-cache"))


def test_load_falls_back_to_the_user_config_dir(tmp_path):
    user = tmp_path / "xdg-config" / "fldeploy" / "fldeploy.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("chainlit_port: 8500\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    got = s.load(env={}, cwd=tmp_path / "work")
    assert got.chainlit_port == 8500 and got.source("chainlit_port") == f"config:{user}:1"


def test_load_explicit_config_env_and_missing_one(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("model: tiny-llama\n", encoding="utf-8")
    (tmp_path / "fldeploy.yaml").write_text("model: phi-4-mini\n", encoding="utf-8")
    got = s.load(env={"FLDEPLOY_CONFIG": str(other)}, cwd=tmp_path)
    assert got.model == "tiny-llama" and got.config_file == str(other)
    with pytest.raises(ConfigError, match="FLDEPLOY_CONFIG names .*missing.yaml, which does not exist"):
        s.load(env={"FLDEPLOY_CONFIG": str(tmp_path / "missing.yaml")}, cwd=tmp_path)


def test_load_reports_a_bad_value_with_file_and_line(tmp_path):
    (tmp_path / "fldeploy.yaml").write_text("project: x\nchainlit_port: eighty\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        s.load(env={}, cwd=tmp_path)
    assert err.value.message.startswith(f"{tmp_path / 'fldeploy.yaml'}:2: chainlit_port must be int")


@pytest.mark.parametrize("name,raw,expect", [
    ("openwebui_port", 70000, "between 1 and 65535"),
    ("chainlit_port", 0, "between 1 and 65535"),
    ("foundry_port", -1, "between 0 and 65535"),
    ("check_timeout", True, "must be float"),
])
def test_out_of_range_and_boolean_numbers_are_rejected(name, raw, expect):
    with pytest.raises(ConfigError) as err:
        s.resolve({}, {}, {name: (raw, 4)}, "/etc/fl.yaml")
    assert f"/etc/fl.yaml:4: {name} must" in err.value.message and expect in err.value.message


# --- each setting's rule, declared in its Spec line, applied wherever the value comes from -----------

@pytest.mark.parametrize("name, raw, part", [
    ("volume", "/home/someone", "is not a Docker volume name (a path would bind-mount that host folder)"),
    ("project", "My Stack", "is not a Compose project name"),
    ("openwebui_image", "ghcr.io/x/Y:latest", "is not a Docker image reference"),
    ("chainlit_image", "img;rm -rf /", "is not a Docker image reference"),
    ("relay_image", "http://x/y", "is not a Docker image reference"),
    ("webgpu_demo_image", "UPPER", "is not a Docker image reference"),
    ("base_image", "-debian", "is not a Docker image reference"),
    ("foundry_url", "file:///etc/passwd", "must be an http:// or https:// URL, not file:"),
    ("foundry_url", "http://[::1", "write IPv6 addresses in brackets"),
    ("catalog_url", "ftp://mirror/catalog", "must be an http:// or https:// URL, not ftp:"),
    ("admin_email", "admin", "is not an email address"),
    ("admin_email", "a\x85@b.c", "contains U+0085 (a control character)"),
    ("services", "open-webui,ollama", "names unknown services: 'ollama'"),
    ("model", "phi\u2028x", "contains U+2028 (a line separator)"),
    ("stack_dir", "/tmp/x\ny", "contains U+000A"),
    ("model_cache_dir", "  ", "is empty"),
    ("api_key", "", "is empty"),
])
@pytest.mark.parametrize("origin", ["flag", "env", "file"])
def test_every_setting_that_reaches_docker_or_a_file_is_checked_naming_its_source(name, raw, part, origin):
    flags, env, config = {}, {}, {}
    where = {"flag": "--" + name.replace("_", "-"), "env": "FLDEPLOY_" + name.upper(), "file": f"{CFG}:9"}[origin]
    if origin == "flag":
        flags[name] = raw
    elif origin == "env":
        env["FLDEPLOY_" + name.upper()] = raw
    else:
        config[name] = (raw, 9)
    if origin == "env" and raw == "":
        return  # an empty environment variable means unset
    with pytest.raises(ConfigError) as err:
        s.resolve(flags, env, config, CFG)
    assert err.value.message.startswith(f"{where}: {name} ") and part in err.value.message, err.value.message
    assert err.value.fix and where in err.value.fix
    assert err.value.exit_code == ExitCode.CONFIG


def test_secrets_are_never_echoed_in_errors():
    with pytest.raises(ConfigError) as err:
        s.resolve({}, {"API_KEY": "sk-secret\rWEBUI_SECRET_KEY=attacker"}, {}, None)
    assert err.value.message == "API_KEY: api_key contains U+000D (a control character)"
    assert "sk-secret" not in err.value.message + err.value.fix


def test_every_default_passes_its_own_rule():
    defaults = s.resolve({}, {}, {}, None)
    for spec in s.SPECS:
        value = getattr(defaults, spec.name)
        if value is not None:
            assert s.coerce(spec, value, "default") == value


def test_values_that_pass_are_kept_as_given():
    got = s.resolve({"foundry_url": "localhost:5273/v1"}, {"FLDEPLOY_VOLUME": "my.data_1",
                    "FLDEPLOY_OPENWEBUI_IMAGE": "registry.local:5000/ow/open-webui:v1@sha256:" + "a" * 64,
                    "FLDEPLOY_SERVICES": "chainlit, webgpu-demo", "FLDEPLOY_ADMIN_EMAIL": "me+x@example.org"}, {}, None)
    assert got.foundry_url == "localhost:5273/v1" and got.volume == "my.data_1"
    assert got.services == "chainlit, webgpu-demo" and got.admin_email == "me+x@example.org"


def test_empty_optional_string_is_unset():
    got = s.resolve({}, {}, {"model": ("", 1), "base_image": ("", 2)}, CFG)
    assert got.model is None and got.base_image is None


def test_null_for_a_setting_with_a_default_is_refused():
    with pytest.raises(ConfigError) as err:
        s.resolve({}, {}, {"admin_email": (None, 3)}, CFG)
    assert err.value.message == f"{CFG}:3: admin_email has no value (YAML null)"
    assert "remove the admin_email line to use the default (admin@fldeploy.local)" in err.value.fix


def test_long_values_are_shortened_in_errors():
    with pytest.raises(ConfigError) as err:
        s.resolve({}, {}, {"openwebui_port": ("x" * 10000, 1)}, CFG)
    assert len(err.value.message) < 200


# --- hostile settings files --------------------------------------------------------------------------

ALIAS_BOMB = "model:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_alias_bomb_is_refused_before_it_expands():
    import time

    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        s.parse_config(ALIAS_BOMB, CFG)
    assert time.monotonic() - start < 1
    assert err.value.message == f"{CFG}:2: YAML anchors and aliases (&name, *name) are not allowed"
    assert len(err.value.message + err.value.fix) < 300


@pytest.mark.parametrize("text, line", [("model: &m phi\n", 1), ("project: x\nmodel: *m\n", 2),
                                         ("<<: &base {model: x}\n", 1)])
def test_anchors_and_aliases_are_refused(text, line):
    with pytest.raises(ConfigError, match=rf"^{CFG}:{line}: YAML anchors and aliases"):
        s.parse_config(text, CFG)


@pytest.mark.parametrize("text, part", [
    ("model: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "YAML tag"),
    ("model: !!python/name:os.system\n", "YAML tag"),
    ("model: !!binary aGVsbG8=\n", "YAML tag"),
    ("model: !local x\n", "YAML tag"),
    ("model: [a, b]\n", "model must be str, got a YAML list"),
    ("model: {a: b}\n", "model must be str, got a YAML mapping"),
    ("model: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than"),
    ("{[a]: 1}\n", "unknown setting a sequence used as a key"),
    ("? {a: 1}\n: x\n", "unknown setting a mapping used as a key"),
    ("model: a\nmodel: b\n", "model is set twice (first on line 1)"),
    ("model: \"\\x00\"\n", "contains U+0000"),
])
def test_yaml_features_settings_do_not_need_are_refused(text, part):
    with pytest.raises(ConfigError) as err:
        s.resolve({}, {}, s.parse_config(text, CFG), CFG)
    assert err.value.message.startswith(f"{CFG}:") and part in err.value.message, err.value.message
    assert err.value.exit_code == 3


@pytest.mark.parametrize("text, quoted", [
    ("api_key: 0123\n", "quote it: api_key: '...'"),
    ("model: 0123\n", "quote it: model: '0123'"),
    ("model: yes\n", "quote it: model: 'yes'"),
    ("model: off\n", "quote it: model: 'off'"),
    ("project: 10.5\n", "quote it: project: '10.5'"),
    ("model: 2001-01-01\n", "quote it: model: '2001-01-01'"),
    ("model: 1:30\n", "quote it: model: '1:30'"),
    ("admin_email: .inf\n", "quote it: admin_email: '.inf'"),
])
def test_yaml_1_1_typing_of_a_string_setting_is_refused(text, quoted):
    with pytest.raises(ConfigError) as err:
        s.parse_config(text, CFG)
    assert err.value.message.startswith(f"{CFG}:1: ") and "must be a string" in err.value.message
    assert err.value.fix == quoted
    assert "0123" not in err.value.message + err.value.fix or not text.startswith("api_key")


def test_quoted_strings_are_read_as_written():
    got = s.resolve({}, {}, s.parse_config("api_key: '0123'\nmodel: \"yes\"\nproject: '017'\n", CFG), CFG)
    assert (got.api_key, got.model, got.project) == ("0123", "yes", "017")


@pytest.mark.parametrize("text", ["openwebui_port: 0x0BB8\n", "openwebui_port: 05000\n", "openwebui_port: 3_000\n",
                                  "openwebui_port: 0b101110111000\n", "openwebui_port: 50:00\n"])
def test_ports_must_be_plain_decimal(text):
    with pytest.raises(ConfigError, match=rf"^{CFG}:1: openwebui_port is written '.*', which YAML reads as \d+$"):
        s.parse_config(text, CFG)


def test_booleans_and_numbers_where_they_belong_still_work():
    got = s.resolve({}, {}, s.parse_config("public: yes\nbuild_local: on\nopenwebui_port: 3001\n"
                                           "http_timeout: 1.5\nchainlit_port: '8181'\n", CFG), CFG)
    assert (got.public, got.build_local, got.openwebui_port, got.http_timeout, got.chainlit_port) == \
        (True, True, 3001, 1.5, 8181)


def test_a_character_yaml_forbids_names_its_line():
    with pytest.raises(ConfigError, match=rf"^{CFG}:2: malformed YAML: "):
        s.parse_config("project: x\nmodel: a\x01b\n", CFG)


def test_non_utf8_file_names_file_and_line(tmp_path):
    path = tmp_path / "fldeploy.yaml"
    path.write_bytes(b"project: x\n# caf\xe9\nmodel: y\n")
    with pytest.raises(ConfigError) as err:
        s.load(env={}, cwd=tmp_path)
    assert err.value.message == f"{path}:2: not UTF-8 text (byte 0xe9)"
    assert "UTF-8" in err.value.fix and err.value.exit_code == 3


def test_a_file_over_64_kib_is_refused_unread(tmp_path):
    path = tmp_path / "fldeploy.yaml"
    path.write_text("# padding\n" * 7000 + "model: x\n")
    with pytest.raises(ConfigError, match=r"larger than 64 KiB"):
        s.load(env={}, cwd=tmp_path)
    path.write_text("# padding\n" * 6000 + "model: x\n")
    assert s.load(env={}, cwd=tmp_path).model == "x"


@pytest.mark.parametrize("text", ["build_local: 2001-02-30\n", "openwebui_port: 2001-01-01\n"])
def test_a_date_where_a_number_or_boolean_belongs(text):
    with pytest.raises(ConfigError, match=rf"^{CFG}:1: \w+ must be (bool|int), got the date"):
        s.parse_config(text, CFG)
