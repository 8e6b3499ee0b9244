"""A registry's URL as the user writes it (``host:5000``, ``https://u:p@host/v2``) and as the
client uses it (``https://host:5000``, user info apart), checked once."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """Drop any ``user:password@`` from a URL (and the query, which may hold tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def normalize_url(url: str) -> str:
    """``host:5000`` -> ``https://host:5000``; strips a trailing slash and ``/v2``."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    url = url.rstrip("/")
    if url.endswith("/v2"):
        url = url[:-3]
    return url.rstrip("/")


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``https://u:p@host`` -> (``https://host``, u, p)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) if password else None


def parse_registry_url(text: str) -> tuple[str, str | None, str | None]:
    """The one URL check: ``text`` (``host[:port]`` or a URL, maybe with ``user:pass@``) ->
    (base URL without user info, user, password). ValueError with one sentence otherwise."""
    try:
        url, user, password = split_userinfo(normalize_url(text))
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid, url, user, password = False, text, None, None
    if valid and not _valid_host(urlsplit(url).hostname or ""):
        host = urlsplit(url).hostname or ""
        shown = host if len(host) <= 80 else host[:77] + "..."
        raise ValueError(
            f"The registry host {shown!r} is not a valid host name: each part between dots "
            f"has 1 to {MAX_HOST_LABEL} characters, the whole at most {MAX_HOST_NAME}."
        )
    if not valid:
        shown = redact_url(text)
        what = (
            "The registry URL is malformed"
            if shown.startswith("<")
            else (f"{shown} is not a registry URL")
        )
        raise ValueError(f"{what}; give https://host[:port] or host[:port].")
    return url, user, password


MAX_HOST_LABEL = 63  # characters between two dots of a host name (RFC 1035)
MAX_HOST_NAME = 253  # characters of a whole host name


def _valid_host(host: str) -> bool:
    """Whether a connection can be made to ``host`` by name: each dot-separated part 1 to 63
    characters, the whole at most 253 (urllib3 refuses others only when it connects, in its
    own words). An IPv6 literal passes."""
    if ":" in host:
        return True
    try:
        return len(host.encode("idna")) <= MAX_HOST_NAME
    except UnicodeError:  # a part empty or too long, or not a name in any script
        return False
