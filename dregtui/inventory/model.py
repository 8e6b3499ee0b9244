"""The Inventory: repositories -> tags -> digest, and the reverse index digest -> tags.

Pure data, no I/O. The scanner fills it, the cache stores it, the plan and the TUI read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dregtui.tags import sort_tags


@dataclass(frozen=True, slots=True)
class TagInfo:
    """Where a tag points: the manifest digest and its media type."""

    digest: str
    media_type: str = ""


@dataclass(frozen=True, slots=True)
class Footprint:
    """What one manifest holds in the registry's blob store.

    ``size`` is the length of the manifest's own JSON (stored as a blob under its digest);
    ``flat`` holds the blobs it references as ``digest, size, digest, size...``: config and
    layers for an image, the child manifests for an index (whose own blobs are in their own
    footprints). One flat tuple per manifest, not one per blob, keeps a 100,000-tag inventory
    under 1 KB a tag (bench/space.py).
    """

    size: int
    flat: tuple[str | int, ...] = ()

    @classmethod
    def of(cls, size: int, refs: Iterable[tuple[str, int]]) -> Footprint:
        return cls(size, tuple(x for pair in refs for x in pair))

    @property
    def blobs(self) -> tuple[str, ...]:
        return self.flat[0::2]  # type: ignore[return-value]


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
    references and their sizes (see ``dregtui/space.py`` for what they add up to); empty for
    digests whose body has not been fetched.
    """

    registry: str
    repositories: dict[str, dict[str, TagInfo]] = field(default_factory=dict)
    scanned: set[str] = field(default_factory=set)
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    footprints: dict[str, Footprint] = field(default_factory=dict)
    scanned_at: float | None = None
    # digest -> its one (repository, tag), or a set of them when several share it: most
    # digests have one tag, and a set per digest would cost 200 bytes a tag
    _by_digest: dict[str, tuple[str, str] | set[tuple[str, str]]] = field(
        default_factory=dict, repr=False
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

    def __post_init__(self) -> None:
        self._reindex()

    # -- building -------------------------------------------------------------------

    def _reindex(self) -> None:
        self._by_digest = {}
        for repo, tags in self.repositories.items():
            for tag, info in tags.items():
                self._link(info.digest, (repo, tag))

    def _link(self, digest: str, ref: tuple[str, str]) -> None:
        held = self._by_digest.get(digest)
        if held is None:
            self._by_digest[digest] = ref
        elif isinstance(held, tuple):
            if held != ref:
                self._by_digest[digest] = {held, ref}
        else:
            held.add(ref)

    def _unlink(self, digest: str, ref: tuple[str, str]) -> None:
        held = self._by_digest.get(digest)
        if held is None:
            return
        if isinstance(held, tuple):
            if held == ref:
                del self._by_digest[digest]
            return
        held.discard(ref)
        if len(held) == 1:
            self._by_digest[digest] = next(iter(held))
        elif not held:
            del self._by_digest[digest]

    def _holders(self, digest: str) -> list[tuple[str, str]]:
        held = self._by_digest.get(digest)
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
            self._changed(repository)
            tags = self.repositories.get(repository, {})
            gone = [t for r, t in self._holders(digest) if r == repository]
            for tag in gone:
                tags.pop(tag, None)
                self._unlink(digest, (repository, tag))
            return sort_tags(gone)

    def remove_tag(self, repository: str, tag: str) -> None:
        with self._lock:
            self._changed(repository)
            info = self.repositories.get(repository, {}).pop(tag, None)
            if info is not None:
                self._unlink(info.digest, (repository, tag))

    def set_tag(self, repository: str, tag: str, info: TagInfo) -> None:
        with self._lock:
            self._changed(repository)
            self.remove_tag(repository, tag)
            self.repositories.setdefault(repository, {})[tag] = info
            self._link(info.digest, (repository, tag))

    def _drop_reverse(self, repository: str) -> None:
        for tag, info in self.repositories.get(repository, {}).items():
            self._unlink(info.digest, (repository, tag))

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

    def parents(self, digest: str) -> list[str]:
        """Index digests that reference ``digest`` as a child."""
        return sorted(d for d, kids in self.children.items() if digest in kids)

    def digests(self, repository: str) -> set[str]:
        return {info.digest for info in self.repositories.get(repository, {}).values()}

    def iter_tags(self) -> Iterator[tuple[str, str, TagInfo]]:
        for repo in self.repository_names():
            tags = self.repositories[repo]
            for tag in sort_tags(list(tags)):
                yield repo, tag, tags[tag]

    @property
    def tag_count(self) -> int:
        return sum(len(t) for t in self.repositories.values())
