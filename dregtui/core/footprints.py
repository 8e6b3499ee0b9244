"""Footprints: what each manifest holds in the registry's blob store.

A Footprint per manifest, a ``FootprintTable`` of integer columns for a cache's million, and
``FootprintIds``, the same in integers for the space accounting. Pure data, no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from itertools import accumulate, chain, compress, count, islice

from dregtui.core.chunking import STEP, yield_to_other_threads


@dataclass(frozen=True, slots=True)
class Footprint:
    """What one manifest holds in the registry's blob store.

    ``size`` is the length of the manifest's own JSON (stored as a blob under its digest);
    ``flat`` holds the blobs it references as ``digest, size, digest, size...``: config and
    layers for an image, the child manifests for an index (whose own blobs are in their own
    footprints). One flat tuple per manifest, not one per blob, keeps the memory a tag
    takes small (docs/performance.md).
    """

    size: int
    flat: tuple[str | int, ...] = ()

    @classmethod
    def of(cls, size: int, refs: Iterable[tuple[str, int]]) -> Footprint:
        return cls(size, tuple(x for pair in refs for x in pair))

    @property
    def blobs(self) -> tuple[str, ...]:
        return self.flat[0::2]  # type: ignore[return-value]


class FootprintTable(MutableMapping[str, Footprint]):
    """Footprints as read from a cache: columns of integers, a Footprint made on access.

    Columns take a fraction of the time and memory of a Footprint object per manifest; a
    lookup by digest uses a map of positions made on first use. ``names`` is the digest table
    the positions refer to; ``counts[i]`` blobs of manifest ``i`` follow those of ``i - 1`` in
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
                yield_to_other_threads()
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
    """0 and the running sums of ``counts``, a step at a time (one C call over a million
    would hold the UI thread up)."""
    column = _column(counts)
    start = array("q", [0])
    for at in range(0, len(column), STEP):
        start.extend(islice(accumulate(column[at : at + STEP], initial=start[-1]), 1, None))
        yield_to_other_threads()
    return start


@dataclass(frozen=True, slots=True)
class FootprintIds:
    """Every footprint in integers: manifest ``m`` (``manifest(digest)``, None when its body
    is unknown) is itself the blob ``own[m]`` of ``sizes[m]`` bytes and references the blobs
    ``blobs[start[m]:start[m + 1]]`` of ``blob_sizes[...]`` bytes. A digest has one id
    wherever it appears; ids are below ``ids``. Arrays and ints: far less memory than a map of
    digests to tuples."""

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
