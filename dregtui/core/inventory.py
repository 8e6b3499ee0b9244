"""The Inventory: repositories -> tags -> digest, and the reverse index digest -> tags.

Pure data, no I/O. The scanner fills it, the cache stores it, the plan and the TUI read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import NamedTuple

from dregtui.core.chunking import STEP, yield_to_other_threads
from dregtui.core.footprints import Footprint
from dregtui.core.tags import sort_tags


class TagInfo(NamedTuple):
    """Where a tag points: the manifest digest and its media type. A tuple: a cache's million
    are made at C speed (``tuple.__new__``), faster than dataclasses."""

    digest: str
    media_type: str = ""


class ArtifactInfo(NamedTuple):
    """What a manifest body says about itself as a referrer: the digest of its ``subject``
    ("" when it has none) and its ``artifactType`` (else its config's media type)."""

    subject: str
    artifact_type: str


_DIGEST = attrgetter("digest")  # of a TagInfo, at C speed


def _link(
    by: dict[str, tuple[str, str] | set[tuple[str, str]]], digest: str, ref: tuple[str, str]
) -> None:
    held = by.get(digest)
    if held is None:
        by[digest] = ref
    elif isinstance(held, tuple):
        if held != ref:
            by[digest] = {held, ref}
    else:
        held.add(ref)


@dataclass(frozen=True, slots=True)
class TagRef:
    repository: str
    tag: str


@dataclass(slots=True)
class Inventory:
    """Everything known about one registry's tags.

    ``repositories`` maps repository -> tag -> TagInfo. A repository whose tags have not been
    scanned yet is absent from ``scanned`` (it may still be listed, with no tags).
    ``children`` maps an index digest to the digests of the manifests it references (filled
    for every index the scanner sees), so a plan can tell which indexes still need a digest.
    ``footprints`` maps a manifest digest (tagged, or an index's child) to the blobs it
    references and their sizes (see ``dregtui/core/space.py`` for what they add up to); empty for
    digests whose body has not been fetched.
    ``artifacts`` maps the digest of every manifest read with a ``subject`` or an
    ``artifactType`` to them (``dregtui/core/referrers.py`` builds the graph of referrers).
    """

    registry: str
    repositories: dict[str, dict[str, TagInfo]] = field(default_factory=dict)
    scanned: set[str] = field(default_factory=set)
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    footprints: MutableMapping[str, Footprint] = field(default_factory=dict)
    artifacts: dict[str, ArtifactInfo] = field(default_factory=dict)
    scanned_at: float | None = None
    # when its tags last changed one by one (a deletion, a restore, a re-check: never a
    # scan, which replaces a repository whole): the cache says so
    updated_at: float | None = None
    # digest -> its one (repository, tag), or a set of them when several share it: most
    # digests have one tag, and a set per digest would cost far more memory
    # (None until first asked for: a command that only lists tags never builds it)
    _by_digest: dict[str, tuple[str, str] | set[tuple[str, str]]] | None = field(
        default=None, repr=False
    )
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # repository -> how many times its tags changed (views cache what they derive by it)
    _revisions: dict[str, int] = field(default_factory=dict, repr=False)

    def revision(self, repository: str) -> tuple[int, int, int]:
        """Changes whenever the tags of ``repository`` change (also when written directly)."""
        tags = self.repositories.get(repository, {})
        return (self._revisions.get(repository, 0), id(tags), len(tags))

    @property
    def changes(self) -> int:
        """How many times any repository's tags changed (through these methods)."""
        return sum(self._revisions.values())

    def _changed(self, repository: str) -> None:
        self._revisions[repository] = self._revisions.get(repository, 0) + 1

    def _updated(self, repository: str) -> None:
        """A tag changed after the scan: the scan's time alone no longer dates the inventory."""
        self._changed(repository)
        self.updated_at = time.time()

    def build_indexes(self) -> None:
        """Build what is otherwise built on first use (the reverse index): a background
        thread calls this so the UI thread never waits for it. (The footprints' positions are
        left to the first lookup by digest: the space accounting reads them as columns.)"""
        self._index()

    def _index(self) -> dict[str, tuple[str, str] | set[tuple[str, str]]]:
        by = self._by_digest
        if by is None:
            with self._lock:
                if self._by_digest is None:
                    self._reindex()
                by = self._by_digest
                assert by is not None
        return by

    # -- building -------------------------------------------------------------------

    def _reindex(self) -> None:
        """The reverse index of every tag. A repository whose digests are all new to the index
        goes in at C speed; the others tag by tag."""
        by: dict[str, tuple[str, str] | set[tuple[str, str]]] = {}
        keys = by.keys()
        for repo, tags in self.repositories.items():
            names = list(tags)
            for at in range(0, len(names), STEP):
                part = names[at : at + STEP]
                digests = [tags[t].digest for t in part]
                if keys.isdisjoint(digests):
                    before = len(by)
                    by.update(zip(digests, zip(repeat(repo), part, strict=False), strict=True))
                    if len(by) - before == len(digests):
                        yield_to_other_threads()
                        continue
                    for digest in digests:  # tags sharing a digest: undo, then one by one
                        by.pop(digest, None)
                for tag in part:
                    _link(by, tags[tag].digest, (repo, tag))
        self._by_digest = by

    def _link(self, digest: str, ref: tuple[str, str]) -> None:
        if self._by_digest is not None:  # else built later, from the tags as they are then
            _link(self._by_digest, digest, ref)

    def _unlink(self, digest: str, ref: tuple[str, str]) -> None:
        by = self._by_digest
        if by is None:
            return
        held = by.get(digest)
        if held is None:
            return
        if isinstance(held, tuple):
            if held == ref:
                del by[digest]
            return
        held.discard(ref)
        if len(held) == 1:
            by[digest] = next(iter(held))
        elif not held:
            del by[digest]

    def _holders(self, digest: str) -> list[tuple[str, str]]:
        held = self._index().get(digest)
        if held is None:
            return []
        return [held] if isinstance(held, tuple) else list(held)

    def add_repositories(self, names: Iterable[str]) -> None:
        """Record catalog names (tags unknown until scanned)."""
        with self._lock:
            for name in names:
                self.repositories.setdefault(name, {})

    def set_repository(self, repository: str, tags: dict[str, TagInfo]) -> None:
        """Replace everything known about one repository (after a scan of it)."""
        with self._lock:
            self._changed(repository)
            self._drop_reverse(repository)
            self.repositories[repository] = dict(tags)
            for tag, info in tags.items():
                self._link(info.digest, (repository, tag))
            self.scanned.add(repository)

    def set_children(self, index_digest: str, child_digests: Iterable[str]) -> None:
        with self._lock:
            self.children[index_digest] = tuple(child_digests)

    def set_footprint(self, digest: str, footprint: Footprint) -> None:
        with self._lock:
            self.footprints[digest] = footprint

    def set_artifact(self, digest: str, info: ArtifactInfo) -> None:
        with self._lock:
            self.artifacts[digest] = info

    def remove_repository(self, repository: str) -> None:
        with self._lock:
            self._changed(repository)
            self._drop_reverse(repository)
            self.repositories.pop(repository, None)
            self.scanned.discard(repository)

    def remove_digest(self, repository: str, digest: str) -> list[str]:
        """What a registry DELETE of ``digest`` in ``repository`` does: every tag on it goes.

        Returns the removed tags. Uses the reverse index: O(tags on that digest).
        """
        with self._lock:
            self._updated(repository)
            tags = self.repositories.get(repository, {})
            gone = [t for r, t in self._holders(digest) if r == repository]
            for tag in gone:
                tags.pop(tag, None)
                self._unlink(digest, (repository, tag))
            return sort_tags(gone)

    def remove_tag(self, repository: str, tag: str) -> None:
        with self._lock:
            self._updated(repository)
            info = self.repositories.get(repository, {}).pop(tag, None)
            if info is not None:
                self._unlink(info.digest, (repository, tag))

    def set_tag(self, repository: str, tag: str, info: TagInfo) -> None:
        with self._lock:
            self._updated(repository)
            self.remove_tag(repository, tag)
            self.repositories.setdefault(repository, {})[tag] = info
            self._link(info.digest, (repository, tag))

    def _drop_reverse(self, repository: str) -> None:
        for tag, info in self.repositories.get(repository, {}).items():
            self._unlink(info.digest, (repository, tag))

    def adopt(self, other: Inventory) -> None:
        """Take everything ``other`` holds (a cache loaded in the background): whoever holds
        this inventory sees the new contents, and every repository's revision moves."""
        with self._lock, other._lock:
            for repo in set(self.repositories) | set(other.repositories):
                self._changed(repo)
            self.repositories = other.repositories
            self.scanned = other.scanned
            self.children = other.children
            self.footprints = other.footprints
            self.artifacts = other.artifacts
            self.scanned_at = other.scanned_at
            self.updated_at = other.updated_at
            self._by_digest = other._by_digest

    def mark_scanned(self, when: float | None = None) -> None:
        self.scanned_at = time.time() if when is None else when

    # -- reading --------------------------------------------------------------------

    def repository_names(self) -> list[str]:
        return sorted(self.repositories)

    def tags(self, repository: str, *, reverse: bool = False) -> list[str]:
        """Tag names of a repository in version order."""
        return sort_tags(list(self.repositories.get(repository, {})), reverse=reverse)

    def tag_info(self, repository: str, tag: str) -> TagInfo | None:
        return self.repositories.get(repository, {}).get(tag)

    def holders(self, digest: str) -> list[TagRef]:
        """Every (repository, tag) in the registry whose tag points at ``digest``, sorted."""
        with self._lock:
            pairs = sorted(self._holders(digest))
        return [TagRef(r, t) for r, t in pairs]

    def repositories_holding(self, digests: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """digest -> the repositories with a tag on it, sorted, for ``digests`` (absent: none).
        From the reverse index when it is built; else one pass over the tags, which builds
        nothing for the rest (the whole index costs memory a plan does not need). Tuples: most
        digests have one repository, and a set each would cost more."""
        wanted = set(digests)
        if not wanted:
            return {}
        with self._lock:
            if self._by_digest is not None:
                return {
                    d: tuple(sorted({r for r, _ in self._holders(d)}))
                    for d in wanted
                    if d in self._by_digest
                }
            found: dict[str, str | set[str]] = {}
            for repo, tags in self.repositories.items():
                for digest in wanted.intersection(map(_DIGEST, tags.values())):
                    held = found.get(digest)
                    if held is None:
                        found[digest] = repo
                    elif isinstance(held, str):
                        found[digest] = {held, repo}
                    else:
                        held.add(repo)
                yield_to_other_threads()
        return {d: (r,) if isinstance(r, str) else tuple(sorted(r)) for d, r in found.items()}

    def parents(self, digest: str) -> list[str]:
        """Index digests that reference ``digest`` as a child."""
        return sorted(d for d, kids in self.children.items() if digest in kids)

    def digests(self, repository: str) -> set[str]:
        return set(map(_DIGEST, self.repositories.get(repository, {}).values()))

    def iter_tags(self) -> Iterator[tuple[str, str, TagInfo]]:
        for repo in self.repository_names():
            tags = self.repositories[repo]
            for tag in sort_tags(list(tags)):
                yield repo, tag, tags[tag]

    @property
    def tag_count(self) -> int:
        return sum(len(t) for t in self.repositories.values())
