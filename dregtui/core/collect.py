"""What distribution's ``garbage-collect`` (2.8, without ``--delete-untagged``) keeps and frees,
from a registry's storage as read (:class:`~dregtui.core.stored.StorageView`); pure, no I/O.

The collector's rule: for every repository, for every manifest revision whose ``link`` file
exists (tagged or not), mark the manifest's own blob and every descriptor its references name
(an image: config and layers; an index: its child manifests' blobs only, the children's layers
being marked as linked revisions of their own; schema 1: its fsLayers). ``subject`` is not a
reference in 2.8. Every unmarked blob is deleted.

    marks = Marks(view)
    marks.unreferenced()                       # blobs the next garbage-collect deletes
    marks.frees({(repo, digest), ...})         # bytes freed once those revisions are unlinked
    untagged_candidates(marks, repos, older_than=3600, now=time.time())  # 0: all
    untagged_space(marks)                      # du's untagged column and lines

An untagged manifest is a candidate when nothing kept needs it: not a child (at any depth) of
an index that stays, not a referrer (``subject``) of a manifest that stays, and linked longer
ago than the grace period (a multi-platform push uploads its platform manifests untagged, then
the index that tags them).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dregtui.core.oci import mediatypes
from dregtui.core.plan_model import Action, PlanItem, Why
from dregtui.core.stored import StorageView, StoredRepository

Revision = tuple[str, str]  # (repository, manifest digest)


@dataclass(frozen=True, slots=True)
class Body:
    """What a manifest's JSON says, as far as the collector and the candidates care."""

    media_type: str = ""
    references: frozenset[str] = frozenset()  # blobs it marks besides its own
    children: tuple[str, ...] = ()  # an index's manifests
    subject: str | None = None  # the manifest a referrer refers to

    @property
    def is_index(self) -> bool:
        return bool(self.children) or "index" in self.media_type or "list" in self.media_type


def read_body(body: bytes | None) -> Body:
    """The references of a manifest body; an empty Body for what is not a manifest's JSON."""
    if body is None:
        return Body()
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Body()
    if not isinstance(doc, dict):
        return Body()

    def digests(entries: object, key: str = "digest") -> list[str]:
        if not isinstance(entries, list):
            return []
        return [e[key] for e in entries if isinstance(e, dict) and isinstance(e.get(key), str)]

    children = digests(doc.get("manifests"))
    refs = [*digests([doc.get("config")]), *digests(doc.get("layers")), *children]
    refs += digests(doc.get("fsLayers"), "blobSum")  # schema 1
    subject = doc.get("subject")
    media_type = doc.get("mediaType")
    return Body(
        media_type if isinstance(media_type, str) else "",
        frozenset(refs),
        tuple(children),
        subject["digest"]
        if isinstance(subject, dict) and isinstance(subject.get("digest"), str)
        else None,
    )


@dataclass
class Marks:
    """How many linked revisions mark each blob, as garbage-collect counts them now."""

    view: StorageView
    bodies: dict[str, Body] = field(init=False)
    count: Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        self.bodies = {d: read_body(b) for d, b in self.view.manifests.items()}
        self.count = Counter()
        for repository in self.view.repositories.values():
            for digest in repository.revisions:
                self.count.update(self.marked_by(digest))

    def marked_by(self, digest: str) -> frozenset[str]:
        """The blobs one revision of ``digest`` marks: its own and its references."""
        body = self.bodies.get(digest, Body())
        return body.references | {digest}

    def size(self, blobs: Iterable[str]) -> int:
        """Bytes of those blobs the storage holds (a foreign layer is in none)."""
        sizes = self.view.blobs
        return sum(sizes.get(b, 0) for b in set(blobs))

    def unreferenced(self) -> set[str]:
        """Blobs no linked revision marks: what the next garbage-collect deletes."""
        return {b for b in self.view.blobs if not self.count[b]}

    def freed(self, removed: Iterable[Revision]) -> set[str]:
        """Blobs marked now and unmarked once the ``removed`` revisions are unlinked (those
        not linked now count nothing)."""
        drop: Counter[str] = Counter()
        for repo, digest in set(removed):
            stored = self.view.repositories.get(repo)
            if stored is not None and digest in stored.revisions:
                drop.update(self.marked_by(digest))
        return {b for b, n in drop.items() if self.count[b] <= n}

    def frees(self, removed: Iterable[Revision]) -> int:
        """Bytes garbage-collect frees once the ``removed`` revisions are unlinked."""
        return self.size(self.freed(removed))

    def _closure(self, repository: StoredRepository, digests: set[str]) -> set[str]:
        out = {d for d in digests if d in repository.revisions}
        todo = list(out)
        while todo:
            for child in self.bodies.get(todo.pop(), Body()).children:
                if child in repository.revisions and child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    def staying(self, repository: StoredRepository, kept: set[str]) -> set[str]:
        """``kept`` and everything it needs in the repository, until nothing more is added:
        the children of a staying index, the referrers of a staying manifest."""
        stay = self._closure(repository, kept)
        referrers: dict[str, list[str]] = {}
        for digest in repository.revisions:
            subject = self.bodies.get(digest, Body()).subject
            if subject is not None:
                referrers.setdefault(subject, []).append(digest)
        todo = list(stay)
        while todo:
            digest = todo.pop()
            more = [*self.bodies.get(digest, Body()).children, *referrers.get(digest, ())]
            for other in more:
                if other in repository.revisions and other not in stay:
                    stay.add(other)
                    todo.append(other)
        return stay


@dataclass(frozen=True, slots=True)
class Candidate:
    """An untagged manifest that nothing kept needs, old enough to take."""

    repository: str
    digest: str
    linked: float  # when its revision link was written (seconds since the epoch)
    media_type: str
    children: tuple[str, ...]  # an index's manifests
    parents: tuple[str, ...]  # candidate indexes of the same repository that name it

    @property
    def is_index(self) -> bool:
        return bool(self.children) or "index" in self.media_type or "list" in self.media_type


def untagged_candidates(
    marks: Marks, repositories: Iterable[str], *, older_than: float, now: float
) -> list[Candidate]:
    """Per repository (sorted), the untagged manifests to take: linked more than
    ``older_than`` seconds before ``now`` and needed by nothing that stays (tagged manifests,
    younger untagged ones, and, recursively, their children and referrers). ``older_than``
    0 takes every one, whatever its link's time says."""
    out: list[Candidate] = []
    for name in sorted(set(repositories)):
        repository = marks.view.repositories.get(name)
        if repository is None:
            continue
        untagged = repository.untagged
        young = (
            {d for d, t in untagged.items() if now - t < older_than} if older_than > 0 else set()
        )
        kept = set(repository.tags.values()) | young
        stay = marks.staying(repository, kept)
        taken = sorted(d for d in untagged if d not in stay)
        parents: dict[str, list[str]] = {}
        for digest in taken:
            for child in marks.bodies.get(digest, Body()).children:
                parents.setdefault(child, []).append(digest)
        for digest in taken:
            body = marks.bodies.get(digest, Body())
            out.append(
                Candidate(
                    name,
                    digest,
                    untagged[digest],
                    body.media_type,
                    body.children,
                    tuple(parents.get(digest, ())),
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class UntaggedSpace:
    """``du`` with the storage: per repository, the bytes only its untagged manifests hold
    (what taking every one nothing kept needs would free, however young); the same for all
    repositories together, each blob once; the bytes no linked revision marks (what the next
    garbage-collect deletes); and every blob's bytes (the sum of what stays and those two)."""

    by_repository: Mapping[str, int]
    untagged: int
    unreferenced: int
    total: int


def untagged_space(marks: Marks) -> UntaggedSpace:
    view = marks.view
    taken = untagged_candidates(marks, view.repositories, older_than=0, now=0)
    by_repository: dict[str, list[Revision]] = {name: [] for name in view.repositories}
    for c in taken:
        by_repository[c.repository].append((c.repository, c.digest))
    return UntaggedSpace(
        {name: marks.frees(revisions) for name, revisions in by_repository.items()},
        marks.frees(r for revisions in by_repository.values() for r in revisions),
        marks.size(marks.unreferenced()),
        view.blob_bytes,
    )


def untagged_bytes(marks: Marks, repositories: Iterable[str]) -> int:
    """The bytes only the repositories' untagged manifests hold, together (each blob once)."""
    taken = untagged_candidates(marks, repositories, older_than=0, now=0)
    return marks.frees((c.repository, c.digest) for c in taken)


def plan_item(candidate: Candidate) -> PlanItem:
    """A DELETE with no tags, as ``remove-untagged`` plans it."""
    media_type = candidate.media_type or (
        mediatypes.OCI_INDEX if candidate.children else mediatypes.OCI_MANIFEST
    )
    return PlanItem(
        repository=candidate.repository,
        digest=candidate.digest,
        media_type=media_type,
        selected_tags=[],
        children=list(candidate.children),
        parent_indexes=list(candidate.parents),
        action=Action.DELETE,
        why=Why.UNTAGGED,
    )
