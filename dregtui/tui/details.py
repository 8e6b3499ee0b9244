"""What the digest pane shows about a manifest, fetched through the registry client.

Runs in worker threads only (it does network I/O). Results are cached by digest: a digest's
content never changes, so an entry is valid for as long as the app runs.
"""

from __future__ import annotations

import threading

from dregtui.ops.imagefacts import ImageFacts, image_facts
from dregtui.ops.imagefacts import Layer as Layer

# The digest pane shows the core's image facts: one rule for sizes and created dates, shared
# with --older-than and the date sort (dregtui.ops.imagefacts).
Details = ImageFacts
fetch_details = image_facts


class DetailsCache:
    """Thread-safe digest -> Details map."""

    def __init__(self, initial: dict[str, Details] | None = None) -> None:
        self._items: dict[str, Details] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, digest: str) -> Details | None:
        return self._items.get(digest)

    def put(self, details: Details) -> None:
        with self._lock:
            self._items[details.digest] = details

    def __contains__(self, digest: str) -> bool:
        return digest in self._items

    def missing(self, digests: list[str]) -> list[str]:
        return [d for d in dict.fromkeys(digests) if d not in self._items]
