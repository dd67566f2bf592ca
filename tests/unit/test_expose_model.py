"""The pure model of `fldeploy foundry expose`: hostile addresses, ports and keys are refused with a usage error
before they reach nginx's configuration or compose.yaml; the configuration forwards /v1/ only, with the key,
never logs or forwards the key; doctor names a Foundry that refuses the key."""
from __future__ import annotations

import pytest

from fldeploy.core import expose_model as m
from fldeploy.core import verdicts as v
from fldeploy.core.foundry_rules import Candidate, Discovery, Probe
from fldeploy.errors import ExitCode, FldeployError

pytestmark = pytest.mark.unit


def spec(**kw) -> m.ExposeSpec:
    values = dict(address="127.0.0.2", port=5280, upstream_host="127.0.0.1", upstream_port=5273, host_network=True,
                  image=m.PUBLIC_IMAGE)
    return m.ExposeSpec(**{**values, **kw})


@pytest.mark.parametrize("text", ["127.0.0.2\n", "127.0.0.2\nlisten 0.0.0.0:1", " 127.0.0.2", "127.0.0.2 ;",
                                  "127.0.0.2;", "localhost", "", "127.0.0.256", "fe80::1%eth0",
                                  "fe80::1%x\nlisten", "127.0.0.2:5280", "[::1]", "0x7f.1", "1.2.3.4/24"])
def test_a_listen_address_is_an_ip_address_and_nothing_else(text):
    with pytest.raises(FldeployError) as err:
        m.listen_address(text)
    assert err.value.exit_code == ExitCode.USAGE and "is not an IP address" in err.value.message
    assert "--address 192.168.1.20" in err.value.fix


@pytest.mark.parametrize("text, canonical", [("127.0.0.2", "127.0.0.2"), ("0.0.0.0", "0.0.0.0"),
                                             ("::1", "::1"), ("2001:DB8::0:1", "2001:db8::1")])
def test_addresses_are_canonical(text, canonical):
    assert m.listen_address(text) == canonical


@pytest.mark.parametrize("port", [0, -1, 65536, 70000, True, "5280", 5280.0, None])
def test_a_port_is_an_int_in_range(port):
    with pytest.raises(FldeployError) as err:
        m.listen_port(port)
    assert err.value.exit_code == ExitCode.USAGE and "not a port number (1-65535)" in err.value.message


def test_ports_below_1024_only_where_the_engine_publishes():
    with pytest.raises(FldeployError) as err:
        m.listen_port(80, host_network=True)
    assert "below 1024" in err.value.message and "--port 5280" in err.value.fix
    assert m.listen_port(80, host_network=False) == 80
    assert m.listen_port(65535) == 65535


@pytest.mark.parametrize("host", ["a b", "x;y", "host\n", "-lead", "h{1}", "", "fe80::1%eth0", "a'b"])
def test_foundry_host_must_be_an_ip_or_a_host_name(host):
    with pytest.raises(FldeployError):
        m.upstream_host(host)
    assert m.upstream_host("host.docker.internal") == "host.docker.internal"
    assert m.upstream_host("::1") == "::1"


@pytest.mark.parametrize("key", ["", "short", "x" * 31, "a" * 40 + " ", "a" * 40 + "'", "a" * 40 + "$x",
                                 "a" * 40 + "\n", "é" * 40])
def test_a_key_not_made_by_fldeploy_is_refused(key):
    with pytest.raises(FldeployError) as err:
        m.check_key(key, "/state/expose/.env")
    assert err.value.exit_code == ExitCode.CONFIG and "delete /state/expose/.env" in err.value.fix


def test_render_quotes_what_is_not_a_plain_token_and_refuses_control_characters():
    text = m.render((m.Directive("add_header", ("X", "a b'c\\d")), m.Block("location", ("/v1/",), ())))
    assert text == "add_header X 'a b\\'c\\\\d';\nlocation /v1/ {\n}\n"
    for bad in ("a\nb", "a\rb", "a\x00b", "x\x7f"):
        with pytest.raises(ValueError):
            m.render((m.Directive("return", ("200", bad)),))
    assert m.render((m.Directive("x;y", ()),)) == "'x;y';\n"  # even a name cannot end the directive


def _words(nodes, path=()):
    for node in nodes:
        yield path, node
        if isinstance(node, m.Block):
            yield from _words(node.body, path + ((node.name, node.args),))


def test_the_configuration_forwards_v1_only_with_the_key_and_never_the_key():
    nodes = list(_words(m.nginx_config(spec())))
    proxied = [n for _, n in nodes if n.name == "proxy_pass"]
    assert [n.args for n in proxied] == [("http://foundry/v1/",)]  # a URI part: nginx sends the normalised URI
    (v1_path,) = [p for p, n in nodes if n.name == "proxy_pass"]
    assert v1_path[-1] == ("location", ("/v1/",))
    root = next(n for p, n in nodes if n.name == "location" and n.args == ("/",))
    assert root.body[0].args[0] == "404"
    assert ("Authorization", "") in [n.args for _, n in nodes if n.name == "proxy_set_header"]
    (log_format,) = [n for _, n in nodes if n.name == "log_format"]
    assert "http_" not in log_format.args[1] and "remote_user" not in log_format.args[1] and "args" not in log_format.args[1]
    key_map = next(n for _, n in nodes if n.name == "map")
    assert key_map.args == ("$http_authorization", "$fldeploy_key_ok")
    assert [e.name for e in key_map.body] == ["default", "~^Bearer @FLDEPLOY_EXPOSE_KEY@$"]  # regex: case-sensitive
    assert ("GET", "POST") in [n.args for _, n in nodes if n.name == "limit_except"]
    listen = next(n for _, n in nodes if n.name == "listen")
    assert listen.args == ("127.0.0.2:5280",)


def test_compose_content_escapes_nginx_variables_and_refers_to_the_key():
    content = m.compose_content(spec())
    assert content.count("${FOUNDRY_EXPOSE_KEY:?") == 1 and "@FLDEPLOY_EXPOSE_KEY@" not in content
    without_ref = content.replace("${FOUNDRY_EXPOSE_KEY:?run fldeploy foundry expose}", "")
    assert "$" not in without_ref.replace("$$", "")  # every other $ is nginx's, written $$ for Compose
    assert "$$http_authorization" in content and "'~^Bearer ${FOUNDRY_EXPOSE_KEY" in content


def test_compose_document_host_network_and_published():
    doc = m.compose_document(spec(), "fldeploy-expose")
    service = doc["services"][m.SERVICE]
    assert doc["name"] == "fldeploy-expose" and service["network_mode"] == "host" and "ports" not in service
    assert service["user"] == "nobody" and service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["configs"] == [{"source": m.CONFIG, "target": m.CONFIG_PATH, "uid": "65534", "gid": "65534",
                                   "mode": 0o400}]
    assert service["entrypoint"][-1] == m.CONFIG_PATH and "build" not in service
    published = m.compose_document(spec(address="::1", host_network=False, upstream_host="host.docker.internal",
                                        build_context="/src/deploy/nginx", base_image="base:1",
                                        image=m.LOCAL_IMAGE), "p")["services"][m.SERVICE]
    assert published["ports"] == ["[::1]:5280:8080"] and "network_mode" not in published
    assert published["build"] == {"context": "/src/deploy/nginx", "args": {"BASE_IMAGE": "base:1"}}
    assert "listen 8080;" in m.compose_content(spec(host_network=False))
    assert "server host.docker.internal:5273;" in m.compose_content(spec(host_network=False,
                                                                         upstream_host="host.docker.internal"))


def test_url_of_a_wildcard_is_its_loopback():
    assert m.url_of("0.0.0.0", 5280) == "http://127.0.0.1:5280"
    assert m.url_of("::", 5280) == "http://[::1]:5280"
    assert m.url_of("192.168.1.20", 5280) == "http://192.168.1.20:5280"


def test_doctor_names_the_foundry_that_refuses_the_key():
    url = "http://10.0.0.5:5280"
    c = Candidate(url, "setting", "env:FLDEPLOY_FOUNDRY_URL")
    local = Candidate("http://127.0.0.1:5273", "process", "foundry pid 12")
    probes = {url: Probe(url, "http_error", detail='HTTP 401: {"error":{"code":"invalid_api_key"}}')}
    d = Discovery(None, None, [c, local], probes, explicit_failed=c, alternatives=[local])
    api = v.foundry_api(d)
    assert api.status == "fail" and api.cause.startswith(f"Foundry at {url} refused the key (HTTP 401)")
    assert "fldeploy foundry expose --show-key" in api.fix and "api_key" in api.fix
    endpoint = v.foundry_endpoint(d)  # it answers: no "port moved" to another Foundry
    assert endpoint.status == "ok" and "refuses the key" in endpoint.cause and "moved" not in endpoint.cause


def test_doctor_names_a_proxy_whose_foundry_is_gone():
    url = "http://10.0.0.5:5280"
    c = Candidate(url, "setting", "env:FLDEPLOY_FOUNDRY_URL")
    d = Discovery(None, None, [c], {url: Probe(url, "http_error", detail="HTTP 502: <html>Bad Gateway")},
                  explicit_failed=c)
    api = v.foundry_api(d)
    assert api.status == "fail" and api.cause == f"{url} is a proxy whose Foundry does not answer (HTTP 502)"
    assert "fldeploy foundry expose" in api.fix


@pytest.mark.parametrize("text, key", [
    ("A" * 43 + "\n", "A" * 43),
    ("# generated by fldeploy\nFOUNDRY_EXPOSE_KEY='" + "b" * 43 + "'\n", "b" * 43),
    ("  " + "c-_" * 12 + "  \n\n", "c-_" * 12),
    ("short\n", None), ("A" * 43 + "\n" + "B" * 43 + "\n", None), ("OTHER='" + "d" * 43 + "'\n", None),
    ("A" * 40 + " x\n", None), ("", None), ("é" * 40, None),
])
def test_key_in_a_file_is_the_bare_key_or_the_expose_env_line(text, key):
    assert m.key_in(text) == key
