"""Small helpers for the words the CLI and the TUI show."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 manifest``, ``2 manifests``, ``1 repository``, ``0 repositories``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"
