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

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dregtui.inventory.model import Inventory, footprint_columns

if TYPE_CHECKING:
    from dregtui.plan import Plan

UPPER_BOUND_NOTE = (
    "exact when the registry holds no untagged manifests; otherwise an upper bound "
    "(untagged manifests keep their blobs until garbage-collect --delete-untagged)"
)


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
    """Built once per inventory (O(links + blobs)); queries are O(what they touch)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        with inventory._lock:
            self._sizes: dict[str, int] = {}
            self._refs: dict[str, tuple[str, ...]] = {}
            missing = False
            # the footprints as columns: a cache's are never made into a million Footprints,
            # nor looked up by digest (which would take a map of every digest)
            sizes = self._sizes
            for own, own_sizes, counts, blobs, blob_sizes in footprint_columns(
                inventory.footprints
            ):
                at = 0
                for digest, size, n in zip(own, own_sizes, counts, strict=True):
                    end = at + n
                    sizes[digest] = size
                    part = blobs[at:end]
                    for blob, blob_size in zip(part, blob_sizes[at:end], strict=True):
                        sizes.setdefault(blob, blob_size)
                    self._refs[digest] = (digest, *part)
                    at = end
            self.links: dict[str, frozenset[str]] = {}
            for repo, tags in inventory.repositories.items():
                linked = self._closure({info.digest for info in tags.values()})
                self.links[repo] = frozenset(linked)
                missing = missing or any(d not in self._refs for d in linked)
        self.complete = not missing
        # How many (repository, manifest) links reference each blob, and which repositories.
        # Most blobs (configs, manifests) have one link: they are only in ``_once``, and only
        # the others get a count and their repositories (a Counter and a map of every blob
        # took 300 bytes a tag at a million tags).
        self._once: set[str] = set()
        self._count: dict[str, int] = {}  # blobs with two links or more -> how many
        self._repos_of: dict[str, int | set[int]] = {}  # those blobs -> their repositories
        self._repo_ids = {repo: n for n, repo in enumerate(sorted(self.links))}
        once, count, refs = self._once, self._count, self._refs
        for links in self.links.values():
            for digest in links:
                for blob in refs.get(digest, ()):
                    if blob in count:
                        count[blob] += 1
                    elif blob in once:
                        once.discard(blob)
                        count[blob] = 2
                    else:
                        once.add(blob)
        for repo, links in self.links.items():
            rid = self._repo_ids[repo]
            for digest in links:
                for blob in refs.get(digest, ()):
                    if blob not in count:
                        continue
                    seen = self._repos_of.get(blob)
                    if seen is None:
                        self._repos_of[blob] = rid
                    elif isinstance(seen, int):
                        if seen != rid:
                            self._repos_of[blob] = {seen, rid}
                    else:
                        seen.add(rid)

    def _closure(self, digests: set[str]) -> set[str]:
        """Digests plus, for indexes, their children (recursively)."""
        out: set[str] = set()
        todo = list(digests)
        children = self.inventory.children
        while todo:
            digest = todo.pop()
            if digest in out:
                continue
            out.add(digest)
            todo.extend(children.get(digest, ()))
        return out

    def _blobs(self, manifests: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for digest in manifests:
            out.update(self._refs.get(digest, ()))
        return out

    def manifest_size(self, digest: str) -> int | None:
        """An image's (or an index's, children included) bytes, each blob once; None when a
        manifest of it could not be read."""
        closure = self._closure({digest})
        if any(d not in self._refs for d in closure):
            return None
        return self._bytes(self._blobs(closure))

    def blob_size(self, blob: str) -> int:
        return self._sizes.get(blob, 0)

    def _bytes(self, blobs: Iterable[str]) -> int:
        sizes = self._sizes
        return sum(sizes.get(b, 0) for b in blobs)

    # -- usage ------------------------------------------------------------------------------

    def usage(self, repository: str) -> Usage:
        return self._usage(repository, [repository])

    def usage_of_namespace(self, namespace: str) -> Usage:
        """Everything under ``namespace`` (``team/`` or ``team``), counted as one holder:
        ``exclusive`` is what no repository outside the namespace references."""
        prefix = namespace.rstrip("/") + "/"
        return self._usage(prefix, self.members(prefix))

    def members(self, name: str) -> list[str]:
        """The repositories a ``du`` name stands for: those under a namespace (``team/``), or
        the repository itself; empty when the registry has none."""
        if name.endswith("/"):
            return [r for r in self.links if r.startswith(name)]
        return [name] if name in self.links else []

    def combined(self, repositories: Iterable[str], name: str = "") -> Usage:
        """The repositories counted as one holder (a total line: shared blobs once)."""
        return self._usage(name, list(dict.fromkeys(repositories)))

    def _usage(self, name: str, repos: list[str]) -> Usage:
        linked: set[str] = set()
        tags = 0
        for repo in repos:
            linked |= self.links.get(repo, frozenset())
            tags += len(self.inventory.repositories.get(repo, {}))
        blobs = self._blobs(linked)
        ids = {self._repo_ids[r] for r in repos if r in self._repo_ids}
        exclusive = 0
        for blob in blobs:
            holders = self._repos_of.get(blob)
            if holders is None:  # one link: from these repositories, since they reach it
                inside = blob in self._once
            elif isinstance(holders, int):
                inside = holders in ids
            else:
                inside = holders <= ids
            if inside:
                exclusive += self._sizes.get(blob, 0)
        unknown = sum(1 for d in linked if d not in self._refs)
        return Usage(name, tags, len(linked), self._bytes(blobs), exclusive, unknown)

    def usages(self, repositories: Iterable[str] | None = None) -> Iterator[Usage]:
        for repo in sorted(self.links if repositories is None else repositories):
            yield self.usage(repo)

    @property
    def total_bytes(self) -> int:
        return self._bytes(self._once) + self._bytes(self._count)

    # -- deletions --------------------------------------------------------------------------

    def reclaimable_links(self, deleted: Iterable[tuple[str, str]]) -> int:
        """Bytes freed once the (repository, manifest digest) links are gone and the garbage
        collector runs. A deleted index's children stay linked unless they are deleted too."""
        drop: Counter[str] = Counter()
        seen: set[tuple[str, str]] = set()
        for repo, digest in deleted:
            if (repo, digest) in seen or digest not in self.links.get(repo, frozenset()):
                continue
            seen.add((repo, digest))
            drop.update(self._refs.get(digest, ()))
        count = self._count
        return self._bytes(blob for blob, n in drop.items() if count.get(blob, 1) <= n)

    def reclaimable(self, plan: Plan) -> int:
        from dregtui.plan import Action

        return self.reclaimable_links(
            (item.repository, item.digest) for item in plan.items if item.action is Action.DELETE
        )


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
