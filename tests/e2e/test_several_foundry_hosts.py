"""Several Foundry hosts behind one Open WebUI, on real parts: two real Foundry Local runtimes on loopback
addresses of their own (127.0.0.2, 127.0.0.3) as two hosts, the stack up through the real CLI. Open WebUI lists
both hosts' models under their names and each answers; with host b stopped `doctor` fails for b only, naming
it, and a's chats still work. With --balance, one model served by both appears once, its chats are spread over
both hosts (counted in the balancer's access log), and with one host stopped every chat is still answered."""
from __future__ import annotations

import pathlib
import re

import pytest

from fldeploy.stack.openwebui import OpenWebUI
from fldeploy.stack import files

from ..support.foundry_hosts import hosts_on_loopback
from ..support.stack import make_stack, remove_stack

pytestmark = pytest.mark.e2e
MODEL = "tiny-llama-generic-cpu:1"
REPLY = "Hello from tiny model"


def _client(stack) -> OpenWebUI:
    client = OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}")
    secrets = files.read_secrets(pathlib.Path(stack.dir))
    client.sign_in("admin@fldeploy.local", secrets["OPENWEBUI_ADMIN_PASSWORD"])
    return client


@pytest.fixture
def two_hosts(tmp_path, tiny_model, catalog_url):
    hosts = hosts_on_loopback(tmp_path / "hosts", "127.0.0.2", "127.0.0.3")
    for host in hosts:
        host.start(tiny_model, catalog_url)
    yield hosts
    for host in hosts:
        host.stop()


def test_two_hosts_each_listed_and_answering_then_one_stopped(tmp_path, stack_images, two_hosts):
    a, b = two_hosts
    stack = make_stack(tmp_path, FLDEPLOY_SERVICES="open-webui")
    urls = ("--foundry-url", f"a={a.url}", "--foundry-url", f"b={b.url}")
    try:
        up = stack.fl("up", *urls, "--json")
        assert up.code == 0, up.out + up.err
        check = next(c for c in up.json["data"]["checks"] if c["id"] == "stack.openwebui")
        assert set(check["data"]["hosts"]) == {"a", "b"}
        for name in ("a", "b"):
            assert check["data"]["hosts"][name]["ui_answer"] == REPLY, check

        with _client(stack) as client:
            listed = client.model_ids()
            assert f"a.{MODEL}" in listed and f"b.{MODEL}" in listed, listed
            assert client.chat_api(f"a.{MODEL}", "hi") == REPLY
            assert client.chat_api(f"b.{MODEL}", "hi") == REPLY
            stored = client.connection()
            assert [c["prefix_id"] for c in stored["OPENAI_API_CONFIGS"].values()] == ["a", "b"]

        status = stack.fl("status", "--json")
        assert status.code == 0, status.out
        assert [h["name"] for h in status.json["data"]["foundry_hosts"]] == ["a", "b"]
        assert "Foundry hosts:" in stack.fl("status").out

        # a plain `up` keeps the hosts the stack was made for: nothing written, the stored connections kept
        again = stack.fl("up", "--json")
        assert again.code == 0 and again.json["data"]["files_written"] == [], again.out
        assert [h["name"] for h in again.json["data"]["foundry"]["hosts"]] == ["a", "b"]
        assert "connection_fixed" not in next(c for c in again.json["data"]["checks"]
                                              if c["id"] == "stack.openwebui")["data"]

        b.stop()
        doctor = stack.fl("doctor", *urls, "--json")
        assert doctor.code == 1, doctor.out
        failed = [c for c in doctor.json["data"]["checks"] if c["status"] == "fail"]
        assert failed, doctor.out
        foundry_failed = [c for c in failed if c["id"].startswith("foundry.") and c["id"] != "foundry.from_container"]
        assert foundry_failed and all(c["data"]["host"] == "b" for c in foundry_failed), failed
        assert all("host b" in c["cause"] for c in foundry_failed)
        ok_a = [c for c in doctor.json["data"]["checks"] if (c.get("data") or {}).get("host") == "a"]
        assert ok_a and all(c["status"] != "fail" for c in ok_a), ok_a
        owui = next(c for c in failed if c["id"] == "stack.openwebui")
        assert "host b" in owui["cause"] and "host a" not in owui["cause"].split("(a still")[0], owui
        assert owui["data"]["failed_hosts"] == ["b"]
        # plain doctor (no flags) reads the hosts from the rendered stack and says the same
        plain = stack.fl("doctor", "--json")
        plain_checks = plain.json["data"]["checks"]
        assert any(c["status"] == "fail" and (c.get("data") or {}).get("host") == "b" for c in plain_checks)
        assert stack.fl("status", "--json").json["data"]["hosts_not_answering"] == ["b"]

        with _client(stack) as client:
            assert client.chat_like_the_ui(f"a.{MODEL}", "hi")["text"] == REPLY
    finally:
        remove_stack(stack)


def test_balance_spreads_chats_and_survives_a_stopped_host(tmp_path, stack_images, two_hosts):
    a, b = two_hosts
    stack = make_stack(tmp_path, FLDEPLOY_SERVICES="open-webui")
    try:
        up = stack.fl("up", "--foundry-url", f"a={a.url}", "--foundry-url", f"b={b.url}", "--balance", "--json")
        assert up.code == 0, up.out + up.err
        with _client(stack) as client:
            listed = client.model_ids()
            assert listed.count(MODEL) == 1 and not [m for m in listed if m.endswith("." + MODEL)], listed
            for _ in range(8):
                assert client.chat_api(MODEL, "hi") == REPLY
            served = _upstreams(stack)
            assert len(served) == 2 and min(served.values()) >= 3, served  # both hosts took chats

            b.stop()
            for _ in range(6):
                assert client.chat_api(MODEL, "hi") == REPLY  # every chat answered, by a
            assert client.chat_like_the_ui(MODEL, "hi")["text"] == REPLY
    finally:
        remove_stack(stack)


def _upstreams(stack) -> dict[str, int]:
    """Chats per host, from the balancer's access log (upstream=ADDR of each POST /v1/chat/completions)."""
    logs = stack.compose("logs", "--no-color", "foundry-balancer").stdout
    counts: dict[str, int] = {}
    for line in logs.splitlines():
        if "POST /v1/chat/completions" in line and " 200 " in line:
            last = re.findall(r"upstream=(\S+)", line)[-1].split(",")[-1].strip()
            counts[last] = counts.get(last, 0) + 1
    return counts
