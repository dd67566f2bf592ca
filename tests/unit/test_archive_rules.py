"""The restore rules on tar member data alone: what may enter Open WebUI's data volume."""
from __future__ import annotations

import tarfile

import pytest

from fldeploy.core.archive_rules import (PRIVATE_PREFIX, ArchiveCheck, Limits, is_private, member_problem,
                                         relative_name, restored_member)


def member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 10, mode: int = 0o644, link: str = "",
           ) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.linkname = kind, size, mode, link
    return info


def folder(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    return member(name, tarfile.DIRTYPE, 0, mode)


def judge(*members: tarfile.TarInfo, limits: Limits = Limits()) -> tuple[ArchiveCheck, list[str]]:
    check = ArchiveCheck(limits)
    for m in members:
        check.add(m)
        if check.over_limit:
            break
    return check, check.finish()


@pytest.mark.parametrize("name, inside", [("./webui.db", "webui.db"), ("webui.db", "webui.db"), ("./", ""),
                                          (".", ""), ("./uploads//a.txt", "uploads/a.txt")])
def test_old_and_new_layouts_name_the_same_paths(name, inside):
    assert relative_name(name) == inside


def test_a_backup_of_the_old_and_the_new_kind_is_accepted():
    for prefix in ("./", ""):
        check, problems = judge(folder(prefix or "."), member(f"{prefix}webui.db"), folder(f"{prefix}uploads"),
                                member(f"{prefix}uploads/a.pdf"))
        assert problems == [] and check.has_database and check.total_bytes == 20


@pytest.mark.parametrize("bad, says", [
    (member("../escape.txt"), "climbs out"),
    (member("./uploads/../../etc/passwd"), "climbs out"),
    (member("/etc/cron.d/x"), "absolute path"),
    (member("./evil", tarfile.SYMTYPE, 0, link="/etc"), "symbolic link to '/etc'"),
    (member("./hard", tarfile.LNKTYPE, 0, link="./missing"), "hard link to './missing'"),
    (member("./dev", tarfile.CHRTYPE, 0), "character device"),
    (member("./disk", tarfile.BLKTYPE, 0), "block device"),
    (member("./pipe", tarfile.FIFOTYPE, 0), "FIFO"),
    (member("./sparse", tarfile.GNUTYPE_SPARSE), "sparse file"),
])
def test_anything_but_plain_files_and_folders_below_the_volume_is_refused(bad, says):
    assert says in (member_problem(bad) or "")
    _, problems = judge(member("./webui.db"), bad)
    assert len(problems) == 1 and says in problems[0]


def test_setuid_setgid_and_sticky_bits_are_stripped_not_refused():
    check, problems = judge(member("./webui.db"), member("./tool", mode=0o6755), folder("./tmp", 0o1777))
    assert problems == [] and check.stripped == ["tool", "tmp"]
    assert restored_member(member("./tool", mode=0o6755), "./tool").mode == 0o755
    assert restored_member(folder("./tmp", 0o1777), "./tmp").mode == 0o777


def test_a_rebuilt_header_carries_no_link_owner_names_or_pax_extras():
    original = member("./a", mode=0o4755)
    original.uname, original.pax_headers = "root", {"SCHILY.xattr.security.capability": "x"}
    rebuilt = restored_member(original, "stage/a")
    assert (rebuilt.name, rebuilt.type, rebuilt.size, rebuilt.uname, rebuilt.pax_headers) == \
        ("stage/a", tarfile.REGTYPE, 10, "", {})


def test_the_size_cap_stops_a_gzip_bomb_at_the_member_that_passes_it():
    check, problems = judge(member("./webui.db", size=10), member("./zeros", size=10 ** 12), member("./more"),
                            limits=Limits(max_bytes=1000))
    assert check.over_limit and check.members == 2
    assert any("size cap" in p and "'zeros'" in p for p in problems)
    assert not any("webui.db" in p for p in problems), "the cap is the reason, not a missing database"


def test_the_member_cap_stops_an_archive_of_countless_empty_files():
    many = [member(f"./f{i}", size=0) for i in range(50)]
    check, problems = judge(member("./webui.db"), *many, limits=Limits(max_members=20))
    assert check.over_limit and check.members == 21 and "member cap" in problems[0]


def test_an_archive_without_the_database_is_not_a_backup_of_open_webui():
    _, problems = judge(folder("."), member("./uploads/a.pdf"))
    assert problems == ["it holds no webui.db (Open WebUI's database): not a backup of Open WebUI's data"]
    _, problems = judge(folder("./webui.db"))
    assert "no webui.db" in problems[0], "a folder named webui.db is no database"


def test_duplicates_and_files_under_files_are_refused():
    _, problems = judge(member("./webui.db"), member("./a"), member("a"))
    assert problems == ["'a' appears twice"]
    _, problems = judge(member("./webui.db"), member("./a"), member("./a/b"))
    assert problems == ["'a/b' lies under 'a', which is a file"]
    _, problems = judge(member("./webui.db"), folder("./d"), folder("d"), member("./d/x"))
    assert problems == [], "a folder listed twice is harmless"


def test_many_problems_are_summed_up_not_listed_forever():
    _, problems = judge(member("./webui.db"), *[member(f"../x{i}") for i in range(30)])
    assert len(problems) == 9 and problems[-1] == "and 22 more"


def test_names_in_messages_are_quoted_and_short():
    problem = member_problem(member("../" + "a';touch PWNED;'\n" * 20)) or ""
    assert "\n" not in problem and len(problem) < 140


def test_fldeploys_own_staging_folders_are_private():
    assert is_private(f"{PRIVATE_PREFIX}restore-1/webui.db") and not is_private("uploads/.fldeploy-x")


def test_a_file_cannot_replace_a_folder_the_archive_already_has():
    from fldeploy.core.archive_rules import ArchiveCheck

    check = ArchiveCheck()
    for name, kind in (("a/b", tarfile.DIRTYPE), ("a/b/x", tarfile.REGTYPE), ("a", tarfile.REGTYPE)):
        member = tarfile.TarInfo(name)
        member.type = kind
        check.add(member)
    assert any("already has a folder" in p for p in check.problems), check.problems


def test_names_longer_than_a_filesystem_allows_are_refused():
    from fldeploy.core.archive_rules import path_problem

    assert "longer than a filesystem allows" in path_problem("x" * 256)
    assert "longer than a filesystem allows" in path_problem("/".join(["d"] * 2100))
    assert path_problem("a/" * 10 + "webui.db") is None


def test_a_huge_metadata_header_is_refused_without_reading_it(tmp_path):
    """A 1 GiB pax header in a ~1 MB gzip (what the review built): refused as damaged, memory stays small."""
    import gzip
    import resource

    from fldeploy.adapters.archive_stream import BoundedTarInfo

    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 1 << 30
    bomb = tmp_path / "bomb.tar.gz"
    with gzip.open(bomb, "wb") as out:
        out.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        zeros = bytes(1 << 20)
        for _ in range(64):  # 64 MiB of the declared GiB is enough to prove the read is never attempted
            out.write(zeros)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(tarfile.ReadError, match="metadata header"):
        with tarfile.open(bomb, mode="r|gz", tarinfo=BoundedTarInfo) as tar:
            for _ in tar:
                pass
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB
