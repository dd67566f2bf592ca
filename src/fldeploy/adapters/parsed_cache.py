"""A parsed file remembered as JSON until the file changes: `ports` and `doctor` skip importing PyYAML (~20 ms
of their start-up) for a settings file they already parsed. The file is still parsed by the one YAML reader,
with all its checks, whenever its size, inode, mtime or ctime differ from the remembered ones."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable


def _fingerprint(path: Path, version: str) -> list:
    st = os.stat(path)
    return [version, str(path.resolve()), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _trusted(f) -> bool:
    """The cache file is this user's and nobody else may write it (POSIX); on Windows the profile's ACL."""
    info = os.fstat(f.fileno())
    getuid = getattr(os, "getuid", None)
    return getuid is None or (info.st_uid == getuid() and not info.st_mode & 0o022)


def parsed(path: Path, parse: Callable[[], dict[str, Any]], cache_file: str, version: str) -> dict[str, Any]:
    """parse()'s result for path, from cache_file when path is unchanged since this version of the parser
    stored it (another fldeploy version may read the file differently: it parses again)."""
    try:
        key = _fingerprint(path, version)
    except OSError:
        return parse()
    try:
        with open(cache_file, encoding="utf-8") as f:
            entry = json.load(f) if _trusted(f) else {}
        if entry["key"] == key:
            return {name: tuple(value) for name, value in entry["parsed"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    result = parse()
    try:
        text = json.dumps({"key": key, "parsed": result})
    except (TypeError, ValueError):  # a value JSON cannot hold (a YAML date): parse each time
        return result
    _store(cache_file, text)
    return result


def _store(cache_file: str, text: str) -> None:
    import tempfile

    from .platform import set_mode

    try:
        folder = os.path.dirname(cache_file)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".parsed.", dir=folder)
        try:
            set_mode(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, cache_file)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    except OSError:
        pass  # a cache that cannot be written only costs the next run the parse
