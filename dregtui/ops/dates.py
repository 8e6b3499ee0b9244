"""Created dates of images, looked up lazily from the image config and cached by digest.

``CreatedDates(client, jobs=8)`` is a :data:`dregtui.core.selection.CreatedLookup`: call it with
(repository, digest) pairs and it returns digest -> created date (None when unknown), fetching
only digests it has not seen, concurrently. For an index, the newest date of its children's
configs is used. ``.known`` holds the cache (digest -> ISO string or None) so a caller may keep
it between runs; pass it back as ``known=``: :func:`load_known` / :func:`save_known` keep it in
``<user cache dir>/dregtui/created/<registry>.json`` (a digest's created date never changes).
Unknown dates (lookup failed) are not persisted, so they are retried next time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from dregtui.core.registry_api import RegistryAPI
from dregtui.ops.imagefacts import image_facts
from dregtui.ops.imagefacts import parse_created as parse_created

# digest -> date, ~100 bytes a digest: a million images are about 100 MB
DATES_MAX = 512 * 1024 * 1024  # bytes


class CreatedDates:
    def __init__(
        self, client: RegistryAPI, jobs: int = 8, known: Mapping[str, str | None] | None = None
    ):
        self.client = client
        self.jobs = max(1, jobs)
        self.known: dict[str, str | None] = dict(known or {})
        self._lock = threading.Lock()

    def _lookup(self, repository: str, digest: str) -> str | None:
        """The created date by the one rule of :mod:`dregtui.ops.imagefacts` (an index: the
        newest of its children's); None when unknown."""
        facts = image_facts(self.client, repository, digest)
        return None if facts.error else facts.created

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> dict[str, datetime | None]:
        todo: dict[str, str] = {}
        with self._lock:
            for repository, digest in pairs:
                if digest not in self.known and digest not in todo:
                    todo[digest] = repository
        if todo:
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
                found = dict(
                    zip(todo, pool.map(lambda d: self._lookup(todo[d], d), todo), strict=True)
                )
            with self._lock:
                self.known.update(found)
        return {d: parse_created(self.known.get(d)) for _, d in pairs}


# -- persistence: created dates never change for a digest, so they are kept between runs ----


def dates_path(registry_url: str) -> Path:
    from dregtui.state.cache import cache_name, default_cache_dir

    return default_cache_dir() / "created" / cache_name(registry_url)


def load_known(registry_url: str) -> dict[str, str | None]:
    """Previously looked-up dates of this registry (digest -> ISO date or None); {} if none."""
    from dregtui.core.documents import loads_json
    from dregtui.state.userfiles import UserFileError, read_user_file

    try:
        doc = loads_json(read_user_file(dates_path(registry_url), "dates file", DATES_MAX) or b"{}")
    except (UserFileError, ValueError):  # only a cache: looked up again
        return {}
    if not isinstance(doc, dict) or doc.get("registry") != registry_url:
        return {}
    known = doc.get("created")
    if not isinstance(known, dict):
        return {}
    return {str(k): v if isinstance(v, str) else None for k, v in known.items()}


def save_known(registry_url: str, known: Mapping[str, str | None]) -> None:
    """Write the lookups (atomically, 0600); failures are ignored (it is only a cache)."""
    from dregtui.state.userfiles import atomic_write

    doc = {"registry": registry_url, "created": {k: v for k, v in known.items() if v}}
    path = dates_path(registry_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())
    except OSError:
        pass
