"""What `fldeploy restore` accepts from an archive, judged on tar member data alone (no I/O).

A restore runs as root inside a helper container with Open WebUI's data volume mounted, so an archive may
only hold regular files and folders below the volume: no links, devices or FIFOs, no absolute or `..` paths,
no setuid/setgid/sticky bits (stripped), and within a total-size and member-count cap (a gzip bomb stops at
the cap). Archives of the old `tar -C /data .` (members `./webui.db`) and of the new backup look the same.
"""
from __future__ import annotations

import tarfile
from dataclasses import dataclass, field

DATABASE = "webui.db"
MAX_RESTORE_BYTES = 20 * 1024 ** 3
MAX_RESTORE_MEMBERS = 500_000
# folders fldeploy keeps inside the volume while it swaps data in: never part of a backup
PRIVATE_PREFIX = ".fldeploy-"
SPECIAL_BITS = 0o7000
SHOWN_PROBLEMS = 8

KINDS = {tarfile.SYMTYPE: "a symbolic link", tarfile.LNKTYPE: "a hard link", tarfile.CHRTYPE: "a character device",
         tarfile.BLKTYPE: "a block device", tarfile.FIFOTYPE: "a FIFO", tarfile.CONTTYPE: "a contiguous file",
         tarfile.GNUTYPE_SPARSE: "a sparse file"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_RESTORE_BYTES
    max_members: int = MAX_RESTORE_MEMBERS


def shown(name: str) -> str:
    """A member name fit for a one-line message (names may hold quotes, newlines, anything)."""
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "...'"


def relative_name(name: str) -> str:
    """The member's path inside the volume: './a//b/' and 'a/b' are 'a/b'; the volume itself is ''."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


MAX_NAME_BYTES, MAX_PART_BYTES = 4096, 255  # PATH_MAX and NAME_MAX of the volume's filesystem


def path_problem(name: str) -> str | None:
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES or any(
            len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES for part in name.split("/")):
        return f"{shown(name[:80])}... is a name longer than a filesystem allows"
    if name.startswith("/"):
        return f"{shown(name)} is an absolute path"
    if ".." in name.split("/"):
        return f"{shown(name)} climbs out of the volume ('..')"
    if "\\" in name:
        return f"{shown(name)} holds a backslash"
    return None


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why this member cannot be restored, or None. Special mode bits are not a problem: they are stripped."""
    problem = path_problem(member.name)
    if problem:
        return problem
    if member.isdir() or member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        return None
    kind = KINDS.get(member.type, f"of tar type {member.type!r}")
    target = f" to {shown(member.linkname)}" if member.issym() or member.islnk() else ""
    return f"{shown(member.name)} is {kind}{target}"


def is_private(relative: str) -> bool:
    return relative.split("/", 1)[0].startswith(PRIVATE_PREFIX)


def restored_member(member: tarfile.TarInfo, name: str) -> tarfile.TarInfo:
    """A fresh header for an accepted member: only name, kind, size, permission bits, owner and time survive
    (no setuid/setgid/sticky, no PAX extras such as xattrs, which would carry file capabilities)."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if member.isdir() else tarfile.REGTYPE
    info.size = 0 if member.isdir() else member.size
    info.mode = member.mode & 0o777
    info.mtime = member.mtime
    info.uid, info.gid = member.uid, member.gid
    return info


@dataclass
class ArchiveCheck:
    """Judges members one at a time, so a reader can stop as soon as a cap is passed."""

    limits: Limits = field(default_factory=Limits)
    members: int = 0
    total_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    stripped: list[str] = field(default_factory=list)
    has_database: bool = False
    over_limit: bool = False
    _seen: set[str] = field(default_factory=set)
    _files: set[str] = field(default_factory=set)
    _folders: set[str] = field(default_factory=set)  # named, or implied as the parent of an accepted member

    def _refuse(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(problem)

    def add(self, member: tarfile.TarInfo) -> str | None:
        """The member's path inside the volume when it is accepted ('' for the volume itself), else None."""
        self.members += 1
        if self.members > self.limits.max_members:
            self.exceed(f"more than {self.limits.max_members} members (the member cap)")
            return None
        problem = member_problem(member)
        if problem:
            self._refuse(problem)
            return None
        name = relative_name(member.name)
        if not name and not member.isdir():
            self._refuse(f"{shown(member.name)} is a file where the volume's folder belongs")
            return None
        if name in self._seen and not (member.isdir() and name not in self._files):
            self._refuse(f"{shown(name)} appears twice")
            return None
        parents = name.split("/")[:-1]
        clash = next(("/".join(parents[:i]) for i in range(1, len(parents) + 1)
                      if "/".join(parents[:i]) in self._files), None)
        if clash is not None:
            self._refuse(f"{shown(name)} lies under {shown(clash)}, which is a file")
            return None
        if not member.isdir() and name in self._folders:  # extraction would replace the folder judged before
            self._refuse(f"{shown(name)} is a file where the archive already has a folder")
            return None
        self._folders.update("/".join(parents[:i]) for i in range(1, len(parents) + 1))
        if member.isdir():
            self._folders.add(name)
        self._seen.add(name)
        if not member.isdir():
            self._files.add(name)
            self.total_bytes += member.size
            if self.total_bytes > self.limits.max_bytes:
                self.exceed(f"more than {self.limits.max_bytes} bytes unpacked (the size cap), "
                           f"reached at {shown(name)}")
                return None
            if name == DATABASE:
                self.has_database = True
        if member.mode & SPECIAL_BITS:
            self.stripped.append(name)
        return name

    def exceed(self, problem: str) -> None:
        if not self.over_limit:
            self.over_limit = True
            self._refuse(problem)

    def finish(self) -> list[str]:
        """Every problem found, with the ones only the whole archive shows; [] means it can be restored."""
        problems = list(self.problems)
        if not self.has_database and not self.over_limit:
            problems.append(f"it holds no {DATABASE} (Open WebUI's database): not a backup of Open WebUI's data")
        hidden = self.problem_count - len(self.problems)
        if hidden > 0:
            problems.append(f"and {hidden} more")
        return problems


def summary(problems: list[str]) -> str:
    return "; ".join(problems)
