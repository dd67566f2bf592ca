"""What fldeploy shows never carries a URL's credentials (user-info, token-like query values): `config`,
`render`, `doctor` and the support bundle, through the real CLI. And `doctor --bundle FILE` never replaces an
existing file nor writes through a symlink, unless --force (which replaces the link itself)."""
from __future__ import annotations

import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..support.fixtures import isolated_env, run_fldeploy

USER_PW = "URL-PW-s3cret"
SIG = "CAT-SIG-s3cret"
CATALOG = f"https://mirror.example.invalid/catalog?sig={SIG}&v=1"
SECRETS = (USER_PW, SIG)


def _with_userinfo(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://fl-user:{USER_PW}@{rest}"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret} shown in:\n{text[:3000]}"


@pytest.fixture
def env(tmp_path, foundry):
    """The session Foundry named with user-info, a catalog URL with a signature."""
    return isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=_with_userinfo(foundry.url), FLDEPLOY_CATALOG_URL=CATALOG,
                        FLDEPLOY_STACK_DIR=str(tmp_path / "stack"))


def fl(env, *args):
    """The real CLI, run in the test's own folder (no fldeploy.yaml there)."""
    return run_fldeploy(*args, env=env, cwd=os.path.dirname(env["FLDEPLOY_STATE_DIR"]), timeout=180)


# --- masking -------------------------------------------------------------------------------------------

def test_config_masks_url_credentials(env, foundry):
    shown = fl(env, "config", "--json")
    assert shown.code == 0, shown.err
    rows = {r["name"]: r["value"] for r in shown.json["data"]["settings"]}
    port = foundry.url.rsplit(":", 1)[1]
    assert rows["foundry_url"] == f"http://fl-user:********@127.0.0.1:{port}"
    assert rows["catalog_url"] == "https://mirror.example.invalid/catalog?sig=********&v=1"
    human = fl(env, "config")
    assert "fl-user:********@127.0.0.1" in human.out
    assert_no_secret(shown.out, shown.err, human.out, human.err)


def test_doctor_masks_url_credentials(env):
    shown = fl(env, "doctor", "--json")
    checks = {c["id"]: c for c in shown.json["data"]["checks"]}
    assert checks["foundry.api"]["status"] == "ok", checks["foundry.api"]  # the URL with user-info works
    assert "fl-user:********@" in checks["foundry.endpoint"]["cause"]
    human = fl(env, "doctor")
    assert_no_secret(shown.out, shown.err, human.out, human.err)


def test_render_masks_url_credentials_and_keeps_them_in_the_files(tmp_path):
    """A remote Foundry with user-info in its URL: what render shows is masked, the compose.yaml containers read
    keeps it. The remote host is only ever asked through a proxy on loopback that answers itself."""
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    remote = _with_userinfo("http://foundry.example.invalid:5273")
    try:
        env = isolated_env(tmp_path, FLDEPLOY_FOUNDRY_URL=remote, FLDEPLOY_MODEL="phi-4-mini",
                           HTTP_PROXY=proxy, HTTPS_PROXY=proxy, ALL_PROXY=proxy, http_proxy=proxy,
                           https_proxy=proxy, all_proxy=proxy, NO_PROXY="", no_proxy="")
        out = tmp_path / "out"
        shown = run_fldeploy("render", "--out", str(out), "--json", env=env, timeout=180)
        assert shown.code == 0, shown.out + shown.err
        data = shown.json["data"]
        assert data["foundry_url"] == "http://fl-user:********@foundry.example.invalid:5273"
        assert data["container_url"] == "http://fl-user:********@foundry.example.invalid:5273/v1"
        human = run_fldeploy("render", "--out", str(out), env=env, timeout=180)
        assert_no_secret(shown.out, shown.err, human.out, human.err)
        assert USER_PW in (out / "compose.yaml").read_text(), "the containers still get the real URL"
        assert seen and all(p.startswith("http://foundry.example.invalid:5273/") for p in seen)
    finally:
        server.shutdown()
        server.server_close()


def test_bundle_masks_url_credentials(env, tmp_path):
    target = tmp_path / "support.tar.gz"
    run = fl(env, "doctor", "--bundle", str(target), "--json")
    assert run.json["data"]["bundle"]["file"] == str(target)
    with tarfile.open(target) as tar:
        text = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert "fl-user:********@127.0.0.1" in text["fldeploy-bundle/settings.json"]
    assert_no_secret(run.out, run.err, *text.values())


# --- never clobbered, never through a symlink ------------------------------------------------------------

def _bundle(env, path, *extra):
    return fl(env, "doctor", "--bundle", str(path), *extra)


def _is_bundle(path) -> bool:
    with tarfile.open(path) as tar:
        return "fldeploy-bundle/findings.json" in tar.getnames()


def test_existing_file_is_refused_without_force(env, tmp_path):
    target = tmp_path / "support.tar.gz"
    target.write_text("keep me")
    refused = _bundle(env, target, "--json")
    error = refused.json["errors"][0]
    assert refused.code == 2 and error["code"] == "bundle.exists", refused.out
    assert "already exists" in error["message"] and "--force" in error["hint"]
    assert _bundle(env, target).code == 2
    assert target.read_text() == "keep me"
    replaced = _bundle(env, target, "--force")
    assert replaced.code in (0, 1), replaced.err  # doctor's own verdicts decide 0 or 1
    assert _is_bundle(target) and target.stat().st_mode & 0o777 == 0o600


def test_symlink_is_refused_and_its_target_untouched(env, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "support.tar.gz"
    link.symlink_to(victim)
    refused = _bundle(env, link, "--json")
    assert refused.code == 2 and refused.json["errors"][0]["code"] == "bundle.exists", refused.out
    assert link.is_symlink() and victim.read_text() == "precious"


def test_dangling_symlink_is_refused_and_nothing_created_through_it(env, tmp_path):
    link = tmp_path / "support.tar.gz"
    where = tmp_path / "elsewhere.tar.gz"
    link.symlink_to(where)
    refused = _bundle(env, link)
    assert refused.code == 2, refused.err
    assert not where.exists() and link.is_symlink()


def test_force_replaces_the_symlink_itself_not_its_target(env, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "support.tar.gz"
    link.symlink_to(victim)
    run = _bundle(env, link, "--force")
    assert run.code in (0, 1), run.err
    assert not link.is_symlink() and _is_bundle(link) and link.stat().st_mode & 0o777 == 0o600
    assert victim.read_text() == "precious"


def test_a_folder_is_refused_even_with_force(env, tmp_path):
    folder = tmp_path / "bundle-dir"
    folder.mkdir()
    refused = _bundle(env, folder, "--force", "--json")
    assert refused.code == 2 and "is a folder" in refused.json["errors"][0]["message"], refused.out
    assert list(folder.iterdir()) == []


def test_no_temp_file_left_behind(env, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run = _bundle(env, out / "support.tar.gz")
    assert run.code in (0, 1), run.err
    assert [p.name for p in out.iterdir()] == ["support.tar.gz"]
