"""Space: what each repository holds in the blob store, and what a deletion gives back.

Pure accounting over an Inventory's footprints; no I/O. The rules are distribution's garbage
collector's (``docker-registry garbage-collect``, 2.8): blobs are stored once per registry; a
blob survives when some manifest still linked in some repository references it (a manifest
references its own JSON, its config and layers; an index its own JSON and its children's JSON);
everything else is deleted. A repository links every manifest it has tags on and, for an
index, the children (they were pushed there; deleting the index does not unlink them).

    space = Space(inventory)
    space.usage("team/app")          # Usage(tags, manifests, size, exclusive)
    space.usage_of_namespace("team/")
    space.total_bytes                # unique bytes in the registry
    space.reclaimable(plan)          # bytes garbage-collect frees after this plan runs

Untagged manifests cannot be listed through the API: where a registry holds some (an
overwritten tag, a removed one), their blobs are still referenced and a figure here is an upper
bound of what garbage-collect frees; on a registry without them it is exact. A digest whose
body was not fetched (``sizes=False`` scans, a manifest that vanished mid-scan) counts 0 bytes:
``complete`` is False then.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, islice, repeat
from typing import TYPE_CHECKING

from dregtui.core.chunking import STEP, yield_to_other_threads
from dregtui.core.footprints import footprint_ids
from dregtui.core.inventory import Inventory

if TYPE_CHECKING:
    from dregtui.core.plan_model import Plan


@dataclass(frozen=True, slots=True)
class Usage:
    name: str  # a repository, or a namespace ending in "/", or "" for the registry
    tags: int
    manifests: int
    size: int  # unique bytes its manifests reference, each blob counted once
    exclusive: int  # of those, bytes no manifest of any other repository references
    # manifests whose body the scan could not read: size and exclusive are lower bounds then
    unknown: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "repository": self.name,
            "tags": self.tags,
            "manifests": self.manifests,
            "size_bytes": self.size,
            "exclusive_bytes": self.exclusive,
            "unknown_manifests": self.unknown,
        }


class Space:
    """Built once per inventory (O(links + blobs)); queries are O(what they touch).

    Everything is integers (``FootprintIds``): a repository's links are an array of manifest
    positions, a blob's link count and first repository are arrays by blob id. A million tags
    took 320 MB and 15 s in maps of digests, now 90 MB and 2-3 s (the map of manifest digests to
    positions, which the footprints keep, included)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        with inventory._lock:
            fp = self._fp = footprint_ids(inventory.footprints)
            # repository -> the manifests it links, with a footprint (sorted positions) and
            # without one (their digests: a scan that could not read them; usually none)
            self._links: dict[str, array[int]] = {}
            self._unknown: dict[str, frozenset[str]] = {}
            for repo in inventory.repositories:
                self._links[repo], unknown = self._known(self._closure(inventory.digests(repo)))
                if unknown:
                    self._unknown[repo] = unknown
                yield_to_other_threads()
        self.complete = not self._unknown
        # Per blob: how many (repository, manifest) links reference it, the first and the last
        # repository that does, and for the blobs more than one repository references, which
        # ones. Each repository's own figures come out of the same pass (a thousand usages
        # asked for afterwards took as long again).
        self._repo_ids = {repo: n for n, repo in enumerate(self._links)}
        count = self._count = array("i", bytes(4 * fp.ids))
        first = self._first = array("i", [-1]) * fp.ids
        last = array("i", [-1]) * fp.ids
        shared: dict[int, set[int]] = {}
        self._shared = shared
        sizes = self._sizes = [0] * len(self._links)
        exclusive = self._exclusive = [0] * len(self._links)
        total = 0
        for rid, positions in enumerate(self._links.values()):
            ids, id_sizes = self._gather(positions)
            own = alone = 0
            for at in range(0, len(ids), STEP):
                for blob, size in zip(ids[at : at + STEP], id_sizes[at : at + STEP], strict=True):
                    seen = count[blob]
                    count[blob] = seen + 1
                    if not seen:
                        first[blob] = last[blob] = rid
                        total += size
                        own += size
                        alone += size
                    elif last[blob] != rid:  # a repository before this one has it too
                        last[blob] = rid
                        own += size
                        holders = shared.get(blob)
                        if holders is None:
                            shared[blob] = {first[blob], rid}
                            exclusive[first[blob]] -= size
                        else:
                            holders.add(rid)
                yield_to_other_threads()
            sizes[rid] += own
            exclusive[rid] += alone
        self._total = total

    def _known(self, digests: set[str]) -> tuple[array[int], frozenset[str]]:
        """The positions of those of ``digests`` with a footprint, sorted, and the others."""
        found = list(map(self._fp.manifest, digests))
        unknown: frozenset[str] = frozenset()
        if None in found:  # usually none: no second pass
            unknown = frozenset(compress(digests, map(operator.is_, found, repeat(None))))
        return array("q", sorted([m for m in found if m is not None])), unknown

    def _gather(self, positions: Sequence[int]) -> tuple[array[int], array[int]]:
        """(blob ids, their sizes) of every blob the manifests at ``positions`` (sorted)
        reference, their own JSON included; a blob twice when two of them (or one, twice)
        reference it. Consecutive manifests' blobs are one slice: C speed."""
        fp = self._fp
        ids = array("q", map(fp.own.__getitem__, positions))
        sizes = array("q", map(fp.sizes.__getitem__, positions))
        start, blobs, blob_sizes = fp.start, fp.blobs, fp.blob_sizes
        for a, b in _runs(positions):
            x, y = start[a], start[b]
            ids.extend(blobs[x:y])
            sizes.extend(blob_sizes[x:y])
        return ids, sizes

    def _closure(self, digests: set[str]) -> set[str]:
        """Digests plus, for indexes, their children (recursively)."""
        children = self.inventory.children
        out = set(digests)
        todo = list(digests & children.keys()) if children else []
        while todo:
            for kid in children.get(todo.pop(), ()):
                if kid not in out:
                    out.add(kid)
                    todo.append(kid)
        return out

    @property
    def repositories(self) -> list[str]:
        """Every repository the accounting knows, in the inventory's order."""
        return list(self._links)

    def manifest_size(self, digest: str) -> int | None:
        """An image's (or an index's, children included) bytes, each blob once; None when a
        manifest of it could not be read."""
        known, unknown = self._known(self._closure({digest}))
        if unknown:
            return None
        return sum(dict(zip(*self._gather(known), strict=True)).values())

    # -- usage ------------------------------------------------------------------------------

    def usage_of_namespace(self, namespace: str) -> Usage:
        """Everything under ``namespace`` (``team/`` or ``team``), counted as one holder:
        ``exclusive`` is what no repository outside the namespace references."""
        prefix = namespace.rstrip("/") + "/"
        return self._usage(prefix, self.members(prefix))

    def members(self, name: str) -> list[str]:
        """The repositories a ``du`` name stands for: those under a namespace (``team/``), or
        the repository itself; empty when the registry has none."""
        if name.endswith("/"):
            return [r for r in self._links if r.startswith(name)]
        return [name] if name in self._links else []

    def combined(self, repositories: Iterable[str], name: str = "") -> Usage:
        """The repositories counted as one holder (a total line: shared blobs once)."""
        return self._usage(name, list(dict.fromkeys(repositories)))

    def usage(self, repository: str) -> Usage:
        rid = self._repo_ids.get(repository)
        if rid is None:
            return self._usage(repository, [repository])
        unknown = len(self._unknown.get(repository, ()))
        return Usage(
            repository,
            len(self.inventory.repositories.get(repository, {})),
            len(self._links[repository]) + unknown,
            self._sizes[rid],
            self._exclusive[rid],
            unknown,
        )

    def _usage(self, name: str, repos: list[str]) -> Usage:
        """The repositories as one holder, each manifest and blob counted once (told by a
        byte per manifest and per blob: a map of a million blobs took 200 MB)."""
        fp = self._fp
        counted, held = bytearray(len(fp.own)), bytearray(fp.ids)
        ids = {self._repo_ids[r] for r in repos if r in self._repo_ids}
        first, shared = self._first, self._shared
        unknown: set[str] = set()
        tags = manifests = size = exclusive = 0
        for repo in repos:
            unknown.update(self._unknown.get(repo, ()))
            tags += len(self.inventory.repositories.get(repo, {}))
            positions = self._links.get(repo, array("q"))
            fresh = array(
                "q", compress(positions, map(operator.not_, map(counted.__getitem__, positions)))
            )
            deque(map(counted.__setitem__, fresh, repeat(1)), maxlen=0)
            manifests += len(fresh)
            blobs, sizes = self._gather(fresh)
            for blob, blob_size in zip(blobs, sizes, strict=True):
                if held[blob]:
                    continue
                held[blob] = 1
                size += blob_size
                # theirs when the one repository that references it is among them, or all of
                # the several that do
                holders = shared.get(blob)
                if first[blob] in ids if holders is None else holders <= ids:
                    exclusive += blob_size
            yield_to_other_threads()
        return Usage(name, tags, manifests + len(unknown), size, exclusive, len(unknown))

    def usages(self, repositories: Iterable[str] | None = None) -> Iterator[Usage]:
        for repo in sorted(self._links if repositories is None else repositories):
            yield self.usage(repo)

    @property
    def total_bytes(self) -> int:
        return self._total

    # -- deletions --------------------------------------------------------------------------

    def reclaimable_links(self, deleted: Iterable[tuple[str, str]]) -> int:
        """Bytes freed once the (repository, manifest digest) links are gone and the garbage
        collector runs. A deleted index's children stay linked unless they are deleted too."""
        drop: Counter[int] = Counter()
        sizes: dict[int, int] = {}
        seen: set[tuple[str, int]] = set()
        manifest = self._fp.manifest
        for repo, digest in deleted:
            m = manifest(digest)
            if m is None or (repo, m) in seen or not _holds(self._links.get(repo), m):
                continue  # not linked there (or no body: it references nothing we know)
            seen.add((repo, m))
            for blob, size in zip(*self._gather((m,)), strict=True):
                drop[blob] += 1
                sizes[blob] = size
        count = self._count
        return sum(sizes[blob] for blob, n in drop.items() if count[blob] <= n)

    def reclaimable(self, plan: Plan) -> int:
        from dregtui.core.plan_model import Action

        return self.reclaimable_links(
            (item.repository, item.digest) for item in plan.items if item.action is Action.DELETE
        )


def _runs(positions: Sequence[int]) -> Iterator[tuple[int, int]]:
    """The stretches of consecutive values of sorted ``positions``, as (first, last + 1)."""
    n = len(positions)
    if not n:
        return
    # where a value is not the one before plus one (found at C speed)
    after = map(operator.add, positions, repeat(1))
    breaks = compress(range(1, n), map(operator.ne, islice(positions, 1, None), after))
    at = 0
    for end in chain(breaks, (n,)):
        yield positions[at], positions[end - 1] + 1
        at = end


def _holds(positions: array[int] | None, m: int) -> bool:
    if positions is None:
        return False
    at = bisect_left(positions, m)
    return at < len(positions) and positions[at] == m


def human_size(n: int) -> str:
    """1023 B, 1.0 KiB, 17.3 MiB, 241 GiB, 1023 GiB (binary units)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1023.5 or unit == "PiB":  # 1023.5 would print as 1024 of this unit
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
