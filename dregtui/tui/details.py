"""The image facts (size, created, layers) the panes show, cached by digest.

They are fetched in worker threads (:func:`dregtui.ops.imagefacts.image_facts`, the rule for
sizes and created dates that --older-than and the date order share). A digest's content never
changes, so an entry is valid for as long as the app runs. An image's history is added to its
entry when the digest pane asks for it (:meth:`DetailsCache.add_history`), and kept when the
facts are fetched again.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from dregtui.core.oci.history import ImageHistory
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
            known = self._items.get(details.digest)
            if known is not None and known.history is not None and details.history is None:
                details = replace(details, history=known.history)
            self._items[details.digest] = details

    def add_history(self, digest: str, history: ImageHistory) -> None:
        """``history`` joins the digest's facts (which are loaded first: the pane asks once it
        shows them)."""
        with self._lock:
            known = self._items.get(digest)
            if known is not None:
                self._items[digest] = replace(known, history=history)

    def __contains__(self, digest: str) -> bool:
        return digest in self._items

    def missing(self, digests: list[str]) -> list[str]:
        return [d for d in dict.fromkeys(digests) if d not in self._items]
