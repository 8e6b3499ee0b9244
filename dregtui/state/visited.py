"""The repository last visited in the TUI, per registry: the browser opens on it next time.

A small JSON object in the user state dir (``<platformdirs user_state_dir>/dregtui/visited.json``,
XDG_STATE_HOME on Linux), registry URL -> repository name. It is a convenience: a file that
cannot be read or written is ignored (the TUI opens on the first repository instead).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from dregtui.state.userfiles import ConfigError, atomic_write, read_user_file

VISITED_NAME = "visited.json"
VISITED_MAX = 64 * 1024  # bytes read at most: a few hundred registries
KEPT = 100  # registries remembered (the most recent)


def default_visited_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("dregtui", appauthor=False)) / VISITED_NAME


def _read(path: Path) -> dict[str, str]:
    try:
        data = read_user_file(path, "visited file", VISITED_MAX)
        found = json.loads(data) if data else {}
    except (ConfigError, ValueError, RecursionError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def last_visited(registry: str, path: Path | None = None) -> str | None:
    """The repository last visited on ``registry`` (its URL), if any was remembered."""
    return _read(path or default_visited_path()).get(registry)


def remember_visited(registry: str, repository: str, path: Path | None = None) -> None:
    """Remember ``repository`` as the last visited on ``registry``; quietly nothing when the
    file cannot be written (a read-only home)."""
    path = path or default_visited_path()
    found = _read(path)
    if found.get(registry) == repository:
        return
    found.pop(registry, None)
    found[registry] = repository  # the newest last: the oldest go first past KEPT
    kept = dict(list(found.items())[-KEPT:])
    with contextlib.suppress(OSError, ConfigError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(kept, indent=1).encode())
