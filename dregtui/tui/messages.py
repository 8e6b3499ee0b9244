"""Typed messages: what worker threads post back to the UI thread, and what the main screen
asks of the App."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from dregtui.ops.imagefacts import ImageFacts


class CatalogLoaded(Message):
    """The repository names arrived (tags may still be unknown)."""

    def __init__(self, repositories: list[str]) -> None:
        super().__init__()
        self.repositories = repositories


class CacheLoaded(Message):
    """The cache, read in the background, is ready (None: unusable, ``warning`` says why)."""

    def __init__(self, inventory: Any, warning: str = "") -> None:
        super().__init__()
        self.inventory = inventory
        self.warning = warning


class RepositoryScanned(Message):
    """One repository's tags are now in the inventory."""

    def __init__(self, repository: str) -> None:
        super().__init__()
        self.repository = repository


class RowsReady(Message):
    """A big repository's rows for ``text`` (the filter then) are worked out."""

    def __init__(self, repository: str, text: str) -> None:
        super().__init__()
        self.repository = repository
        self.text = text


class RescanProgress(Message):
    """How far the rescan of one repository is (the old tags stay on screen meanwhile)."""

    def __init__(self, repository: str, done: int, total: int) -> None:
        super().__init__()
        self.repository = repository
        self.done = done
        self.total = total


class ScanProgress(Message):
    """Scan progress; a newer one replaces a queued older one."""

    def __init__(
        self,
        done: int,
        total: int,
        finished: bool = False,
        tags: int = 0,
        rate: float = 0.0,
        tags_total: int = 0,
    ) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.finished = finished
        self.tags = tags
        self.rate = rate
        self.tags_total = tags_total  # tags listed so far (the repositories' lists)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress) and not message.finished


class DetailsLoaded(Message):
    def __init__(self, details: list[ImageFacts]) -> None:
        super().__init__()
        self.details = details


class DatesProgress(Message):
    """Created dates being fetched for the date order; a newer one replaces a queued one."""

    def __init__(self, repository: str, done: int, total: int, finished: bool = False) -> None:
        super().__init__()
        self.repository = repository
        self.done = done
        self.total = total
        self.finished = finished

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DatesProgress) and not message.finished


class DeleteProgress(Message):
    def __init__(self, done: int, total: int, label: str = "") -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.label = label

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DeleteProgress)


NOT_STARTED = "not started"  # the status of an item a cancelled deletion never began


@dataclass
class Outcome:
    """One line of a result screen."""

    repository: str
    digest: str
    tags: list[str]
    status: str  # deleted | untagged | skipped | failed | restored | not started
    reason: str = ""


class DeleteFinished(Message):
    def __init__(self, outcomes: list[Outcome], batch: Any = None, cancelled: bool = False) -> None:
        super().__init__()
        self.outcomes = outcomes
        self.batch = batch
        self.cancelled = cancelled


class RestoreFinished(Message):
    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


class PolicyApplied(Message):
    """A policy was evaluated (``outcome``), or could not be (``error``: one sentence)."""

    def __init__(self, outcome: Any = None, error: str = "") -> None:
        super().__init__()
        self.outcome = outcome
        self.error = error


class SpaceReady(Message):
    """The space accounting of the inventory was built (``space``), off the UI thread."""

    def __init__(self, space: Any, sizes: dict[str, int]) -> None:
        super().__init__()
        self.space = space
        self.sizes = sizes


class FreesWorkedOut(Message):
    """What the marks (as of ``key``) free once deleted: bytes, and whether every size is known."""

    def __init__(self, key: tuple[int, ...], frees: int | None, known: bool) -> None:
        super().__init__()
        self.key = key
        self.frees = frees
        self.known = known


# -- what the main screen asks of the App (it owns the scan and the cache) --------------------


class RescanRepository(Message):
    """Scan one repository again (r)."""

    def __init__(self, repository: str) -> None:
        super().__init__()
        self.repository = repository


class RescanAll(Message):
    """Scan the whole registry again (R)."""


class ScanFirst(Message):
    """The user opened a repository not scanned yet: it goes first (or alone)."""

    def __init__(self, repository: str) -> None:
        super().__init__()
        self.repository = repository


class CacheUnusable(Message):
    """The cache's rest was damaged: scan as without a cache (when scanning is allowed)."""
