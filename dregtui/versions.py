"""Tags as versions: parsing (a leading ``v`` tolerated) and the sort order used everywhere."""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=65536)
def parse_version(tag: str) -> Version | None:
    """The tag as a version, or None when it is not one (``latest``, ``sha256-....sig``)."""
    text = tag[1:] if tag[:1] in ("v", "V") and tag[1:2].isdigit() else tag
    try:
        return Version(text)
    except InvalidVersion:
        return None


def version_key(tag: str) -> tuple[int, Version | str, str]:
    """Sort key: versions first in version order, then other tags by name."""
    version = parse_version(tag)
    if version is None:
        return (1, tag, tag)
    return (0, version, tag)


def sort_tags(tags: list[str] | set[str], *, reverse: bool = False) -> list[str]:
    return sorted(tags, key=version_key, reverse=reverse)
