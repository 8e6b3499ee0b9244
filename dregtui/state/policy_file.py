"""A policy file read with bounds (a regular file, at most SETTINGS_MAX bytes, UTF-8), then
parsed by :func:`dregtui.core.policy.rules.parse_policy`."""

from __future__ import annotations

from pathlib import Path

from dregtui.core.policy.rules import Policy, PolicyError, parse_policy
from dregtui.state.userfiles import SETTINGS_MAX, UserFileError, read_user_file


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (no request to any registry). A FIFO, a device, a
    file over SETTINGS_MAX: one PolicyError, never a wait."""
    name = str(path)
    try:
        raw = read_user_file(path, "policy file", SETTINGS_MAX)
    except UserFileError as exc:
        raise PolicyError(str(exc)) from None
    if raw is None:
        raise PolicyError(f"The policy file {name} does not exist.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{name}: not UTF-8 text; not a policy file.") from None
    return parse_policy(text, name)
