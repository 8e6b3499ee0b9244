"""The Inventory: repositories -> tags -> digest, and the reverse index digest -> tags.

Pure data, no I/O. The scanner fills it, the cache stores it, the plan and the TUI read it.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, count, islice, repeat
from operator import attrgetter
from typing import NamedTuple

from dregtui.core.tags import sort_tags


class TagInfo(NamedTuple):
    """Where a tag points: the manifest digest and its media type. A tuple: a cache's million
    are made at C speed (``tuple.__new__``), in a third of a dataclass's time."""

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


_DIGEST = attrgetter("digest")  # of a TagInfo, at C speed

# Work on a million items goes in steps of this many, and lets other threads run between them:
# one C call over them all (a dict update, say) would hold the UI thread up for a second.
STEP = 32_768


def breathe() -> None:
    """Let a waiting thread (the UI's) have the interpreter now; nothing when there is no
    other thread (a command: yielding would only give the CPU away on a busy machine)."""
    if threading.active_count() > 1:
        time.sleep(0)


class FootprintTable(MutableMapping[str, Footprint]):
    """Footprints as read from a cache: columns of integers, a Footprint made on access.

    A million Footprint objects take 5 s to make and 250 bytes each; the columns take 50
    bytes of arrays per manifest, and a lookup by digest a map of them made on first use. ``names`` is the digest table the
    positions refer to; ``counts[i]`` blobs of manifest ``i`` follow those of ``i - 1`` in
    ``blobs`` and ``blob_sizes``. What is set later shadows the columns.
    """

    __slots__ = (
        "_names",
        "_digests",
        "_built",
        "_size",
        "_start",
        "_blobs",
        "_blob_sizes",
        "_extra",
    )

    def __init__(
        self,
        names: list[str],
        digests: Iterable[int],
        sizes: Iterable[int],
        counts: Iterable[int],
        blobs: Iterable[int],
        blob_sizes: Iterable[int],
    ) -> None:
        self._names = names
        self._digests = _column(digests)
        self._built: dict[str, int] | None = None  # digest -> position, made on first use
        self._size = _column(sizes)
        self._start = _starts(counts)
        self._blobs = _column(blobs)
        self._blob_sizes = _column(blob_sizes)
        self._extra: dict[str, Footprint] = {}
        if self._start[-1] != len(self._blobs) or len(self._blob_sizes) != len(self._blobs):
            raise ValueError("footprint columns")
        if len(self._size) != len(self._digests) or len(self._start) != len(self._digests) + 1:
            raise ValueError("footprint columns")
        # positions into ``names`` (a cache's are checked not negative as they are read)
        n = len(names)
        if max(self._digests, default=-1) >= n or max(self._blobs, default=-1) >= n:
            raise IndexError("footprint positions")

    @property
    def _pos(self) -> dict[str, int]:
        built = self._built
        if built is None:
            get = self._names.__getitem__
            digests = self._digests
            built = {}
            for at in range(0, len(digests), STEP):
                built.update(zip(map(get, digests[at : at + STEP]), count(at)))
                breathe()
            self._built = built  # a race makes it twice, equal: harmless
        return built

    def __getitem__(self, digest: str) -> Footprint:
        found = self._extra.get(digest)
        if found is not None:
            return found
        return self._at(self._pos[digest])

    def _at(self, pos: int) -> Footprint:
        a, b = self._start[pos], self._start[pos + 1]
        flat: list[str | int] = [0] * (2 * (b - a))
        flat[0::2] = map(self._names.__getitem__, self._blobs[a:b])
        flat[1::2] = self._blob_sizes[a:b]
        return Footprint(self._size[pos], tuple(flat))

    def __setitem__(self, digest: str, footprint: Footprint) -> None:
        self._pos.pop(digest, None)  # its columns stay, unreachable
        self._extra[digest] = footprint

    def __delitem__(self, digest: str) -> None:
        if self._extra.pop(digest, None) is None:
            del self._pos[digest]

    def __contains__(self, digest: object) -> bool:
        return digest in self._pos or digest in self._extra

    def __iter__(self) -> Iterator[str]:
        return chain(self._pos, self._extra)

    def __len__(self) -> int:
        built = self._built
        return (len(self._digests) if built is None else len(built)) + len(self._extra)

    def columns(self) -> Iterator[FootprintColumns]:
        """The footprints as columns (see ``footprint_columns``): the loaded ones at C speed."""
        names = self._names
        if self._built is None or len(self._built) == len(self._digests):
            start = self._start
            for at in range(0, len(self._digests), STEP):  # pieces: no million-item lists
                end = min(at + STEP, len(self._digests))
                a, b = start[at], start[end]
                yield (
                    list(map(names.__getitem__, self._digests[at:end])),
                    self._size[at:end].tolist(),
                    [y - x for x, y in zip(start[at:end], start[at + 1 : end + 1], strict=True)],
                    list(map(names.__getitem__, self._blobs[a:b])),
                    self._blob_sizes[a:b].tolist(),
                )
        else:  # some were replaced or removed: the rest one by one
            yield _columns((d, self._at(pos)) for d, pos in self._built.items())
        if self._extra:
            yield _columns(self._extra.items())

    def ids(self) -> FootprintIds:
        """The footprints in integers, for the space accounting: a blob's id is its position
        in the digest table (the columns as they are, no copy), those set later follow."""
        pos = self._pos
        names = self._names
        if not self._extra:
            return FootprintIds(
                pos.get,
                self._digests,
                self._size,
                self._start,
                self._blobs,
                self._blob_sizes,
                len(names),
            )
        extra = list(self._extra.items())
        wanted = {d for digest, fp in extra for d in (digest, *fp.blobs)}
        flags = bytearray(map(wanted.__contains__, names))  # C speed: no map of every digest
        known = dict(zip(compress(names, flags), compress(count(), flags), strict=True))
        new: dict[str, int] = {}

        def id_of(digest: str) -> int:
            found = known.get(digest)
            return new.setdefault(digest, len(names) + len(new)) if found is None else found

        own, sizes, start = self._digests[:], self._size[:], self._start[:]
        blobs, blob_sizes = self._blobs[:], self._blob_sizes[:]
        later = _appended(extra, id_of, own, sizes, start, blobs, blob_sizes)

        def manifest(digest: str) -> int | None:
            m = later.get(digest)
            return pos.get(digest) if m is None else m

        return FootprintIds(manifest, own, sizes, start, blobs, blob_sizes, len(names) + len(new))


def _column(values: Iterable[int]) -> array[int]:
    """``values`` as an array of 64-bit integers: itself when it is one (a cache's million are
    not copied again)."""
    return values if isinstance(values, array) and values.typecode == "q" else array("q", values)


def _starts(counts: Iterable[int]) -> array[int]:
    """0 and the running sums of ``counts``, a step at a time (a million in one C call held
    the UI thread up for 100 ms)."""
    column = _column(counts)
    start = array("q", [0])
    for at in range(0, len(column), STEP):
        start.extend(islice(accumulate(column[at : at + STEP], initial=start[-1]), 1, None))
        breathe()
    return start


@dataclass(frozen=True, slots=True)
class FootprintIds:
    """Every footprint in integers: manifest ``m`` (``manifest(digest)``, None when its body
    is unknown) is itself the blob ``own[m]`` of ``sizes[m]`` bytes and references the blobs
    ``blobs[start[m]:start[m + 1]]`` of ``blob_sizes[...]`` bytes. A digest has one id
    wherever it appears; ids are below ``ids``. Arrays and ints: a million manifests take
    tens of megabytes, not the hundreds a map of digests to tuples took."""

    manifest: Callable[[str], int | None]
    own: array[int]
    sizes: array[int]
    start: array[int]
    blobs: array[int]
    blob_sizes: array[int]
    ids: int


def footprint_ids(footprints: MutableMapping[str, Footprint]) -> FootprintIds:
    """Every footprint in integers (see ``FootprintIds``)."""
    if isinstance(footprints, FootprintTable):
        return footprints.ids()
    ids: dict[str, int] = {}
    own, sizes, start = array("q"), array("q"), array("q", [0])
    blobs, blob_sizes = array("q"), array("q")
    manifests = _appended(
        footprints.items(),
        lambda digest: ids.setdefault(digest, len(ids)),
        own,
        sizes,
        start,
        blobs,
        blob_sizes,
    )
    return FootprintIds(manifests.get, own, sizes, start, blobs, blob_sizes, len(ids))


def _appended(
    footprints: Iterable[tuple[str, Footprint]],
    id_of: Callable[[str], int],
    own: array[int],
    sizes: array[int],
    start: array[int],
    blobs: array[int],
    blob_sizes: array[int],
) -> dict[str, int]:
    """Each footprint added to the columns of ``FootprintIds`` (a digest's id by ``id_of``);
    digest -> its manifest position."""
    at: dict[str, int] = {}
    for digest, fp in footprints:
        at[digest] = len(own)
        own.append(id_of(digest))
        sizes.append(fp.size)
        blobs.extend(map(id_of, fp.blobs))
        blob_sizes.extend(fp.flat[1::2])  # type: ignore[arg-type]
        start.append(len(blobs))
    return at


# (manifest digests, their JSON sizes, blobs each, blob digests, blob sizes), the blobs of
# each manifest following those of the one before
FootprintColumns = tuple[list[str], list[int], list[int], list[str], list[int]]


def _columns(items: Iterable[tuple[str, Footprint]]) -> FootprintColumns:
    out: FootprintColumns = ([], [], [], [], [])
    for digest, fp in items:
        out[0].append(digest)
        out[1].append(fp.size)
        out[2].append(len(fp.flat) // 2)
        out[3].extend(fp.flat[0::2])  # type: ignore[arg-type]
        out[4].extend(fp.flat[1::2])  # type: ignore[arg-type]
    return out


def footprint_columns(footprints: MutableMapping[str, Footprint]) -> Iterator[FootprintColumns]:
    """Every footprint, as columns, in one or more pieces."""
    if isinstance(footprints, FootprintTable):
        yield from footprints.columns()
    elif footprints:
        yield _columns(footprints.items())


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
    """

    registry: str
    repositories: dict[str, dict[str, TagInfo]] = field(default_factory=dict)
    scanned: set[str] = field(default_factory=set)
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    footprints: MutableMapping[str, Footprint] = field(default_factory=dict)
    scanned_at: float | None = None
    # digest -> its one (repository, tag), or a set of them when several share it: most
    # digests have one tag, and a set per digest would cost 200 bytes a tag
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
        goes in at C speed (a million tags in a third of the time); the others tag by tag."""
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
                        breathe()
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
            self.scanned_at = other.scanned_at
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
        nothing for the rest (a plan over 250,000 of a million tags took 105 MB for the whole
        index). Tuples: most digests have one repository (a set each took 216 bytes)."""
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
                breathe()
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
