"""Masking of credentials in URLs wherever settings or findings are shown. Pure.

A URL may carry credentials in its user-info (`http://user:secret@host`, or a token as the user name:
`https://TOKEN@host`) or in its query (`?api_key=...`, `&token=...`, signed-URL signatures). What fldeploy
shows (config, render, doctor, the support bundle) masks them; what it writes for the stack keeps them.
"""
from __future__ import annotations

import re
from typing import Any

MASK = "********"  # the same mask as settings.MASK
# query parameter names whose values are credentials (matched as parts of the lower-cased name)
SECRET_PARAMS = ("token", "key", "secret", "pass", "pwd", "sig", "auth", "credential", "session", "code")
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
# user-info wherever a text shows it, quotes included (a URL cut at a quote would keep its password)
USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/\s@]+)@")
_PARAM = re.compile(r"(^|[&;])([^=&;#]+)=([^&;#]*)")


def _secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_PARAMS)


def _mask_query(query: str) -> str:
    def one(match: re.Match) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={MASK}" if value and _secret_param(name) else match.group(0)
    return _PARAM.sub(one, query)


def mask_url(url: str) -> str:
    """The URL with the password of its user-info (or a lone user name, often a token) and the values of
    credential-like query parameters replaced by the mask; everything else kept as written."""
    if not isinstance(url, str) or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:{MASK}" if password else user
        elif userinfo:
            userinfo = MASK
        authority = f"{userinfo}@{hostport}"
    path, q, query = tail.partition("?")
    if q:
        query, hash_, fragment = query.partition("#")
        tail = f"{path}?{_mask_query(query)}{hash_}{_mask_query(fragment) if hash_ else ''}"
    elif "#" in tail:
        path, hash_, fragment = tail.partition("#")
        tail = f"{path}#{_mask_query(fragment)}"
    return f"{scheme}://{authority}{tail}"


def mask_text(text: str) -> str:
    """Every URL inside a free text masked with mask_url (findings, notes, logs)."""
    if not isinstance(text, str) or "://" not in text:
        return text
    text = USERINFO_IN_TEXT.sub(_mask_userinfo, text)
    return URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def _mask_userinfo(match: re.Match) -> str:
    user, colon, _ = match.group(2).partition(":")
    return f"{match.group(1)}{user}:{MASK}@" if colon else f"{match.group(1)}{MASK}@"


def mask_data(value: Any) -> Any:
    """mask_text applied to every string of a JSON-like structure (dict keys kept)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_data(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_data(v) for v in value)
    return value
