"""Small helpers for the words the CLI and the TUI show."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 manifest``, ``2 manifests``, ``1 repository``, ``0 repositories``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


# What a figure from the API alone says of itself (plans' "frees", du), in text and JSON.
UPPER_BOUND_NOTE = (
    "counts only what tags reference: an upper bound if the registry holds untagged "
    "manifests (--storage or --registry-config makes it exact)"
)
