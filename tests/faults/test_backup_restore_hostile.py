"""Hostile archives, hostile names and failures around `fldeploy backup` / `restore`, on one real stack (Open
WebUI only): whatever happens, the user gets a clear exit and message, the data as it was (a chat made through
Open WebUI's API is still listed), Open WebUI healthy, no helper container and no stray file."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fldeploy.stack.files import read_secrets
from fldeploy.stack.openwebui import OpenWebUI

from ..support.fixtures import FLDEPLOY
from ..support.stack import Stack, make_stack, remove_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_images, foundry):
    made = make_stack(tmp_path_factory.mktemp("hostile"), FLDEPLOY_FOUNDRY_URL=foundry.url,
                      FLDEPLOY_SERVICES="open-webui")
    run = made.fl("up")
    assert run.code == 0, run.err
    made.image = stack_images["open-webui"]  # type: ignore[attr-defined]
    yield made
    remove_stack(made)


@dataclass
class Baseline:
    archive: Path
    in_backup: str  # a chat in the archive
    live: str  # a chat made after it: still listed after every refused restore


@pytest.fixture(scope="module")
def baseline(stack, tmp_path_factory) -> Baseline:
    in_backup = admin(stack).new_chat("in the baseline backup")
    archive = tmp_path_factory.mktemp("baseline") / "baseline.tar.gz"
    run = stack.fl("backup", str(archive))
    assert run.code == 0, run.err
    return Baseline(archive, in_backup, admin(stack).new_chat("made after the baseline backup"))


def admin(stack: Stack) -> OpenWebUI:
    client = OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}")
    client.sign_in("admin@fldeploy.local", read_secrets(Path(stack.dir))["OPENWEBUI_ADMIN_PASSWORD"])
    return client


def chat_ids(stack: Stack) -> list[str]:
    with admin(stack) as client:
        return [c["id"] for c in client.chats()]


def volume(stack: Stack) -> str:
    return stack.env["FLDEPLOY_VOLUME"]


def openwebui_started_at(stack: Stack) -> str:
    done = subprocess.run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}",
                           f"{stack.project}-open-webui-1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def in_volume(stack: Stack, *argv: str) -> str:
    """Run a command (argv, no shell) in a throwaway container with the data volume at /data."""
    done = subprocess.run(["docker", "run", "--rm", "-v", f"{volume(stack)}:/data", "--entrypoint", argv[0],
                           stack.image, *argv[1:]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def volume_entries(stack: Stack) -> dict[str, str]:
    """Every path in the volume with its mode and kind, e.g. {'webui.db': '644 f'}."""
    lines = in_volume(stack, "find", "/data", "-mindepth", "1", "-printf", r"%P\t%m %y\n").splitlines()
    return dict(line.split("\t", 1) for line in lines)


def helpers_left(stack: Stack) -> list[str]:
    """Containers using the data volume other than Open WebUI itself (old and new helpers alike)."""
    done = subprocess.run(["docker", "ps", "-a", "--filter", f"volume={volume(stack)}", "--format", "{{.Names}}"],
                          capture_output=True, text=True)
    return [name for name in done.stdout.split() if name != f"{stack.project}-open-webui-1"]


def assert_untouched_and_healthy(stack: Stack, baseline: Baseline) -> None:
    with OpenWebUI(f"http://127.0.0.1:{stack.openwebui_port}") as client:
        assert client.healthy(), "Open WebUI is healthy afterwards"
    assert baseline.live in chat_ids(stack), "the data is unchanged: the chat made after the backup is listed"
    assert helpers_left(stack) == [], "no helper container is left"
    assert not [p for p in volume_entries(stack) if p.startswith(".fldeploy")], "no staging folder is left"


def build(source: Path, target: Path, extra=(), drop=(), replace: dict[str, bytes] | None = None) -> Path:
    """An archive like source (a real backup) with members dropped, replaced or added."""
    replace = replace or {}
    with tarfile.open(source) as src, tarfile.open(target, "w:gz") as out:
        for member in src.getmembers():
            name = member.name.lstrip("./")
            if name in drop:
                continue
            if name in replace:
                member.size = len(replace[name])
                out.addfile(member, io.BytesIO(replace[name]))
            else:
                out.addfile(member, src.extractfile(member) if member.isfile() else None)
        for info, data in extra:
            out.addfile(info, io.BytesIO(data) if data else None)
    return target


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", mode: int = 0o644, link: str = "",
          size: int | None = None) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, link
    info.size = len(data) if size is None else size
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info, data


class Zeros(io.RawIOBase):
    def readinto(self, buffer) -> int:
        buffer[:] = bytes(len(buffer))
        return len(buffer)


def corrupt_database(archive: Path) -> bytes:
    with tarfile.open(archive) as src:
        data = bytearray(next(src.extractfile(m).read() for m in src.getmembers()
                              if m.name.lstrip("./") == "webui.db"))
    data[100:] = os.urandom(len(data) - 100)  # the SQLite header stays, every page is garbage
    return bytes(data)


HOSTILE = {
    "dotdot": (dict(extra=[entry("../escape.txt", data=b"out")]), "climbs out of the volume"),
    "absolute": (dict(extra=[entry("/fldeploy-absolute.txt", data=b"abs")]), "absolute path"),
    "symlink_out": (dict(extra=[entry("./uploads/etc", tarfile.SYMTYPE, link="/etc")]), "symbolic link to '/etc'"),
    "hardlink_missing": (dict(extra=[entry("./uploads/hard", tarfile.LNKTYPE, link="./uploads/missing")]),
                         "hard link"),
    "device": (dict(extra=[entry("./null", tarfile.CHRTYPE)]), "character device"),
    "fifo": (dict(extra=[entry("./pipe", tarfile.FIFOTYPE)]), "FIFO"),
    "no_database": (dict(drop=["webui.db"]), "holds no webui.db"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_archive_is_refused_before_anything_changes(stack, baseline, tmp_path, case):
    how, says = HOSTILE[case]
    archive = build(baseline.archive, tmp_path / f"{case}.tar.gz", **how)
    before = openwebui_started_at(stack)
    run = stack.fl("restore", str(archive), "--yes")
    print(run.err)  # what the user reads (pytest -rP shows it)
    assert run.code == 1, run.err
    assert "cannot be restored" in run.err and says in run.err and "nothing was changed" in run.err, run.err
    assert "fix: restore an archive written by `fldeploy backup`" in run.err
    assert openwebui_started_at(stack) == before, "Open WebUI ran on as before: it was not even stopped"
    assert_untouched_and_healthy(stack, baseline)
    assert os.listdir(tmp_path) == [archive.name], "no safety copy, no scratch file"
    entries = volume_entries(stack)
    assert not {"escape.txt", "fldeploy-absolute.txt", "uploads/etc", "null", "pipe"} & set(entries)


def test_a_corrupt_database_is_refused(stack, baseline, tmp_path):
    archive = build(baseline.archive, tmp_path / "corrupt.tar.gz",
                    replace={"webui.db": corrupt_database(baseline.archive)})
    run = stack.fl("restore", str(archive), "--yes")
    assert run.code == 1 and "webui.db" in run.err and "SQLite" in run.err and "nothing was changed" in run.err
    assert_untouched_and_healthy(stack, baseline)
    assert os.listdir(tmp_path) == [archive.name]


def test_a_truncated_archive_is_refused_as_damaged(stack, baseline, tmp_path):
    archive = tmp_path / "truncated.tar.gz"
    data = baseline.archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    run = stack.fl("restore", str(archive), "--yes")
    assert run.code == 1 and "damaged: truncated" in run.err and "nothing was changed" in run.err, run.err
    assert_untouched_and_healthy(stack, baseline)
    assert os.listdir(tmp_path) == [archive.name]


def test_a_gzip_bomb_stops_at_the_size_cap(stack, baseline, tmp_path):
    with tarfile.open(baseline.archive) as src:
        real_bytes = sum(m.size for m in src.getmembers())
    cap = real_bytes + (1 << 20)
    bomb = entry("./zeros", size=64 << 20)
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(baseline.archive) as src, tarfile.open(archive, "w:gz") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        out.addfile(bomb[0], Zeros())
    assert archive.stat().st_size < (1 << 20) + baseline.archive.stat().st_size
    run = stack.fl("restore", str(archive), "--yes", FLDEPLOY_RESTORE_MAX_BYTES=str(cap))
    assert run.code == 1 and "size cap" in run.err and "'zeros'" in run.err, run.err
    assert "FLDEPLOY_RESTORE_MAX_BYTES" in run.err
    assert_untouched_and_healthy(stack, baseline)
    assert os.listdir(tmp_path) == [archive.name]


def test_setuid_and_setgid_bits_are_not_restored(stack, baseline, tmp_path):
    current = tmp_path / "current.tar.gz"
    assert stack.fl("backup", str(current)).code == 0
    archive = build(current, tmp_path / "suid.tar.gz", extra=[
        entry("./uploads/", tarfile.DIRTYPE, mode=0o3777), entry("./uploads/tool", data=b"#!/bin/sh\n", mode=0o6755)])
    run = stack.fl("restore", str(archive), "--yes", "--json")
    entries = volume_entries(stack)
    assert entries["uploads/tool"] == "755 f" and entries["uploads"] == "777 d", "no setuid/setgid/sticky bit"
    assert run.code == 0, run.out
    assert run.json["data"]["special_bits_stripped"] == ["uploads", "uploads/tool"]
    safety = Path(run.json["data"]["saved_previous"])
    assert safety.parent == tmp_path and safety.stat().st_mode & 0o777 == 0o600
    assert safety.stat().st_uid == os.getuid(), "the safety copy belongs to whoever ran fldeploy"
    assert_untouched_and_healthy(stack, baseline)


def test_a_file_name_with_shell_syntax_is_only_a_name(stack, baseline, tmp_path):
    archive = tmp_path / "a';cd;cd ..;cd data;touch PWNED;'.tar.gz"  # cd's way to /data without a slash
    saved = stack.fl("backup", str(archive))
    assert saved.code == 0, saved.err
    assert archive.stat().st_mode & 0o777 == 0o600 and archive.stat().st_uid == os.getuid()
    after = admin(stack).new_chat("after the backup with the odd name")
    restored = stack.fl("restore", str(archive), "--yes")
    assert restored.code == 0, restored.err
    ids = chat_ids(stack)
    assert baseline.live in ids and after not in ids, "the archive was restored, nothing else happened"
    assert not [p for p in volume_entries(stack) if "PWNED" in p], "no command ran from the file name"
    others = [p.name for p in tmp_path.iterdir() if p != archive]
    assert len(others) == 1 and others[0].startswith(f"{volume(stack)}-before-restore-"), "only the safety copy"
    assert_untouched_and_healthy(stack, baseline)


def test_a_folder_with_a_colon_works(stack, baseline, tmp_path):
    folder = tmp_path / "backups:2026"
    archive = folder / "owui.tar.gz"
    saved = stack.fl("backup", str(archive))
    assert saved.code == 0, saved.err
    restored = stack.fl("restore", str(archive), "--yes", "--json")
    assert restored.code == 0, restored.out
    assert Path(restored.json["data"]["saved_previous"]).parent == folder
    assert_untouched_and_healthy(stack, baseline)


def test_backup_then_restore_keeps_a_chat_and_reads_old_archives(stack, baseline, tmp_path):
    kept = admin(stack).new_chat("kept by the round trip")
    archive = tmp_path / "round.tar.gz"
    saved = stack.fl("backup", str(archive), "--json")
    assert saved.code == 0 and saved.json["data"]["paused"] is True
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "./webui.db" in names and not [n for n in names if ".fldeploy" in n], "the layout of `tar -C /data .`"
    gone = admin(stack).new_chat("made after the round-trip backup")
    restored = stack.fl("restore", str(archive), "--yes")
    assert restored.code == 0, restored.err
    ids = chat_ids(stack)
    assert kept in ids and gone not in ids
    assert str(archive.parent) in restored.out, "the output names where the replaced data went"
    # an archive written by the old backup (the runbook's raw command) restores as well
    old = tmp_path / "old"
    old.mkdir()
    subprocess.run(["docker", "run", "--rm", "-v", f"{volume(stack)}:/data:ro", "-v", f"{old}:/backup",
                    "--entrypoint", "tar", stack.image, "-czf", "/backup/old.tar.gz", "-C", "/data", "."], check=True)
    gone = admin(stack).new_chat("made after the old-style backup")
    restored = stack.fl("restore", str(old / "old.tar.gz"), "--yes")
    assert restored.code == 0, restored.err
    assert kept in chat_ids(stack) and gone not in chat_ids(stack)
    assert_untouched_and_healthy(stack, baseline)


def test_a_volume_that_is_a_path_or_missing_is_refused_before_anything_runs(stack, baseline, tmp_path):
    home = tmp_path / "home-someone"
    home.mkdir()
    (home / "thesis.txt").write_text("years of work")
    missing = f"{stack.project}-no-such-volume"
    before = openwebui_started_at(stack)
    try:
        for value, says, code in ((str(home), "not a Docker volume name", 3), (missing, "no Docker volume", 1)):
            for args in (("backup", str(tmp_path / "x.tar.gz")), ("restore", str(baseline.archive), "--yes")):
                run = stack.fl(*args, FLDEPLOY_VOLUME=value)
                assert run.code == code and value in run.err and "volume" in run.err, run.err
                assert says in run.err or code == 3, "(settings may refuse a path first, also with exit 3)"
        assert (home / "thesis.txt").read_text() == "years of work"
        assert not (tmp_path / "x.tar.gz").exists()
        made = subprocess.run(["docker", "volume", "inspect", missing], capture_output=True)
        assert made.returncode != 0, "no volume was created under the wrong name"
        assert openwebui_started_at(stack) == before
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", missing], capture_output=True)
    assert_untouched_and_healthy(stack, baseline)


def test_backup_fails_when_open_webui_cannot_be_stopped(stack, baseline, tmp_path):
    # a real `docker compose stop` failure: this shell's docker CLI has no Compose plugin (an empty DOCKER_CONFIG,
    # as under sudo with another HOME)
    no_compose = str(tmp_path / "docker-config-without-compose")
    before = openwebui_started_at(stack)
    backup = stack.fl("backup", str(tmp_path / "inconsistent.tar.gz"), DOCKER_CONFIG=no_compose)
    restore = stack.fl("restore", str(baseline.archive), "--yes", DOCKER_CONFIG=no_compose)
    print(backup.err, restore.err)
    assert backup.code == 1 and "could not stop Open WebUI for a consistent copy" in backup.err, backup.err
    assert "no archive was written" in backup.err and "it still runs" in backup.err
    assert restore.code == 1 and "could not stop Open WebUI" in restore.err and "nothing was changed" in restore.err
    assert not (tmp_path / "inconsistent.tar.gz").exists(), "no inconsistent copy"
    assert os.listdir(baseline.archive.parent) == [baseline.archive.name], "no safety copy"
    assert openwebui_started_at(stack) == before
    assert_untouched_and_healthy(stack, baseline)


def test_backup_and_restore_report_when_open_webui_does_not_start_again(stack, baseline, tmp_path):
    # compose.override.yaml (the user's file) now needs a variable nobody set: `stop` works, `up` fails
    override = Path(stack.dir) / "compose.override.yaml"
    archive = tmp_path / "complete.tar.gz"
    runs = []
    try:
        for args in (("backup", str(archive)), ("restore", str(archive), "--yes")):
            override.write_text("services:\n  open-webui:\n    environment:\n"
                                "      NEEDED: ${FLDEPLOY_TEST_NEVER_SET:?set FLDEPLOY_TEST_NEVER_SET}\n")
            runs.append(stack.fl(*args))
            override.unlink()
            brought_back = stack.compose("up", "--detach", "--wait", "open-webui")
            assert brought_back.returncode == 0, brought_back.stderr
    finally:
        override.unlink(missing_ok=True)
    backup, restore = runs
    print(backup.err, restore.err)
    assert backup.code == 1, backup.err
    assert f"the backup is complete ({archive})" in backup.err and "did not start again" in backup.err
    assert "FLDEPLOY_TEST_NEVER_SET" in backup.err and "fix: run `fldeploy up`" in backup.err
    with tarfile.open(archive) as tar:
        assert "./webui.db" in tar.getnames(), "the archive itself is whole"
    assert restore.code == 1 and "did not start again" in restore.err, restore.err
    safety = next(p for p in tmp_path.iterdir() if p.name.startswith(f"{volume(stack)}-before-restore-"))
    assert f"the data it replaced is in {safety}" in restore.err
    assert_untouched_and_healthy(stack, baseline)


def test_a_failed_swap_is_rolled_back_and_names_the_safety_copy(stack, baseline, tmp_path):
    current = tmp_path / "current.tar.gz"
    assert stack.fl("backup", str(current)).code == 0
    mountpoint = subprocess.run(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", volume(stack)],
                                capture_output=True, text=True, check=True).stdout.strip()
    pinned = Path(mountpoint) / "zz-immutable"
    pinned.write_text("cannot be renamed")
    subprocess.run(["chattr", "+i", str(pinned)], check=True)  # not even root can rename it
    try:
        run = stack.fl("restore", str(current), "--yes")
    finally:
        subprocess.run(["chattr", "-i", str(pinned)], check=True)
        pinned.unlink()
    print(run.err)
    assert run.code == 1 and "rolled back" in run.err and "nothing was changed" in run.err, run.err
    safety = next(p for p in tmp_path.iterdir() if p.name.startswith(f"{volume(stack)}-before-restore-"))
    assert str(safety) in run.err, "the error names the safety copy"
    assert sorted(os.listdir(tmp_path)) == sorted([current.name, safety.name])
    assert_untouched_and_healthy(stack, baseline)


@pytest.fixture
def ballast(stack):
    """A few hundred MB of random data in the volume, so a copy takes seconds."""
    in_volume(stack, "dd", "if=/dev/urandom", "of=/data/ballast.bin", "bs=1M", "count=300", "status=none")
    yield
    in_volume(stack, "rm", "-f", "/data/ballast.bin")


def start_backup(stack: Stack, target: Path) -> subprocess.Popen:
    return subprocess.Popen(FLDEPLOY + ["backup", str(target)], env=stack.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def container_events(stack: Stack, since: float) -> list[dict]:
    done = subprocess.run(["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                           "--filter", "type=container", "--format", "{{json .}}"], capture_output=True, text=True)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    return [e for e in events if (e["Actor"]["Attributes"].get("io.fldeploy.project") == stack.project or
                                  e["Actor"]["Attributes"].get("com.docker.compose.project") == stack.project)]


def assert_helpers_gone_before_open_webui_started(stack: Stack, since: float) -> None:
    events = container_events(stack, since)
    helpers_destroyed = [e["timeNano"] for e in events if e["status"] == "destroy"
                         and "io.fldeploy.helper" in e["Actor"]["Attributes"]]
    started = [e["timeNano"] for e in events if e["status"] == "start"
               and e["Actor"]["Attributes"].get("com.docker.compose.service") == "open-webui"]
    assert helpers_destroyed and started, events
    helpers = [e["Actor"]["Attributes"] for e in events if "io.fldeploy.helper" in e["Actor"]["Attributes"]]
    assert not [h for h in helpers if h.get("com.docker.compose.service")], "no helper passes for a stack service"
    assert max(helpers_destroyed) < max(started), "every helper was gone before Open WebUI started again"


def test_ctrl_c_during_a_backup_leaves_nothing_behind(stack, baseline, ballast, tmp_path):
    target = tmp_path / "big.tar.gz"
    since = time.time()
    child = start_backup(stack, target)
    wait_for(lambda: any(p.stat().st_size > (20 << 20) for p in tmp_path.iterdir() if p.is_file()), 120,
             "the archive to grow")
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=300)
    print(err)
    time.sleep(2)  # a copy still running somewhere would show up now
    assert helpers_left(stack) == [], "no helper container is left"
    assert os.listdir(tmp_path) == [], "no partial archive"
    assert child.returncode == 130, err
    assert "interrupted: no archive was written" in err and "Open WebUI runs again" in err, err
    assert "ballast.bin" in volume_entries(stack)
    assert_untouched_and_healthy(stack, baseline)
    assert_helpers_gone_before_open_webui_started(stack, since)


def test_ctrl_c_during_a_restore_leaves_the_data_as_it_was(stack, baseline, ballast, tmp_path):
    archive = tmp_path / "big.tar.gz"
    assert stack.fl("backup", str(archive)).code == 0
    after = admin(stack).new_chat("made after the big backup")
    mountpoint = Path(subprocess.run(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", volume(stack)],
                                     capture_output=True, text=True, check=True).stdout.strip())

    def staged_bytes() -> int:
        return sum(f.stat().st_size for stage in mountpoint.glob(".fldeploy-restore-*") for f in stage.rglob("*")
                   if f.is_file())

    def safety_copy() -> Path | None:
        return next((p for p in tmp_path.iterdir() if p.name.startswith(f"{volume(stack)}-before-restore-")), None)

    since = time.time()
    child = subprocess.Popen(FLDEPLOY + ["restore", str(archive), "--yes"], env=stack.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: safety_copy() is not None, 300, "the safety copy")
    started = time.monotonic()  # then the new data is being unpacked: half of it is in
    wait_for(lambda: staged_bytes() > (20 << 20) or time.monotonic() - started > 3, 60, "the unpacking")
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=300)
    print(err)
    time.sleep(2)  # an unpacking still running somewhere would show up now
    assert helpers_left(stack) == [], "no helper container is left"
    # a fresh start reads the volume as it is (a running Open WebUI may still hold a deleted webui.db open)
    assert stack.compose("stop", "open-webui").returncode == 0
    assert stack.compose("up", "--detach", "--wait", "open-webui").returncode == 0
    assert after in chat_ids(stack), "the data is the data before the restore"
    assert child.returncode == 130, err
    safety = safety_copy()
    assert safety is not None
    assert "interrupted: nothing was changed" in err and f"it is also saved in {safety}" in err, err
    assert "Open WebUI runs again" in err
    assert sorted(os.listdir(tmp_path)) == sorted([archive.name, safety.name]), "no partial or scratch file"
    assert_untouched_and_healthy(stack, baseline)
    assert_helpers_gone_before_open_webui_started(stack, since)
