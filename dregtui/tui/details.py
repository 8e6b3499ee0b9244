"""The image facts (size, created, layers) the panes show, cached by digest.

They are fetched in worker threads (:func:`dregtui.ops.imagefacts.image_facts`, the rule for
sizes and created dates that --older-than and the date order share). A digest's content never
changes, so an entry is valid for as long as the app runs.
"""

from __future__ import annotations

import threading

from dregtui.ops.imagefacts import ImageFacts


class DetailsCache:
    """Thread-safe digest -> ImageFacts map."""

    def __init__(self, initial: dict[str, ImageFacts] | None = None) -> None:
        self._items: dict[str, ImageFacts] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, digest: str) -> ImageFacts | None:
        return self._items.get(digest)

    def put(self, details: ImageFacts) -> None:
        with self._lock:
            self._items[details.digest] = details

    def __contains__(self, digest: str) -> bool:
        return digest in self._items

    def missing(self, digests: list[str]) -> list[str]:
        return [d for d in dict.fromkeys(digests) if d not in self._items]
