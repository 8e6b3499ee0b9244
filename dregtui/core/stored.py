"""What a registry's storage holds, as read by :mod:`dregtui.storage.layout`: plain data, so
the core can reason about untagged manifests and what garbage-collect frees."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class StoredRepository:
    """One repository as its folder holds it."""

    name: str
    revisions: dict[str, float] = field(default_factory=dict)  # digest -> when linked
    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest it points at now
    history: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    # tag -> every digest it pointed at, with when it was pointed there, oldest first
    layers: set[str] = field(default_factory=set)  # blobs linked into the repository

    @property
    def untagged(self) -> dict[str, float]:
        """Revisions no tag points at now: digest -> when linked."""
        tagged = set(self.tags.values())
        return {d: t for d, t in self.revisions.items() if d not in tagged}


@dataclass(slots=True)
class StorageView:
    """Everything read: repositories by name, every blob's size, every manifest's body."""

    description: str
    repositories: dict[str, StoredRepository] = field(default_factory=dict)
    blobs: dict[str, int] = field(default_factory=dict)  # digest -> bytes
    manifests: dict[str, bytes] = field(default_factory=dict)  # digest -> body
    warnings: list[str] = field(default_factory=list)

    @property
    def blob_bytes(self) -> int:
        return sum(self.blobs.values())
