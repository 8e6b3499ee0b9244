"""What the TUI knows from the registry's storage: each repository's untagged manifests (as the
tree's "untagged" node and its list show them), the tags' histories, the marks on untagged
manifests and the plan items they become. No Textual here.

Which untagged manifests can be marked is :func:`dregtui.core.collect.untagged_candidates`'s
answer, as ``remove-untagged`` takes them: never a child of an index that stays, never a
referrer of a manifest that stays, never one linked less than :data:`GRACE` ago (a push in
progress). The others are listed too, unmarkable, with why they stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dregtui.core.collect import Candidate, Marks, plan_item, untagged_candidates
from dregtui.core.plan_model import Action, Plan
from dregtui.core.stored import StorageView, StoredRepository
from dregtui.tui.marks import Marks as MarkSet

GRACE = 3600.0  # seconds: remove-untagged's --older-than default (a push in progress)

# The tree's last line while nothing is known about untagged manifests (never a zero); short:
# the tree is 22 columns wide at 80 (the help says how to give the storage).
UNKNOWN = "untagged: unknown"
READING = "untagged: reading…"
UNREADABLE = "untagged: unreadable"

KEPT_NEEDED = "kept: an index or manifest that stays needs it"
KEPT_YOUNG = "kept: linked less than 1h ago (a push may be in progress)"


def when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class UntaggedManifest:
    """One row of a repository's untagged list."""

    repository: str
    digest: str
    size: int  # bytes only it holds: what garbage-collect frees once it alone is unlinked
    linked: float  # when its revision link was written
    was: str  # "was latest until 2026-12-01 10:00", or ""
    kept: str  # why it cannot be marked, or "" for a candidate
    candidate: Candidate | None = None


@dataclass(frozen=True, slots=True)
class RepositoryUntagged:
    """The tree node's figures and the list: ``size`` is what taking every candidate frees."""

    manifests: tuple[UntaggedManifest, ...]
    size: int


def was_tagged(repository: StoredRepository, digest: str) -> str:
    """ "was <tag> until <date>": the newest time a tag moved away from ``digest``."""
    best: tuple[float, str] | None = None
    for tag, history in repository.history.items():
        for (pointed, _), (_, moved) in zip(history, history[1:], strict=False):
            if (
                pointed == digest
                and pointed != history[-1][0]
                and (best is None or moved > best[0])
            ):
                best = (moved, tag)
    return f"was {best[1]} until {when(best[0])}" if best else ""


def summarise(marks: Marks, now: float) -> dict[str, RepositoryUntagged]:
    """Every repository's untagged manifests, newest first (any thread: slow for a big
    storage)."""
    view = marks.view
    names = list(view.repositories)
    taken = {
        (c.repository, c.digest): c
        for c in untagged_candidates(marks, names, older_than=GRACE, now=now)
    }
    every = {
        (c.repository, c.digest) for c in untagged_candidates(marks, names, older_than=0, now=now)
    }
    by_repository: dict[str, list[tuple[str, str]]] = {}
    for key in every:
        by_repository.setdefault(key[0], []).append(key)
    out: dict[str, RepositoryUntagged] = {}
    for name, repository in view.repositories.items():
        rows = []
        for digest, linked in repository.untagged.items():
            key = (name, digest)
            kept = "" if key in taken else KEPT_YOUNG if key in every else KEPT_NEEDED
            rows.append(
                UntaggedManifest(
                    name,
                    digest,
                    marks.frees([key]),
                    linked,
                    was_tagged(repository, digest),
                    kept,
                    taken.get(key),
                )
            )
        rows.sort(key=lambda r: (-r.linked, r.digest))
        size = marks.frees(by_repository.get(name, []))
        out[name] = RepositoryUntagged(tuple(rows), size)
    return out


@dataclass
class StorageState:
    """The storage as last read (None: not given, being read, or unreadable: ``note`` says
    which), what the tree and the untagged lists show, and the marks on untagged manifests."""

    given: bool = False
    view: StorageView | None = None
    collect: Marks | None = None  # garbage-collect's marking of ``view``
    untagged: dict[str, RepositoryUntagged] = field(default_factory=dict)
    note: str = UNKNOWN  # the tree's one line while nothing is known about untagged manifests
    marks: MarkSet = field(default_factory=MarkSet)  # (repository, digest)
    error: str = ""  # why the last read failed

    def read(self, collect: Marks, untagged: dict[str, RepositoryUntagged]) -> None:
        self.view, self.collect, self.untagged, self.note = collect.view, collect, untagged, ""
        self.error = ""
        markable = {
            (m.repository, m.digest) for r in untagged.values() for m in r.manifests if not m.kept
        }
        if not self.marks <= markable:  # gone, or needed now: unmarked
            self.marks = MarkSet(self.marks & markable)

    def failed(self, error: str) -> None:
        self.view, self.collect, self.untagged, self.note = None, None, {}, UNREADABLE
        self.error = error

    def toggle(self, repository: str, digest: str) -> bool:
        key = (repository, digest)
        if key in self.marks:
            self.marks.discard(key)
            return False
        self.marks.add(key)
        return True

    def marked_in(self, repository: str) -> int:
        return sum(1 for r, _ in self.marks if r == repository)

    def history(self, repository: str, tag: str) -> list[tuple[str, float]]:
        """Every digest ``tag`` pointed at, with when, oldest first ([] without storage)."""
        stored = self.view.repositories.get(repository) if self.view else None
        return list(stored.history.get(tag, [])) if stored else []

    def add_to(self, plan: Plan) -> None:
        """The marked untagged manifests as DELETEs (indexes first, as remove-untagged orders
        them); the figure counted in the storage, exact, when it was read."""
        chosen = [
            m.candidate
            for r in self.untagged.values()
            for m in r.manifests
            if m.candidate is not None and (m.repository, m.digest) in self.marks
        ]
        items = [plan_item(c) for c in chosen]
        planned = {(c.repository, c.digest) for c in chosen}
        for item in items:
            item.children_deleted = [c for c in item.children if (item.repository, c) in planned]
        items.sort(key=lambda i: (i.repository, not i.is_index, i.digest))
        plan.items.extend(items)
        if self.collect is not None:
            deleted = [(i.repository, i.digest) for i in plan.items if i.action is Action.DELETE]
            plan.reclaimable_bytes = self.collect.frees(deleted)
            plan.reclaimable_known = True
            plan.reclaimable_exact = True
