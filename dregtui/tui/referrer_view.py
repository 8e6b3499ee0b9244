"""The image graph as the TUI shows it: per repository, the referrers of each image (the
digest pane), which images are signed and which tags are plumbing (the tags pane). No
Textual here; one repository's graph is built on first use and kept until its tags change."""

from __future__ import annotations

from dataclasses import dataclass, field

from dregtui.core.inventory import Inventory
from dregtui.core.referrers import Kind, Referrer, ReferrerGraph, build_graph, is_plumbing_tag


@dataclass
class ReferrerView:
    # repository -> (inventory revision, artifacts known, its graph)
    _graphs: dict[str, tuple[tuple[int, int, int], int, ReferrerGraph]] = field(
        default_factory=dict, repr=False
    )

    def graph(self, inventory: Inventory, repository: str) -> ReferrerGraph:
        key = inventory.revision(repository)
        cached = self._graphs.get(repository)
        if cached is not None and cached[0] == key and cached[1] == len(inventory.artifacts):
            return cached[2]
        graph = build_graph(inventory, [repository])
        self._graphs[repository] = (key, len(inventory.artifacts), graph)
        return graph

    def referrers(self, inventory: Inventory, repository: str, digest: str) -> list[Referrer]:
        """Every referrer of ``digest``, recursively (an SBOM's signature too), subjects first."""
        return self.graph(inventory, repository).closure(repository, [digest])

    def signed(self, inventory: Inventory, repository: str, digest: str) -> bool:
        refs = self.graph(inventory, repository).referrers(repository, digest)
        return any(r.kind is Kind.SIGNATURE for r in refs)


def referrer_size(inventory: Inventory, digest: str) -> int | None:
    """A referrer's bytes: its manifest and the blobs it references; None when unread."""
    footprint = inventory.footprints.get(digest)
    if footprint is None:
        return None
    return footprint.size + sum(int(s) for s in footprint.flat[1::2])


def plumbing(tags: list[str]) -> list[str]:
    """The tags that are a registry's bookkeeping for referrers (sha256-<hex>, .sig/.att/.sbom)."""
    return [t for t in tags if is_plumbing_tag(t)]
